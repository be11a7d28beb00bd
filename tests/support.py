"""Helpers for tests: a GraphQL client over HTTP, and waiting without sleeping."""

from __future__ import annotations

import logging
from typing import Any

import httpx

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

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


class StatementCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends, through its db_client debug log.

    The outbox relay polls in the background; its statements are not the request's.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self._logger = logging.getLogger("tortoise.db_client")
        self._level = self._logger.level

    def emit(self, record: logging.LogRecord) -> None:
        if "outbox_message" not in record.getMessage():
            self.count += 1

    def __enter__(self) -> StatementCounter:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)
