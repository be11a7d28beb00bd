"""The merchant's stored risk settings, kept in each process across orders
(``domain.settings_cache``): ``riskSettingsUpdate`` drops them everywhere."""

from __future__ import annotations

import json
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import fetch
from domain.settings_cache import SettingsCache


async def _stored(conn: BaseDBAsyncClient) -> Any:
    """The merchant's stored changes (None: none stored)."""
    rows = await fetch(conn, "SELECT config FROM risk_settings WHERE id = 1")
    config: Any = rows[0]["config"] if rows else None
    if isinstance(config, str | bytes):  # SQLite hands JSON back as text
        config = json.loads(config)
    return config


stored_settings_cache: SettingsCache[Any] = SettingsCache(
    "risk_settings_changed", _stored, metric="risk_settings_cache_invalidations")
