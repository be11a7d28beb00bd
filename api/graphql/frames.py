"""Websocket text frames written straight to the connection's transport.

A live event goes to thousands of subscribers, executed and encoded once for them all.
Through ASGI each copy then passes five wrappers (Starlette's websocket, the router's and
our middleware's senders, uvicorn's protocol, its framing); written here, it is one
header put before the text and one write to the socket. Only uvicorn's sans-I/O
websocket protocol is written to, and only while its connection is open, uncompressed and
taking data: anything else (another server, permessage-deflate, a client not reading)
goes through ASGI ``send``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - another server: ASGI send only
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

# The connection's writer, for the tasks of its websocket (a context variable: the scope
# dict would grow by a key for every connection)
WRITER: ContextVar[FrameWriter | None] = ContextVar("frame_writer", default=None)


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 5.2), as a server sends it."""
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 65536:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


class FrameWriter:
    """Writes whole frames to one connection while that is safe, else declines."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    @classmethod
    def of(cls, send: Send) -> FrameWriter | None:
        protocol = getattr(send, "__self__", None)
        if WebSocketsSansIOProtocol is None or not isinstance(protocol,
                                                              WebSocketsSansIOProtocol):
            return None
        return cls(protocol)

    def shed_handshake(self) -> None:
        """Drop uvicorn's hold on the handshake's request and response (their headers),
        which it keeps for as long as the connection lasts and reads only until it has
        accepted: a connection the app has accepted works on without them."""
        protocol = self._protocol
        if protocol.handshake_complete and protocol.initial_response is None:
            protocol.request = protocol.response = None

    def write(self, frame: bytes) -> bool:
        """Write the frame now, or return False: it must go through ASGI send instead."""
        protocol = self._protocol
        transport = protocol.transport
        if (not protocol.handshake_complete or protocol.close_sent or protocol.disconnected
                or protocol.initial_response is not None or protocol.conn.extensions
                or protocol.conn.state is not State.OPEN or not protocol.writable.is_set()
                or transport is None or transport.is_closing()):
            return False
        transport.write(frame)
        return True


class FrameWriters:
    """ASGI middleware, outermost: a websocket's tasks know the writer of its connection
    (``WRITER``), made from the server's own ``send``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        token = WRITER.set(FrameWriter.of(send))
        try:
            await self.app(scope, receive, send)
        finally:
            WRITER.reset(token)
