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
from domain.db import connection, fetch
from domain.errors import UnknownChannel
from domain.fulfillment.models import Shipment, ShipmentLine
from domain.inventory.availability import availability
from domain.marketplaces.models import (
    MarketplaceConnection,
    MarketplaceFulfillment,
    MarketplaceListing,
)
from domain.orders.models import Order

log = logging.getLogger(__name__)


class StaleQuantity(Exception):
    """The marketplace's quantity is not what we last pushed: someone changed it there."""

    def __init__(self, actual: int | None) -> None:
        super().__init__(f"the marketplace holds {actual}")
        self.actual = actual


@dataclass(frozen=True)
class FulfillmentReport:
    external_order_id: str
    lines: Sequence[tuple[str, int]]  # (SKU, units) in this parcel
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None


class InventoryPusher(Protocol):
    async def report_fulfillment(self, settings: Mapping[str, Any],
                                 report: FulfillmentReport) -> None:
        """Tell the marketplace a parcel left, with its tracking."""

    async def find_item(self, settings: Mapping[str, Any], sku: str) -> str | None:
        """The marketplace's id of the SKU's inventory item, or None if it does not sell it."""

    async def set_quantity(self, settings: Mapping[str, Any], item: str, quantity: int,
                           compare: int | None) -> None:
        """Set the sellable quantity; StaleQuantity when ``compare`` is not what it holds."""

    async def get_quantity(self, settings: Mapping[str, Any], item: str) -> int | None:
        """What the marketplace holds now at the connected location."""


def dirty_marks(skus: Sequence[str]) -> tuple[str, list[Any]] | None:
    """The write that marks these SKUs for a push to every connected marketplace channel
    (the listings missing are added, dirty, and the others marked); None: no SKU. The relay
    sends it with the publish of the stock changes (api/handlers.py)."""
    wanted = sorted(set(skus))
    if not wanted:
        return None
    # (VALUES' column is column1 on both databases; an upsert's SELECT needs a WHERE clause
    # on SQLite, even a true one)
    return (f"""INSERT INTO marketplace_listing (channel_id, sku, dirty)
        SELECT c.channel_id, s.column1, ? FROM marketplace_connection c
        CROSS JOIN (VALUES {", ".join(["(?)"] * len(wanted))}) AS s WHERE 1 = 1
        ON CONFLICT (channel_id, sku) DO UPDATE SET dirty = excluded.dirty""",
            [True, *wanted])


async def mark_dirty(skus: Sequence[str]) -> int:
    """Mark these SKUs for a push now (``dirty_marks``, in one statement); the rows marked."""
    marks = dirty_marks(skus)
    if marks is None:
        return 0
    return len(await fetch(connection(), f"{marks[0]} RETURNING channel_id", marks[1]))


def _can_push(connection: MarketplaceConnection) -> bool:
    """Shopify pushes with an Admin API token; Amazon with its seller id."""
    return bool(connection.settings.get("accessToken") or connection.settings.get("sellerId"))


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
        if connection is None or pusher is None or not _can_push(connection):
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


async def mark_fulfillments(published: Sequence[Any]) -> int:
    """Queue the dispatches of marketplace orders among published order events."""
    dispatched = {m.payload["order_id"]: m.payload["data"]["shipment_id"] for m in published
                  if m.payload.get("kind") == "order_event"
                  and (m.payload.get("data") or {}).get("dispatched")}
    if not dispatched:
        return 0
    connected = set(await MarketplaceConnection.all().values_list("channel_id", flat=True))
    orders = await Order.filter(id__in=list(dispatched), channel_id__in=list(connected),
                                external_id__not_isnull=True)
    rows = [MarketplaceFulfillment(shipment_id=dispatched[o.id], channel_id=o.channel_id)
            for o in orders]
    if rows:
        await MarketplaceFulfillment.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


async def push_fulfillments(pushers: Mapping[str, InventoryPusher], limit: int = 100) -> int:
    """Report queued dispatches to their marketplaces; failures stay queued."""
    sent = 0
    for queued in await MarketplaceFulfillment.filter(sent=False, attempts__lt=20).limit(limit):
        connection = await MarketplaceConnection.get_or_none(channel_id=queued.channel_id)
        pusher = pushers.get(connection.provider) if connection else None
        if connection is None or pusher is None or not _can_push(connection):
            continue
        shipment = await Shipment.get(id=queued.shipment_id)
        order = await Order.get(id=shipment.order_id)
        lines = [(line.sku, sl.quantity) for sl in await ShipmentLine.filter(
            shipment_id=shipment.id).prefetch_related("order_line")
                 for line in [sl.order_line]]
        queued.attempts += 1
        try:
            await pusher.report_fulfillment(connection.settings, FulfillmentReport(
                external_order_id=str(order.external_id), lines=lines, carrier=shipment.carrier,
                tracking_number=shipment.tracking_number, tracking_url=shipment.tracking_url))
        except Exception as error:
            queued.error = str(error)[:500]
            log.warning("reporting shipment %s to %s failed: %s", shipment.id,
                        connection.provider, error)
            await queued.save()
            continue
        queued.sent, queued.error = True, None
        await queued.save()
        sent += 1
    return sent
