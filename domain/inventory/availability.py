"""What can be sold: per SKU, the sellable units at the locations serving a channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.catalog.models import BackorderPolicy, Channel, ChannelLocation, Variant
from domain.errors import UnknownChannel
from domain.inventory.models import StockLevel


@dataclass(frozen=True)
class LocationAvailability:
    location_id: int
    available: int


@dataclass(frozen=True)
class Availability:
    sku: str
    available: int
    backorderable: bool
    locations: list[LocationAvailability]


async def availability(*, skus: Sequence[str], channel: str | None = None) -> list[Availability]:
    """Sellable units per SKU (on hand minus reserved minus safety stock, never below zero).

    With a channel, only the locations serving it count. Unknown SKUs are left out.
    """
    location_ids: list[int] | None = None
    if channel is not None:
        found = await Channel.get_or_none(code=channel)
        if found is None:
            raise UnknownChannel(channel, field=("channel",))
        links = await ChannelLocation.filter(channel_id=found.id)
        location_ids = [link.location_id for link in links]
    variants = {v.sku: v for v in await Variant.filter(sku__in=list(skus))}
    query = StockLevel.filter(variant_id__in=[v.id for v in variants.values()])
    if location_ids is not None:
        query = query.filter(location_id__in=location_ids)
    by_variant: dict[int, list[StockLevel]] = {}
    for level in await query.order_by("location_id"):
        by_variant.setdefault(level.variant_id, []).append(level)
    result = []
    for sku in dict.fromkeys(skus):
        variant = variants.get(sku)
        if variant is None:
            continue
        per_location = [
            LocationAvailability(level.location_id, max(level.available, 0))
            for level in by_variant.get(variant.id, [])
        ]
        result.append(Availability(
            sku=sku,
            available=sum(loc.available for loc in per_location),
            backorderable=(not variant.track_inventory
                           or variant.backorder_policy is BackorderPolicy.CONTINUE),
            locations=per_location,
        ))
    return result
