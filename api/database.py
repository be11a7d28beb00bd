"""Connecting Tortoise to the configured database and applying migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

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


async def migrate(settings: Settings) -> None:
    """Apply pending migrations (Tortoise's built-in migration tool)."""
    await connect(settings)  # a clear error when the database is unreachable
    try:
        await tortoise_migrate(config=tortoise_config(settings))
    finally:
        await Tortoise.close_connections()


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
