"""Transactions and the few statements written as SQL so their guards are explicit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

__all__ = ["as_datetime", "atomic", "connection", "execute", "fetch", "for_reports",
           "is_postgres"]

atomic = in_transaction
_PLACEHOLDER = re.compile(r"\?")


def connection() -> BaseDBAsyncClient:
    return connections.get("default")


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    return (conn or connection()).capabilities.dialect == "postgres"


def _prepare(conn: BaseDBAsyncClient, sql: str) -> str:
    if not is_postgres(conn):
        return sql
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


async def execute(conn: BaseDBAsyncClient, sql: str, params: Sequence[Any] = ()) -> int:
    """Run a write written with ``?`` placeholders; return the number of rows it changed."""
    count, _ = await conn.execute_query(_prepare(conn, sql), list(params))
    return count


async def fetch(
    conn: BaseDBAsyncClient, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """Run a query (or a write with RETURNING) and return its rows as dicts."""
    return await conn.execute_query_dict(_prepare(conn, sql), list(params))


@asynccontextmanager
async def for_reports() -> AsyncIterator[BaseDBAsyncClient]:
    """A connection for a report's aggregates over many rows.

    On PostgreSQL, a transaction without JIT compilation (compiling these
    queries costs more than it saves) and with room to sort and hash in memory.
    """
    conn = connection()
    if not is_postgres(conn):
        yield conn
        return
    async with atomic() as tx:
        await tx.execute_script("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        yield tx


def as_datetime(value: Any) -> datetime | None:
    """A timestamp read by raw SQL (a datetime on PostgreSQL, ISO text on SQLite), in UTC."""
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
