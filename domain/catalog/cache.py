"""What the order path reads of the catalogue, kept in each process across requests.

An order needs its channel, the active locations serving it (in the channel's order), the
channel's price lists, and its variants (price, name, currency, inventory rules, archived
or not, their price list entries). These change
rarely and are read by every order, so each process keeps them in memory:

- a change drops them in the committing process right after its commit (``forget``),
  before the caller hears back, so the next order there sees it;
- the change's outbox row (``CatalogChangedPayload``, on ``catalog_topic()``) reaches every
  other process through the event bus, where ``follow`` drops the same entries;
- a bus that may have lost messages (``RESYNC``, a Redis reconnect) empties the cache, and
  a TTL bounds whatever else could go wrong.

An entry is stored only if no change was heard of while it was being read (a generation
counter), so a read racing a change never keeps the old values. A miss reads the
database in the caller's transaction. Unknown SKUs and channels are never cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import metrics
from domain.catalog.models import (
    Channel,
    ChannelLocation,
    Location,
    PriceList,
    PriceListEntry,
    Variant,
)
from domain.events.ports import RESYNC, EventBus, catalog_topic
from domain.events.stream import follow as follow_topic

MAX_VARIANTS = 50_000  # beyond this many cached SKUs the oldest half is dropped


@dataclass(frozen=True)
class ChannelRoute:
    """A channel, the active locations that serve it (in the channel's order) and its price
    lists (every one: whether one applies at a moment is decided when pricing)."""

    channel: Channel
    locations: tuple[Location, ...]
    price_lists: tuple[PriceList, ...] = ()

    def rank(self, location_id: int) -> int:
        return next((i for i, loc in enumerate(self.locations) if loc.id == location_id),
                    len(self.locations))


@dataclass(frozen=True)
class OrderableVariant:
    variant: Variant
    archived: bool
    # Its entries in every price list (of any channel), by list; pricing picks among them.
    entries: tuple[PriceListEntry, ...] = ()


class CatalogueCache:
    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._generation = 0
        self._channels: dict[str, tuple[float, ChannelRoute]] = {}
        self._variants: dict[str, tuple[float, OrderableVariant]] = {}

    @property
    def generation(self) -> int:
        """Counts every change heard of: what was worked out from the catalogue at one
        generation is stale at the next."""
        return self._generation

    def configure(self, *, ttl: float) -> None:
        """``ttl`` seconds an entry lives at most; 0 turns the cache off."""
        self.ttl = ttl
        self.clear()

    def clear(self) -> None:
        self._generation += 1
        self._channels.clear()
        self._variants.clear()

    def forget(self, *, skus: Iterable[str] | None = (), routing: bool = False) -> None:
        """Drop these SKUs (``None``: every SKU) and, with ``routing``, every channel."""
        self._generation += 1
        if skus is None:
            self._variants.clear()
        else:
            for sku in skus:
                self._variants.pop(sku, None)
        if routing:
            self._channels.clear()

    def apply(self, message: Mapping[str, Any]) -> None:
        """A message from the catalogue's bus topic."""
        if message.get("kind") == RESYNC["kind"]:
            self.clear()
        elif message.get("kind") == "catalog_changed":
            skus = message.get("skus")
            self.forget(skus=None if skus is None else [str(s) for s in skus],
                        routing=bool(message.get("routing")))
            metrics.count("catalog_cache_invalidations")

    def _fresh(self, stored_at: float) -> bool:
        return time.monotonic() - stored_at < self.ttl

    async def channel(self, conn: BaseDBAsyncClient, code: str) -> ChannelRoute | None:
        hit = self._channels.get(code)
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        generation = self._generation
        channel = await Channel.get_or_none(code=code, using_db=conn)
        if channel is None:
            return None
        links = await (ChannelLocation.filter(channel_id=channel.id, location__active=True)
                       .order_by("position", "location_id").prefetch_related("location")
                       .using_db(conn))
        lists = await PriceList.filter(channel_id=channel.id).order_by("id").using_db(conn)
        route = ChannelRoute(channel, tuple(link.location for link in links), tuple(lists))
        if self.ttl > 0 and generation == self._generation:
            self._channels[code] = (time.monotonic(), route)
        return route

    async def variants(self, conn: BaseDBAsyncClient,
                       skus: Sequence[str]) -> dict[str, OrderableVariant]:
        found: dict[str, OrderableVariant] = {}
        missing: list[str] = []
        for sku in skus:
            hit = self._variants.get(sku)
            if hit is not None and self._fresh(hit[0]):
                found[sku] = hit[1]
            else:
                missing.append(sku)
        if not missing:
            return found
        generation = self._generation
        rows = await (Variant.filter(sku__in=missing).select_related("product").using_db(conn))
        entries: dict[int, list[PriceListEntry]] = {row.id: [] for row in rows}
        if rows:
            for price in await PriceListEntry.filter(variant_id__in=list(entries)).order_by(
                    "price_list_id", "min_quantity").using_db(conn):
                entries[price.variant_id].append(price)
        now = time.monotonic()
        keep = self.ttl > 0 and generation == self._generation
        if keep and len(self._variants) + len(rows) > MAX_VARIANTS:
            for sku in list(self._variants)[: len(self._variants) // 2]:
                del self._variants[sku]
        for row in rows:
            entry = OrderableVariant(row, row.product.archived_at is not None,
                                     tuple(entries[row.id]))
            found[row.sku] = entry
            if keep:
                self._variants[row.sku] = (now, entry)
        return found


catalogue_cache = CatalogueCache()


async def follow(bus: EventBus, cache: CatalogueCache = catalogue_cache, *,
                 ready: asyncio.Event | None = None) -> None:
    """Drop what other processes changed, as their changes are published; run until
    cancelled."""
    await follow_topic(bus, catalog_topic(), cache, ready=ready)
