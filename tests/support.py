"""Helpers for tests: a GraphQL client over HTTP, and waiting without sleeping."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

import httpx

from domain.messaging.ports import EmailMessage

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ALLOWED_ORIGIN = "https://shop.example"  # the one origin the test app lets pages call from


class Inbox:
    """Where the app's email goes in tests: every message, in order, by recipient."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.messages.append(message)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m.to == address]

    def code(self, address: str) -> str:
        """The one-time code in the last message to ``address``."""
        found = re.search(r"\bev_[\w-]+", self.to(address)[-1].text)
        assert found, self.to(address)
        return found.group(0)


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, inbox: Inbox | None = None) -> None:
        self.http = http
        self.inbox = inbox or Inbox()

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *,
        headers: dict[str, str] | None = None, admin: bool = True,
    ) -> httpx.Response:
        all_headers = {**(ADMIN if admin else {}), **(headers or {})}
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                    headers=all_headers)

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Run a document that must succeed without GraphQL errors; return its data."""
        response = await self.raw(query, variables, **kwargs)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    async def errors(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Run a document expected to fail; return its GraphQL errors."""
        body = (await self.raw(query, variables, **kwargs)).json()
        assert body.get("errors"), body
        return body["errors"]


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


_counted: ContextVar[bool] = ContextVar("counted", default=False)


class StatementCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends, through its db_client debug log.

    The background loops (outbox relay, webhook worker, marketplace sync, payment
    sweep) poll their own tables; their statements are not the request's. Only what runs
    in the context the counter was entered in is counted (a context variable the request's
    task inherits and the loops, started before, do not), so a loop that happens to poll
    during the measured request is never counted.
    """

    BACKGROUND = ("outbox_message", "webhook_", "marketplace_", "payment_operation",
                  "notification")
    # Background loops that read the shop's tables (notifications render from orders): their
    # statements are told apart by the task that sends them.
    LOOPS = frozenset({"notifications", "late-shipments"})

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self._logger = logging.getLogger("tortoise.db_client")
        self._level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        import asyncio

        try:
            task = asyncio.current_task()
        except RuntimeError:
            task = None
        if (task is not None and task.get_name() in self.LOOPS) or not _counted.get():
            return
        message = record.getMessage()
        if not any(table in message for table in self.BACKGROUND):
            self.count += 1

    def __enter__(self) -> StatementCounter:
        self._token = _counted.set(True)
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        _counted.reset(self._token)
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


class Subscriber:
    """A graphql-transport-ws client over any websocket session with send/receive_json."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._ids = 0

    async def init(self, token: str | None = ADMIN_TOKEN) -> dict[str, Any]:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.ws.send_json({"type": "connection_init", "payload": payload})
        return await self.ws.receive_json(timeout=10)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        op = str(self._ids)
        await self.ws.send_json({"id": op, "type": "subscribe",
                                 "payload": {"query": query, "variables": variables or {}}})
        return op

    async def next(self, seconds: float = 10) -> dict[str, Any]:
        """The next message for any operation (pings are answered and skipped)."""
        while True:
            message = await self.ws.receive_json(timeout=seconds)
            if message["type"] == "ping":
                await self.ws.send_json({"type": "pong"})
                continue
            return message

    async def data(self, n: int, seconds: float = 10) -> list[dict[str, Any]]:
        """The payload data of the next n 'next' messages; fails on anything else."""
        out = []
        while len(out) < n:
            message = await self.next(seconds)
            assert message["type"] == "next", message
            assert not message["payload"].get("errors"), message
            out.append(message["payload"]["data"])
        return out


async def eventually(check: Any, seconds: float = 10.0, every: float = 0.05) -> Any:
    """Wait, with a timeout, until ``check()`` (async) returns something truthy; return it.

    For outcomes another task records just after the event a test can see (a webhook
    worker noting the receiver's answer): there is no event to wait on but the row.
    """
    import asyncio

    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not true within {seconds}s: {check}")
        await asyncio.sleep(every)
