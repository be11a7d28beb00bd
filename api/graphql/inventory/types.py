"""GraphQL types of stock: StockLevel and Availability."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.catalog.types import Location, Variant
from domain.inventory import availability as avail
from domain.inventory import models


@strawberry.type(description="Units of one variant at one location.")
class StockLevel:
    on_hand: int
    reserved: int
    available: int = strawberry.field(description="onHand - reserved - safetyStock.")
    safety_stock: int
    low_stock_threshold: int | None
    location_pk: strawberry.Private[int]
    variant_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.StockLevel) -> StockLevel:
        return cls(on_hand=m.on_hand, reserved=m.reserved, available=m.available,
                   safety_stock=m.safety_stock, low_stock_threshold=m.low_stock_threshold,
                   location_pk=m.location_id, variant_pk=m.variant_id)

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load(self.location_pk))

    @strawberry.field
    async def variant(self, info: Info) -> Variant:
        return Variant.from_model(await info.context.loaders.variant_by_id.load(self.variant_pk))


@strawberry.type
class LocationAvailability:
    available: int
    location_pk: strawberry.Private[int]

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load(self.location_pk))


@strawberry.type(description="Sellable units of a SKU, in total and per location.")
class Availability:
    sku: str
    available: int
    backorderable: bool
    locations: list[LocationAvailability]

    @classmethod
    def from_domain(cls, a: avail.Availability) -> Availability:
        return cls(sku=a.sku, available=a.available, backorderable=a.backorderable,
                   locations=[LocationAvailability(available=loc.available,
                                                   location_pk=loc.location_id)
                              for loc in a.locations])
