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
           "insert_batches", "insert_rows", "insert_sql", "is_postgres"]

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


def insert_sql(conn: BaseDBAsyncClient, instances: Sequence[Any]) -> tuple[str, list[Any]]:
    """One multi-row INSERT of model instances (defaults and auto timestamps applied)."""
    meta = type(instances[0])._meta
    fields = [name for name in meta.fields_db_projection
              if not meta.fields_map[name].generated]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in fields)
    row = "(" + ", ".join("?" * len(fields)) + ")"
    params: list[Any] = []
    for instance in instances:
        params.extend(meta.fields_map[name].to_db_value(getattr(instance, name), instance)
                      for name in fields)
    values = ", ".join([row] * len(instances))
    return f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {values}', params


async def insert_rows(conn: BaseDBAsyncClient, instances: Sequence[Any]) -> None:
    """Insert model instances of one model in one statement and give each its id.

    Ids come back sorted: one statement draws them in row order on both databases, so
    the n-th smallest id is the n-th row's (RETURNING's own order is not promised).
    """
    if not instances:
        return
    meta = type(instances[0])._meta
    sql, params = insert_sql(conn, instances)
    rows = await fetch(conn, f'{sql} RETURNING "{meta.db_pk_column}"', params)
    for instance, pk in zip(instances, sorted(r[meta.db_pk_column] for r in rows), strict=True):
        instance.pk = pk
        instance._saved_in_db = True


async def insert_batches(conn: BaseDBAsyncClient, *batches: Sequence[Any]) -> None:
    """Insert several models' rows whose ids nobody needs back.

    On PostgreSQL, one statement: each batch but the last a data-modifying CTE. SQLite
    has no data-modifying CTEs, so there each batch is a statement of its own.
    """
    statements = [insert_sql(conn, batch) for batch in batches if batch]
    if not statements:
        return
    if not is_postgres(conn):
        for sql, params in statements:
            await execute(conn, sql, params)
        return
    *head, (last_sql, last_params) = statements
    ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(head))
    params = [p for _, ps in head for p in ps] + last_params
    await execute(conn, (f"WITH {ctes} " if head else "") + last_sql, params)
