"""GraphQL types of the catalogue: Channel, Location, Product, Variant."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.auth import Kind, Permission
from api.graphql.annotations.types import METADATA, TAGS, MetadataItem, metadata_of, tags_of
from api.graphql.common import (
    Address,
    BackorderPolicy,
    ChannelKind,
    LocationKind,
    Money,
    TaxClass,
)
from api.graphql.errors import bad_request, graphql_error
from api.graphql.permissions import public, requires
from api.graphql.relay import Node, to_global_id
from domain.annotations.models import ObjectKind
from domain.catalog import models
from domain.catalog.prices import price_of
from domain.db import connection
from domain.errors import NotPermitted

if TYPE_CHECKING:
    from api.graphql.inventory.types import StockLevel


@strawberry.type
class Channel(Node):
    id: strawberry.ID
    code: str
    name: str
    kind: ChannelKind
    currency: str
    prices_include_tax: bool = strawberry.field(
        description="Prices on this channel include tax; otherwise tax is added on top.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Channel) -> Channel:
        return cls(id=to_global_id("Channel", m.id), pk=m.id, code=m.code, name=m.name,
                   kind=m.kind, currency=m.currency, prices_include_tax=m.prices_include_tax)

    @strawberry.field(description="The locations whose stock this channel sells, in the "
                                  "channel's order (routing prefers the earlier of two otherwise "
                                  "equal locations).")
    async def locations(self, info: Info) -> list[Location]:
        links = await info.context.loaders.channel_locations_by_channel.load(self.pk)
        found = await info.context.loaders.location_by_id.load_many(
            [link.location_id for link in links]
        )
        return [Location.from_model(loc) for loc in found if loc is not None]


@strawberry.type
class Location(Node):
    id: strawberry.ID
    code: str
    name: str
    kind: LocationKind
    priority: int = strawberry.field(description="Lower numbers are preferred by routing.")
    pickup_enabled: bool
    address: Address | None
    latitude: float | None
    longitude: float | None
    active: bool = strawberry.field(
        description="An inactive location serves no channel: no order is routed to it or "
                    "collected there.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Location) -> Location:
        return cls(id=to_global_id("Location", m.id), pk=m.id, code=m.code, name=m.name,
                   kind=m.kind, priority=m.priority, pickup_enabled=m.pickup_enabled,
                   address=Address.from_json(m.address), latitude=m.latitude,
                   longitude=m.longitude, active=m.active)


@strawberry.type
class Product(Node):
    id: strawberry.ID
    name: str
    description: str | None
    archived_at: datetime | None = strawberry.field(
        description="When it was archived: its variants cannot be ordered since.")
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Product) -> Product:
        return cls(id=to_global_id("Product", m.id), pk=m.id, name=m.name,
                   description=m.description, archived_at=m.archived_at)

    @strawberry.field(description="Archived products' variants cannot be ordered.")
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field
    async def variants(self, info: Info) -> list[Variant]:
        rows = await info.context.loaders.variants_by_product.load(self.pk)
        return [Variant.from_model(v) for v in rows]

    @strawberry.field(description=TAGS)
    async def tags(self, info: Info) -> list[str]:
        return await tags_of(info, ObjectKind.PRODUCT, self.pk)

    @strawberry.field(description=METADATA)
    async def metadata(self, info: Info) -> list[MetadataItem]:
        return await metadata_of(info, ObjectKind.PRODUCT, self.pk, private=False)

    @strawberry.field(extensions=requires(Permission.CATALOG_WRITE),
                      description="Private metadata: the shop's staff and partner apps holding "
                                  "catalog:write (null, with FORBIDDEN, for anyone else).")
    async def private_metadata(self, info: Info) -> list[MetadataItem] | None:
        return await metadata_of(info, ObjectKind.PRODUCT, self.pk, private=True)


@strawberry.type
class Variant(Node):
    id: strawberry.ID
    sku: str
    name: str
    price: Money
    track_inventory: bool
    backorder_policy: BackorderPolicy
    barcode: str | None = strawberry.field(description="GTIN, EAN or UPC, as printed.")
    weight_grams: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    tax_class: TaxClass
    pk: strawberry.Private[int]
    product_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Variant) -> Variant:
        return cls(id=to_global_id("Variant", m.id), pk=m.id, product_pk=m.product_id,
                   sku=m.sku, name=m.name, price=Money.of(m.price, m.currency),
                   track_inventory=m.track_inventory, backorder_policy=m.backorder_policy,
                   barcode=m.barcode, weight_grams=m.weight_grams, length_mm=m.length_mm,
                   width_mm=m.width_mm, height_mm=m.height_mm, tax_class=m.tax_class)

    @strawberry.field
    async def product(self, info: Info) -> Product:
        product = await info.context.loaders.product_by_id.load(self.product_pk)
        return Product.from_model(product)

    @strawberry.field(extensions=public(), description=(
        "The unit price of `quantity` units a line on a channel (its code), as an order "
        "placed now would get it: from the channel's price lists (a signed-in customer's "
        "group's; any customer group's with catalog:write), else the variant's own price in "
        "the channel's currency. null: an unknown channel or group, or no price there."))
    async def channel_price(self, info: Info, channel: str, quantity: int = 1,
                            customer_group: str | None = None) -> Money | None:
        if quantity < 1 or quantity > 1_000_000_000:
            raise bad_request("quantity is from 1 to 1000000000")
        principal = info.context.scope.principal
        group = None
        if customer_group is None and principal is not None and principal.kind is Kind.CUSTOMER \
                and principal.customer_id is not None:  # once per request, however many variants
            found = await info.context.loaders.customer_by_id.load(principal.customer_id)
            group = found.customer_group_id if found is not None else None
        try:
            price = await price_of(connection(), channel=channel, sku=self.sku,
                                   quantity=quantity, customer_group=customer_group,
                                   group_id=group, scope=info.context.scope)
        except NotPermitted as refused:
            raise graphql_error(refused.message, "FORBIDDEN") from refused
        return Money.of(price.amount, price.currency) if price is not None else None

    @strawberry.field(extensions=requires(Permission.INVENTORY_READ),
                      description="Stock at every location that holds a row for this variant "
                      "(at the locations serving the caller's channels, when it is limited).")
    async def stock(
        self, info: Info
    ) -> list[Annotated[StockLevel, strawberry.lazy("api.graphql.inventory.types")]]:
        from api.graphql.inventory.types import StockLevel

        rows = await info.context.loaders.stock_by_variant.load(self.pk)
        return [StockLevel.from_model(row) for row in rows]
