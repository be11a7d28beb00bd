"""The unit of work: one transaction per service call, and the after-commit signal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import atomic
from domain.events.service import committed, tracking_touched_skus


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[BaseDBAsyncClient]:
    """Open the transaction; after it commits, wake the relays and refresh caches."""
    with tracking_touched_skus() as touched:
        async with atomic() as conn:
            yield conn
        await committed(frozenset(touched))
