"""Transactions and the few statements written as SQL so their guards are explicit."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

__all__ = [
    "LOCK_KEYS",
    "KeyLocks",
    "Linked",
    "Writes",
    "advisory_key",
    "as_datetime",
    "atomic",
    "connection",
    "execute",
    "fetch",
    "for_reports",
    "insert_batches",
    "insert_family",
    "insert_many",
    "insert_rows",
    "insert_sql",
    "is_postgres",
]

atomic = in_transaction
_PLACEHOLDER = re.compile(r"\?")


def connection() -> BaseDBAsyncClient:
    return connections.get("default")


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    return (conn or connection()).capabilities.dialect == "postgres"


def _prepare(conn: BaseDBAsyncClient, sql: str) -> str:
    if not is_postgres(conn):
        return sql
    counter = itertools.count(1)
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def advisory_key(name: str) -> int:
    """A name's key for PostgreSQL's advisory locks: the first 8 bytes of its SHA-256, as a
    signed bigint."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


LOCK_KEYS = ("SELECT count(pg_advisory_xact_lock(k)) AS locked FROM "
             "(SELECT k FROM (SELECT unnest(CAST(? AS bigint[])) AS k) AS u ORDER BY k) AS ks")


@dataclass(frozen=True)
class KeyLocks:
    """Advisory transaction locks (PostgreSQL) that a statement writing a row takes before
    it writes (``cte``), so that nothing waits a round trip for them and they are taken
    before that row's lock. In sorted order, as every taker takes them (``LOCK_KEYS``),
    held to the end of the transaction."""

    keys: Sequence[int]

    def cte(self) -> tuple[str, list[Any]]:
        """``WITH l AS (...)``, taking the locks: one row; the write selects from it."""
        return f"WITH l AS ({LOCK_KEYS}) ", [list(self.keys)]


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


@dataclass(frozen=True)
class Linked:
    """Rows whose foreign key ``field`` names one of the parents written beside them, by the
    parent's value of the key ``insert_family`` is given (``keys``, one per row)."""

    rows: Sequence[Any]
    field: str
    keys: Sequence[Any]


def insert_sql(conn: BaseDBAsyncClient, instances: Sequence[Any], *,
               linked: tuple[str, str] | None = None,
               select_from: tuple[str, str, str] | None = None,
               source: str | None = None) -> tuple[str, list[Any]]:
    """One multi-row INSERT of model instances (defaults and auto timestamps applied).

    With ``linked`` (a field and an SQL expression with one ``?``), that field's value is
    the expression, given the instance's value of the field as its parameter. With
    ``select_from`` (a field, an SQL expression without parameters and a FROM clause), one
    instance is inserted by ``INSERT ... SELECT``, that field's value the expression: no row
    when the FROM clause has none. With ``source`` (a FROM clause without parameters), one
    instance is inserted by ``INSERT ... SELECT`` from it.
    """
    meta = type(instances[0])._meta
    fields = [name for name in meta.fields_db_projection
              if not meta.fields_map[name].generated]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in fields)
    selected = select_from[0] if select_from else None
    items = [linked[1] if linked and name == linked[0]
             else select_from[1] if select_from and name == selected else "?"
             for name in fields]
    params: list[Any] = []
    for instance in instances:
        params.extend(getattr(instance, name) if linked and name == linked[0]
                      else meta.fields_map[name].to_db_value(getattr(instance, name), instance)
                      for name in fields if name != selected)
    if select_from is not None or source is not None:
        assert len(instances) == 1, "INSERT ... SELECT writes one instance"
        return (f'INSERT INTO "{meta.db_table}" ({columns}) SELECT {", ".join(items)} '
                f"FROM {select_from[2] if select_from else source}", params)
    values = ", ".join(["(" + ", ".join(items) + ")"] * len(instances))
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


# Rows per statement of ``insert_many``: well under both databases' limits on parameters
# (32,766 on SQLite, 32,767 on PostgreSQL) for a table of up to 60 columns.
ROWS_PER_STATEMENT = 500


async def insert_many(conn: BaseDBAsyncClient, instances: Sequence[Any], *,
                      skip_existing: bool = False) -> None:
    """Insert rows of one model whose ids nobody needs back, in multi-row statements of at
    most ``ROWS_PER_STATEMENT`` rows (the ORM's bulk insert sends one per row); with
    ``skip_existing``, rows a unique key already holds are left out (``ON CONFLICT DO
    NOTHING``)."""
    for sql, params in _inserts(conn, instances, skip_existing=skip_existing):
        await execute(conn, sql, params)


def _inserts(conn: BaseDBAsyncClient, instances: Sequence[Any], *,
             skip_existing: bool) -> Iterator[tuple[str, list[Any]]]:
    for start in range(0, len(instances), ROWS_PER_STATEMENT):
        sql, params = insert_sql(conn, instances[start:start + ROWS_PER_STATEMENT])
        yield (f"{sql} ON CONFLICT DO NOTHING" if skip_existing else sql), params


# Parameters per statement of ``Writes``: under PostgreSQL's limit (32,767) and SQLite's.
MAX_PARAMETERS = 32_000


class Writes:
    """Writes whose results nobody reads, owed by a transaction and sent together: on
    PostgreSQL as few statements as the parameters allow (each write but the last a
    data-modifying CTE, which all see the transaction as it was before the statement);
    SQLite has no data-modifying CTEs, so there each write is a statement of its own."""

    def __init__(self) -> None:
        self._owed: list[tuple[str, list[Any]]] = []

    def add(self, sql: str, params: Sequence[Any]) -> None:
        """A write with ``?`` placeholders (without WITH or RETURNING)."""
        self._owed.append((sql, list(params)))

    def insert(self, conn: BaseDBAsyncClient, instances: Sequence[Any], *,
               skip_existing: bool = False) -> None:
        """Rows of one model, at most ``ROWS_PER_STATEMENT`` to a write; with
        ``skip_existing``, rows a unique key already holds are left out."""
        self._owed += _inserts(conn, instances, skip_existing=skip_existing)

    async def send(self, conn: BaseDBAsyncClient) -> None:
        owed, self._owed = self._owed, []
        if not is_postgres(conn):
            for sql, params in owed:
                await execute(conn, sql, params)
            return
        statement: list[tuple[str, list[Any]]] = []
        parameters = 0
        for write in owed:
            if statement and parameters + len(write[1]) > MAX_PARAMETERS:
                await self._send_one(conn, statement)
                statement, parameters = [], 0
            statement.append(write)
            parameters += len(write[1])
        if statement:
            await self._send_one(conn, statement)

    @staticmethod
    async def _send_one(conn: BaseDBAsyncClient, writes: list[tuple[str, list[Any]]]) -> None:
        *head, (last_sql, last_params) = writes
        ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(head))
        params = [p for _, ps in head for p in ps] + last_params
        await execute(conn, (f"WITH {ctes} " if head else "") + last_sql, params)


async def insert_batches(conn: BaseDBAsyncClient, *batches: Sequence[Any]) -> None:
    """Insert several models' rows whose ids nobody needs back (``Writes``: one statement
    on PostgreSQL)."""
    writes = Writes()
    for batch in batches:
        writes.insert(conn, batch)
    await writes.send(conn)


async def insert_family(conn: BaseDBAsyncClient, parents: Sequence[Any], key: str,
                        linked: Linked, *batches: Sequence[Any]) -> None:
    """Insert parents (each given its id), rows linked to them, and other models' rows.

    ``key`` is a field whose value tells the parents apart (an order line's position);
    each linked row names its parent by that value. On PostgreSQL all of it is one
    statement: the parents' insert a data-modifying CTE returning their ids, each linked
    row's foreign key a subquery of it. On SQLite the parents go first, then the rest.
    """
    if not parents:
        await insert_batches(conn, *batches)
        return
    meta = type(parents[0])._meta
    pk, column = meta.db_pk_column, meta.fields_db_projection[key]
    if not is_postgres(conn):
        await insert_rows(conn, parents)
        ids = {getattr(parent, key): parent.pk for parent in parents}
        for row, parent_key in zip(linked.rows, linked.keys, strict=True):
            setattr(row, linked.field, ids[parent_key])
        await insert_batches(conn, linked.rows, *batches)
        return
    for row, parent_key in zip(linked.rows, linked.keys, strict=True):
        setattr(row, linked.field, parent_key)
    head_sql, params = insert_sql(conn, parents)
    ctes = [f'p AS ({head_sql} RETURNING "{pk}", "{column}")']
    link = (linked.field, f'(SELECT "{pk}" FROM p WHERE "{column}" = ?)')
    for i, batch in enumerate(b for b in (linked.rows, *batches) if b):
        sql, batch_params = insert_sql(conn, batch, linked=link if batch is linked.rows else None)
        ctes.append(f"w{i} AS ({sql})")
        params += batch_params
    rows = await fetch(conn, f'WITH {", ".join(ctes)} SELECT "{pk}", "{column}" FROM p', params)
    ids = {row[column]: row[pk] for row in rows}
    for parent in parents:
        parent.pk = ids[getattr(parent, key)]
        parent._saved_in_db = True
    for row, parent_key in zip(linked.rows, linked.keys, strict=True):
        setattr(row, linked.field, ids[parent_key])
