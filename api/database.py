"""Connecting Tortoise to the configured database and applying migrations."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate

from api.files import private_file
from api.settings import ConfigurationError, Settings
from domain import MODEL_MODULES


def db_url(settings: Settings) -> str:
    """The Tortoise URL: postgres URLs gain the pool sizes, SQLite paths their folder."""
    url = settings.database_url
    if settings.is_sqlite:
        return url
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    query.setdefault("minsize", str(settings.db_pool_min))
    query.setdefault("maxsize", str(settings.db_pool_max))
    return urlunsplit(("postgres", parts.netloc, parts.path, urlencode(query), ""))


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": db_url(settings)},
        "apps": {
            "oms": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "domain.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_file(settings: Settings) -> None:
    """The SQLite file exists with mode 0600 before SQLite opens it (its -wal and -shm
    files take the database file's mode)."""
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite://").partition("?")[0]
        if path and path != ":memory:":
            private_file(Path(path))


MIGRATION_LOCK = 0x6F6D735F6D6967  # "oms_mig": one migrating process at a time


async def migrate(settings: Settings) -> None:
    """Apply pending migrations (Tortoise's built-in migration tool), one process at a time:
    replicas that start together each run this, and each migration is applied once (the
    others wait for the lock, then find nothing pending)."""
    await connect(settings)  # a clear error when the database is unreachable
    try:
        async with _migration_lock(settings):
            await tortoise_migrate(config=tortoise_config(settings))
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def _migration_lock(settings: Settings) -> AsyncIterator[None]:
    """A PostgreSQL advisory lock held on a connection of its own, or a file lock beside the
    SQLite file."""
    if settings.is_sqlite:
        path = Path(settings.var_dir) / "migrate.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        yield
    finally:
        await conn.close()  # closing the session releases the lock


async def connect(settings: Settings) -> None:
    """Open the connection (pool) and check the database answers."""
    _ensure_sqlite_file(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    try:
        await ping()
    except Exception as error:
        await Tortoise.close_connections()
        raise ConfigurationError(f"Cannot reach the database: {error}") from None


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def close() -> None:
    await Tortoise.close_connections()
