"""Frames written straight to a websocket under uvicorn: what a client reads, and when the
writer declines (compression, a closed connection, another server)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets
from starlette.types import Receive, Scope, Send
from websockets.http11 import Request

from api.graphql.frames import WRITER, FrameWriter, FrameWriters, text_frame

SIZES = (0, 5, 125, 126, 200, 65535, 65536, 70000)  # each length encoding, on both sides


@asynccontextmanager
async def serving(app: Callable[[Scope, Receive, Send], Any], *,
                  deflate: bool = False) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # clients connecting meanwhile wait for the server to start
    server = uvicorn.Server(uvicorn.Config(
        FrameWriters(app), lifespan="off", log_config=None, ws_per_message_deflate=deflate))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        await task


def _kept_by_parser(writer: FrameWriter) -> list[str]:
    """What the connection's parser keeps of the handshake: its frames' locals that hold
    the request, or the uvicorn protocol's own hold on it."""
    protocol = writer._protocol
    kept = [name for name in ("request", "response") if getattr(protocol, name) is not None]
    generator = protocol.conn.parser
    while generator is not None:
        kept += [name for name, value in generator.gi_frame.f_locals.items()
                 if isinstance(value, Request)]
        generator = generator.gi_yieldfrom
    return kept


async def writing(scope: Scope, receive: Receive, send: Send) -> None:
    """Writes one frame of each size straight to the connection, then reports over ASGI
    what the writer answered before and after the close."""
    await receive()  # websocket.connect
    writer = WRITER.get()
    assert writer is not None
    before = writer.write(text_frame(b"too early"))  # not accepted yet
    await send({"type": "websocket.accept"})
    writer.shed_handshake()  # the connection goes on without the handshake's headers
    scope["handshake kept"] = _kept_by_parser(writer)
    written = [writer.write(text_frame(("x" * size).encode())) for size in SIZES]
    await send({"type": "websocket.send", "text": json.dumps(
        {"before_accept": before, "written": written})})
    await receive()  # the client's goodbye
    await send({"type": "websocket.close", "code": 1000})
    scope["after close"] = writer.write(text_frame(b"too late"))


async def test_a_client_reads_the_frames_written_straight_to_its_connection() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await writing(scope, receive, send)

    async with serving(app) as url, websockets.connect(
            url, compression=None, max_size=None) as ws:
        written = [await ws.recv() for _ in SIZES]
        report = json.loads(await ws.recv())
        await ws.send("bye")
        await ws.wait_closed()
    assert report == {"before_accept": False, "written": [True] * len(SIZES)}
    assert written == ["x" * size for size in SIZES]  # in order, none framed twice
    assert seen[0]["handshake kept"] == []  # and the client's "bye" was still read


async def test_the_handshake_is_forgotten_only_between_frames() -> None:
    """A frame half received when the handshake would be dropped keeps it, and the frame
    arrives whole; the next frame written drops it."""
    seen: list[Scope] = []
    checked = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()  # websocket.connect
        writer = WRITER.get()
        assert writer is not None
        await send({"type": "websocket.accept"})
        first = await receive()  # parsed with the first half of the next frame
        writer.shed_handshake()
        scope["kept mid-frame"] = _kept_by_parser(writer)
        checked.set()
        second = await receive()
        scope["received"] = [first["text"], second["text"]]
        writer.write(text_frame(b"after"))
        scope["kept after"] = _kept_by_parser(writer)
        await receive()
        await send({"type": "websocket.close", "code": 1000})

    async with serving(app) as url:
        host, port = url.removeprefix("ws://").rstrip("/").split(":")
        reader, client = await asyncio.open_connection(host, int(port))
        client.write(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        second = _masked(b"two")
        client.write(_masked(b"one") + second[:4])  # one write: the header and half the mask
        await checked.wait()
        client.write(second[4:])
        assert await reader.readexactly(7) == text_frame(b"after")
        client.write(_masked(b"bye"))
        assert await reader.readexactly(4) == b"\x88\x02\x03\xe8"  # the server's close, 1000
        client.write(_masked(b"\x03\xe8", opcode=0x88))  # answered
        assert await reader.read() == b""  # and the server ends the connection
        client.close()
    assert seen[0]["received"] == ["one", "two"]
    assert seen[0]["kept mid-frame"] == ["request"]
    assert seen[0]["kept after"] == []


def _masked(payload: bytes, mask: bytes = b"\x01\x02\x03\x04", opcode: int = 0x81) -> bytes:
    """A client's frame, text unless said (RFC 6455 5.3: masked)."""
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((opcode, 0x80 | len(payload))) + mask + body


async def test_a_compressed_connection_is_written_through_asgi() -> None:
    async with serving(writing, deflate=True) as url, websockets.connect(
            url, compression="deflate", max_size=None) as ws:
        report = json.loads(await ws.recv())  # the frames were declined: nothing before it
        await ws.send("bye")
    assert report == {"before_accept": False, "written": [False] * len(SIZES)}


async def test_nothing_is_written_after_the_close() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await writing(scope, receive, send)

    async with serving(app) as url, websockets.connect(url, compression=None,
                                                       max_size=None) as ws:
        for _ in range(len(SIZES) + 1):
            await ws.recv()
        await ws.send("bye")
        await ws.wait_closed()
    assert seen[0]["after close"] is False


def test_another_servers_send_gets_no_writer() -> None:
    async def send(message: Any) -> None:
        pass

    assert FrameWriter.of(send) is None
