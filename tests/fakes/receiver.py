"""A partner's webhook receiver: records what arrives, answers what it is told to."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.servers import LocalServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[int] = []  # statuses to answer with, in order; then 200
        self.failures_per_delivery = 0  # or: fail each delivery this many times first
        self._seen: dict[str, int] = {}
        self._arrived = asyncio.Condition()
        self._server = LocalServer(Starlette(routes=[
            Route("/hook", self.hook, methods=["POST"])]))
        self.url = f"{self._server.url}/hook"

    async def hook(self, request: Request) -> Response:
        status = self.answers.pop(0) if self.answers else 200
        delivery = request.headers.get("x-oms-delivery-id", "")
        self._seen[delivery] = self._seen.get(delivery, 0) + 1
        if self._seen[delivery] <= self.failures_per_delivery:
            status = 500
        async with self._arrived:
            self.received.append(Received(dict(request.headers), await request.body()))
            self._arrived.notify_all()
        return Response(status_code=status)

    async def wait_for(self, count: int, seconds: float = 15) -> list[Received]:
        """Wait until ``count`` requests arrived (no sleeping: woken by each arrival)."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.received) >= count),
                                   seconds)
        return self.received[:count]

    async def wait_for_attempts(self, delivery: str, count: int, seconds: float = 15) -> None:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(
                lambda: self._seen.get(delivery, 0) >= count), seconds)

    async def __aenter__(self) -> Receiver:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._server.stop()
