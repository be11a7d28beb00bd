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
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

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


def _forget_handshake(conn: Any) -> bool:
    """Let websockets' parser of an open server connection go on without the handshake's
    request (its headers), which its frame keeps for as long as the connection lasts:
    between frames (waiting for data, none buffered), the server's parser is swapped for
    the frame parser alone, waiting at that same point. False when not between frames."""
    parser = conn.parser
    inner = getattr(parser, "gi_yieldfrom", None)
    waiting = getattr(inner, "gi_yieldfrom", None)
    if conn.state is not State.OPEN or conn.reader.buffer \
            or getattr(parser, "gi_code", None) is not ServerProtocol.parse.__code__ \
            or getattr(inner, "gi_code", None) is not Protocol.parse.__code__ \
            or getattr(waiting, "gi_code", None) is not StreamReader.at_eof.__code__:
        return parser.gi_code is Protocol.parse.__code__  # (already swapped)
    frames = Protocol.parse(conn)
    next(frames)  # waits for data, as the one it replaces did
    conn.parser = frames
    parser.close()
    return True


class FrameWriter:
    """Writes whole frames to one connection while that is safe, else declines."""

    __slots__ = ("_protocol", "_shed")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._shed = False  # the handshake forgotten

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
        accepted, and websockets' (``_forget_handshake``): a connection the app has
        accepted works on without them. Between frames only; until then every frame
        written tries again."""
        protocol = self._protocol
        if protocol.handshake_complete and protocol.initial_response is None:
            protocol.request = protocol.response = None
            self._shed = _forget_handshake(protocol.conn)

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
        if not self._shed:
            self.shed_handshake()
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
