"""What can be sold: per SKU, the sellable units at the locations serving a channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from domain.catalog.models import BackorderPolicy, Channel, ChannelLocation, Variant
from domain.errors import UnknownChannel
from domain.inventory.models import StockLevel
from domain.inventory.ports import AvailabilityCache


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Availability:
        return cls(sku=data["sku"], available=data["available"],
                   backorderable=data["backorderable"],
                   locations=[LocationAvailability(**loc) for loc in data["locations"]])


async def availability(
    *, skus: Sequence[str], channel: str | None = None, cache: AvailabilityCache | None = None
) -> list[Availability]:
    """Sellable units per SKU (on hand minus reserved minus safety stock, never below zero).

    With a channel, only the locations serving it count. Unknown SKUs are left
    out. Reads go through the cache when one is given; commits invalidate it.
    """
    wanted = list(dict.fromkeys(skus))
    scope = channel or "*"
    cached = await cache.get_many(wanted, scope) if cache else {}
    missing = [sku for sku in wanted if sku not in cached]
    fresh = await _from_database(missing, channel) if missing else {}
    if cache and fresh:
        await cache.set_many({sku: a.to_json() for sku, a in fresh.items()}, scope)
    found = {**{sku: Availability.from_json(data) for sku, data in cached.items()}, **fresh}
    return [found[sku] for sku in wanted if sku in found]


async def _from_database(skus: Sequence[str], channel: str | None) -> dict[str, Availability]:
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
    result = {}
    for sku in skus:
        variant = variants.get(sku)
        if variant is None:
            continue
        per_location = [
            LocationAvailability(level.location_id, max(level.available, 0))
            for level in by_variant.get(variant.id, [])
        ]
        result[sku] = Availability(
            sku=sku,
            available=sum(loc.available for loc in per_location),
            backorderable=(not variant.track_inventory
                           or variant.backorder_policy is BackorderPolicy.CONTINUE),
            locations=per_location,
        )
    return result
