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
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import ConfigurationError as TortoiseConfigurationError
from tortoise.migrations.api import migrate as tortoise_migrate

from api.files import private_dir, private_file
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


class PooledConnection(asyncpg.Connection):
    """A pooled connection that goes back to the pool without a reset round trip.

    asyncpg resets a released connection with ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL``
    and ``pg_advisory_unlock_all()``: four statements after every request. Nothing here
    leaves session state on a pooled connection: settings are only ever ``SET LOCAL``
    (gone at the transaction's end), advisory locks only ``pg_advisory_xact_lock``
    (released at its end), cursors live inside transactions, and LISTEN and the migration
    lock use connections of their own. asyncpg still rolls back an open transaction on
    release; with nothing else to undo, the reset query is empty.
    """

    def get_reset_query(self) -> str:
        return ""


def _connection(settings: Settings) -> str | dict[str, Any]:
    url = db_url(settings)
    if settings.is_sqlite:
        return url
    config = expand_db_url(url)
    config["credentials"]["connection_class"] = PooledConnection
    return config


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(settings)},
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


def _sqlite_file(settings: Settings) -> Path | None:
    path = settings.database_url.removeprefix("sqlite://").partition("?")[0]
    return Path(path) if settings.is_sqlite and path and path != ":memory:" else None


def _ensure_sqlite_file(settings: Settings) -> None:
    """The SQLite file exists with mode 0600 before SQLite opens it (its -wal and -shm
    files take the database file's mode); a folder that cannot be made is one line."""
    path = _sqlite_file(settings)
    if path is None:
        return
    try:
        private_dir(path.parent)
    except OSError as error:
        default = settings.database_url == f"sqlite://{settings.var_dir / 'oms.sqlite3'}"
        setting = "OMS_VAR_DIR" if default else "OMS_DATABASE_URL"
        raise ConfigurationError(f"{setting}: cannot create the folder {path.parent} "
                                 f"({error.strerror or error})") from None
    private_file(path)


MIGRATION_LOCK = 0x6F6D735F6D6967  # "oms_mig": one migrating process at a time


async def migrate(settings: Settings) -> None:
    """Apply pending migrations (Tortoise's built-in migration tool), one process at a time:
    replicas that start together each run this, and each migration is applied once (the
    others wait for the lock, then find nothing pending)."""
    await connect(settings)  # a clear error when the database is unreachable
    try:
        # beside the SQLite file (var/ by default): every process on that file finds it
        async with exclusive(settings, MIGRATION_LOCK,
                             lock_file_beside_database(settings, "migrate.lock")):
            await tortoise_migrate(config=tortoise_config(settings))
    finally:
        await Tortoise.close_connections()


def lock_file_beside_database(settings: Settings, name: str) -> Path:
    """A lock file next to the SQLite file, so every process using that file finds it."""
    path = _sqlite_file(settings)
    return (path.parent if path is not None else Path(settings.var_dir)) / name


@asynccontextmanager
async def exclusive(settings: Settings, key: int, lock_file: Path, *,
                    setting: str = "OMS_DATABASE_URL") -> AsyncIterator[None]:
    """One process at a time: a PostgreSQL advisory lock held on a connection of its own, or
    a file lock on SQLite (``setting`` names what decided where the lock file lives)."""
    if settings.is_sqlite:
        path = lock_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(f"{setting}: cannot create the folder {path.parent} "
                                     f"({error.strerror or error})") from None
        with path.open("a") as handle:
            await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", key)
        yield
    finally:
        await conn.close()  # closing the session releases the lock


async def connect(settings: Settings) -> None:
    """Open the connection (pool) and check the database answers."""
    _ensure_sqlite_file(settings)
    try:
        await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    except (TortoiseConfigurationError, ValueError) as error:
        raise ConfigurationError(f"OMS_DATABASE_URL is not usable: {error}") from None
    try:
        await ping()
    except Exception as error:
        await Tortoise.close_connections()
        raise ConfigurationError(f"Cannot reach the database: {error}") from None


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def close() -> None:
    await Tortoise.close_connections()
