"""Catalogue mutations: channelCreate, locationCreate, productCreate."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.auth import Permission
from api.graphql.catalog.types import Channel, Location, Product
from api.graphql.common import AddressInput, BackorderPolicy, ChannelKind, LocationKind
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import requires
from domain.catalog import service


@strawberry.input
class ChannelCreateInput:
    code: str
    name: str
    kind: ChannelKind
    currency: str
    locations: list[str] | None = strawberry.field(
        default=None, description="Codes of the locations that serve it."
    )


@strawberry.type
class ChannelCreatePayload:
    channel: Channel | None
    user_errors: list[UserError]


@strawberry.input
class LocationCreateInput:
    code: str
    name: str
    kind: LocationKind
    priority: int | None = None
    pickup_enabled: bool | None = None
    address: AddressInput | None = None
    latitude: float | None = None
    longitude: float | None = None
    channels: list[str] | None = strawberry.field(
        default=None, description="Codes of the channels it serves."
    )


@strawberry.type
class LocationCreatePayload:
    location: Location | None
    user_errors: list[UserError]


@strawberry.input
class VariantInput:
    sku: str
    price: Decimal
    currency: str
    name: str | None = None
    track_inventory: bool | None = None
    backorder_policy: BackorderPolicy | None = None


@strawberry.input
class ProductCreateInput:
    name: str
    variants: list[VariantInput]
    description: str | None = None


@strawberry.type
class ProductCreatePayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE))
    async def channel_create(self, input: ChannelCreateInput) -> ChannelCreatePayload:
        channel, errors = await attempt(service.create_channel(
            code=input.code, name=input.name, kind=input.kind, currency=input.currency,
            locations=input.locations or [],
        ))
        return ChannelCreatePayload(
            channel=Channel.from_model(channel) if channel else None, user_errors=errors
        )

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE))
    async def location_create(self, input: LocationCreateInput) -> LocationCreatePayload:
        location, errors = await attempt(service.create_location(service.LocationSpec(
            code=input.code, name=input.name, kind=input.kind, priority=input.priority or 0,
            pickup_enabled=bool(input.pickup_enabled),
            address=input.address.to_dict() if input.address else None,
            latitude=input.latitude, longitude=input.longitude, channels=input.channels or [],
        )))
        return LocationCreatePayload(
            location=Location.from_model(location) if location else None, user_errors=errors
        )

    @strawberry.mutation(
        extensions=requires(Permission.CATALOG_WRITE),
        description="Create a product with its variants.",
    )
    async def product_create(self, input: ProductCreateInput) -> ProductCreatePayload:
        variants = [
            service.VariantSpec(
                sku=v.sku, price=v.price, currency=v.currency, name=v.name,
                track_inventory=v.track_inventory if v.track_inventory is not None else True,
                backorder_policy=v.backorder_policy or BackorderPolicy.DENY,
            )
            for v in input.variants
        ]
        product, errors = await attempt(service.create_product(
            name=input.name, description=input.description, variants=variants
        ))
        return ProductCreatePayload(
            product=Product.from_model(product) if product else None, user_errors=errors
        )
