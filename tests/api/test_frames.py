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


async def writing(scope: Scope, receive: Receive, send: Send) -> None:
    """Writes one frame of each size straight to the connection, then reports over ASGI
    what the writer answered before and after the close."""
    await receive()  # websocket.connect
    writer = WRITER.get()
    assert writer is not None
    before = writer.write(text_frame(b"too early"))  # not accepted yet
    await send({"type": "websocket.accept"})
    writer.shed_handshake()  # the connection goes on without the handshake's headers
    written = [writer.write(text_frame(("x" * size).encode())) for size in SIZES]
    await send({"type": "websocket.send", "text": json.dumps(
        {"before_accept": before, "written": written})})
    await receive()  # the client's goodbye
    await send({"type": "websocket.close", "code": 1000})
    scope["after close"] = writer.write(text_frame(b"too late"))


async def test_a_client_reads_the_frames_written_straight_to_its_connection() -> None:
    async with serving(writing) as url, websockets.connect(
            url, compression=None, max_size=None) as ws:
        written = [await ws.recv() for _ in SIZES]
        report = json.loads(await ws.recv())
        await ws.send("bye")
        await ws.wait_closed()
    assert report == {"before_accept": False, "written": [True] * len(SIZES)}
    assert written == ["x" * size for size in SIZES]  # in order, none framed twice


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
