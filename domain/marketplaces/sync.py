"""Keeping marketplaces' stock in step with ours, coalesced per SKU.

Committed stock changes mark (channel, SKU) pairs dirty; a worker pushes each
dirty pair once per window, so a burst of orders becomes a handful of pushes.
What a marketplace may sell is the channel's sellable units minus its buffer.
The push says what it believes the marketplace holds (compare quantity): a
change made on the marketplace's side meanwhile is detected, not overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from domain.catalog.models import Variant
from domain.errors import UnknownChannel
from domain.inventory.availability import availability
from domain.marketplaces.models import MarketplaceConnection, MarketplaceListing

log = logging.getLogger(__name__)


class StaleQuantity(Exception):
    """The marketplace's quantity is not what we last pushed: someone changed it there."""

    def __init__(self, actual: int | None) -> None:
        super().__init__(f"the marketplace holds {actual}")
        self.actual = actual


class InventoryPusher(Protocol):
    async def find_item(self, settings: Mapping[str, Any], sku: str) -> str | None:
        """The marketplace's id of the SKU's inventory item, or None if it does not sell it."""

    async def set_quantity(self, settings: Mapping[str, Any], item: str, quantity: int,
                           compare: int | None) -> None:
        """Set the sellable quantity; StaleQuantity when ``compare`` is not what it holds."""

    async def get_quantity(self, settings: Mapping[str, Any], item: str) -> int | None:
        """What the marketplace holds now at the connected location."""


async def mark_dirty(skus: Sequence[str]) -> int:
    """Mark these SKUs for a push to every connected marketplace channel."""
    if not skus:
        return 0
    connections = await MarketplaceConnection.all()
    rows = [MarketplaceListing(channel_id=c.channel_id, sku=sku, dirty=True)
            for c in connections for sku in set(skus)]
    if not rows:
        return 0
    await MarketplaceListing.bulk_create(rows, ignore_conflicts=True)
    await MarketplaceListing.filter(
        channel_id__in=[c.channel_id for c in connections], sku__in=list(set(skus))
    ).update(dirty=True)
    return len(rows)


def sellable(available: int, buffer: int) -> int:
    return max(available - buffer, 0)


async def push_dirty(pushers: Mapping[str, InventoryPusher], limit: int = 200) -> int:
    """Push every dirty (channel, SKU) once; returns how many pushes were made."""
    pushed = 0
    dirty = await MarketplaceListing.filter(dirty=True).limit(limit).prefetch_related("channel")
    for listing in dirty:
        # Cleared first: a change committed while we push marks it dirty again.
        await MarketplaceListing.filter(id=listing.id).update(dirty=False)
        connection = await MarketplaceConnection.get_or_none(channel_id=listing.channel_id)
        pusher = pushers.get(connection.provider) if connection else None
        if connection is None or pusher is None or not connection.settings.get("accessToken"):
            continue
        settings = connection.settings
        try:
            if listing.remote_item is None:
                listing.remote_item = await pusher.find_item(settings, listing.sku)
                if listing.remote_item is None:
                    continue  # not sold there
            counts = await availability(skus=[listing.sku], channel=listing.channel.code)
            quantity = sellable(counts[0].available if counts else 0,
                                int(settings.get("buffer") or 0))
            await pusher.set_quantity(settings, listing.remote_item, quantity,
                                      listing.last_pushed)
        except StaleQuantity as stale:
            listing.drift = stale.actual
            log.warning("%s on %s changed on the marketplace (holds %s, we pushed %s)",
                        listing.sku, listing.channel.code, stale.actual, listing.last_pushed)
            await listing.save(update_fields=["remote_item", "drift"])
            continue
        except Exception:
            log.exception("pushing %s to %s failed; it will be tried again",
                          listing.sku, listing.channel.code)
            await MarketplaceListing.filter(id=listing.id).update(dirty=True)
            continue
        listing.last_pushed = quantity
        listing.pushed_at = datetime.now(UTC)
        listing.drift = None
        await listing.save(update_fields=["remote_item", "last_pushed", "pushed_at", "drift"])
        pushed += 1
    return pushed





@dataclass(frozen=True)
class Drift:
    sku: str
    ours: int
    theirs: int | None


async def reconcile(
    *, channel: str, pushers: Mapping[str, InventoryPusher],
    progress: Callable[[int, int], None] | None = None,
) -> list[Drift]:
    """Compare every SKU the marketplace sells with what we would have it sell, and set it
    where they differ (overriding a change made there: we are the source of stock truth)."""
    connection = await MarketplaceConnection.get_or_none(channel__code=channel)
    if connection is None:
        raise UnknownChannel(channel, field=("channel",))
    pusher = pushers[connection.provider]
    settings = connection.settings
    skus = sorted(str(sku) for sku in
                  await Variant.filter(track_inventory=True).values_list("sku", flat=True))
    fixed: list[Drift] = []
    for done, sku in enumerate(skus, start=1):
        listing, _ = await MarketplaceListing.get_or_create(channel_id=connection.channel_id,
                                                            sku=sku, defaults={"dirty": False})
        if listing.remote_item is None:
            listing.remote_item = await pusher.find_item(settings, sku)
        if listing.remote_item is not None:
            counts = await availability(skus=[sku], channel=channel)
            ours = sellable(counts[0].available if counts else 0,
                            int(settings.get("buffer") or 0))
            theirs = await pusher.get_quantity(settings, listing.remote_item)
            if theirs != ours:
                await pusher.set_quantity(settings, listing.remote_item, ours, None)
                fixed.append(Drift(sku, ours, theirs))
            listing.last_pushed, listing.drift = ours, None
            listing.pushed_at = datetime.now(UTC)
            await listing.save()
        if progress is not None:
            progress(done, len(skus))
    return fixed
