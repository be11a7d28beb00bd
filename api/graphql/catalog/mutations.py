"""Catalogue mutations: channelCreate/Update, locationCreate/Update, productCreate/Update,
productArchive/Unarchive, variantCreate/Update.

In update inputs a field left out changes nothing; ``null`` clears a value that may be
empty (a description, a barcode, a weight, an address).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.catalog.types import Channel, Location, Product, Variant
from api.graphql.common import AddressInput, BackorderPolicy, ChannelKind, LocationKind, TaxClass, given, run
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.permissions import requires
from domain.catalog import lifecycle, service
from domain.errors import InvalidInput

T = TypeVar("T")


@strawberry.input
class ChannelCreateInput:
    code: str
    name: str
    kind: ChannelKind
    currency: str
    locations: list[str] | None = strawberry.field(
        default=None, description="Codes of the locations that serve it."
    )
    prices_include_tax: bool = strawberry.field(
        default=False, description="Prices on this channel include tax (EU shops); without "
                                   "it, tax is added on top.")


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
    barcode: str | None = None
    weight_grams: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    tax_class: TaxClass = TaxClass.STANDARD

    def spec(self) -> service.VariantSpec:
        return service.VariantSpec(
            sku=self.sku, price=self.price, currency=self.currency, name=self.name,
            track_inventory=self.track_inventory if self.track_inventory is not None else True,
            backorder_policy=self.backorder_policy or BackorderPolicy.DENY,
            barcode=self.barcode, weight_grams=self.weight_grams, length_mm=self.length_mm,
            width_mm=self.width_mm, height_mm=self.height_mm, tax_class=self.tax_class)


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
    async def channel_create(self, info: Info, input: ChannelCreateInput) -> ChannelCreatePayload:
        channel, errors = await attempt(service.create_channel(
            code=input.code, name=input.name, kind=input.kind, currency=input.currency,
            locations=input.locations or [], prices_include_tax=input.prices_include_tax,
            actor=info.context.actor(),
        ))
        return ChannelCreatePayload(
            channel=Channel.from_model(channel) if channel else None, user_errors=errors
        )

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE))
    async def location_create(self, info: Info,
                              input: LocationCreateInput) -> LocationCreatePayload:
        location, errors = await attempt(service.create_location(service.LocationSpec(
            code=input.code, name=input.name, kind=input.kind, priority=input.priority or 0,
            pickup_enabled=bool(input.pickup_enabled),
            address=input.address.to_dict() if input.address else None,
            latitude=input.latitude, longitude=input.longitude, channels=input.channels or [],
        ), actor=info.context.actor()))
        return LocationCreatePayload(
            location=Location.from_model(location) if location else None, user_errors=errors
        )

    @strawberry.mutation(
        extensions=requires(Permission.CATALOG_WRITE),
        description="Create a product with its variants.",
    )
    async def product_create(self, info: Info, input: ProductCreateInput) -> ProductCreatePayload:
        product, errors = await attempt(service.create_product(
            name=input.name, description=input.description,
            variants=[v.spec() for v in input.variants], actor=info.context.actor(),
        ))
        return ProductCreatePayload(
            product=Product.from_model(product) if product else None, user_errors=errors
        )

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Rename a product or change its description.")
    async def product_update(self, info: Info, input: ProductUpdateInput) -> ProductUpdatePayload:
        product, errors = await attempt(run(lambda: lifecycle.update_product(
            product_id=pk_of(input.id, "Product", field=("id",)), name=given(input.name),
            description=given(input.description), actor=info.context.actor())))
        return ProductUpdatePayload(product=_product(product), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Archive a product: its variants can no longer be ordered "
                                     "(VARIANT_ARCHIVED); orders placed before keep their lines.")
    async def product_archive(self, info: Info, id: strawberry.ID) -> ProductArchivePayload:
        product, errors = await attempt(run(lambda: lifecycle.archive_product(
            product_id=pk_of(id, "Product", field=("id",)), archived=True,
            actor=info.context.actor())))
        return ProductArchivePayload(product=_product(product), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Bring an archived product back: its variants can be "
                                     "ordered again.")
    async def product_unarchive(self, info: Info, id: strawberry.ID) -> ProductUnarchivePayload:
        product, errors = await attempt(run(lambda: lifecycle.archive_product(
            product_id=pk_of(id, "Product", field=("id",)), archived=False,
            actor=info.context.actor())))
        return ProductUnarchivePayload(product=_product(product), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Add a variant to a product.")
    async def variant_create(self, info: Info, input: VariantCreateInput) -> VariantCreatePayload:
        variant, errors = await attempt(run(lambda: lifecycle.create_variant(
            product_id=pk_of(input.product_id, "Product", field=("productId",)),
            spec=input.spec(), actor=info.context.actor())))
        return VariantCreatePayload(variant=_variant(variant), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Change a variant (named by id or sku). Orders placed "
                                     "before keep the name and price they were placed with.")
    async def variant_update(self, info: Info, input: VariantUpdateInput) -> VariantUpdatePayload:
        async def run() -> Any:
            pk, sku = _target(input.id, input.sku, "Variant", "sku")
            return await lifecycle.update_variant(
                variant_id=pk, sku=sku, actor=info.context.actor(),
                changes=lifecycle.VariantChanges(
                    name=given(input.name), price=given(input.price),
                    currency=given(input.currency),
                    track_inventory=given(input.track_inventory),
                    backorder_policy=given(input.backorder_policy),
                    barcode=given(input.barcode), weight_grams=given(input.weight_grams),
                    length_mm=given(input.length_mm), width_mm=given(input.width_mm),
                    height_mm=given(input.height_mm), tax_class=given(input.tax_class)))
        variant, errors = await attempt(run())
        return VariantUpdatePayload(variant=_variant(variant), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Rename a channel (named by id or code), or set the "
                                     "locations that serve it, in their order.")
    async def channel_update(self, info: Info, input: ChannelUpdateInput) -> ChannelUpdatePayload:
        async def run() -> Any:
            pk, code = _target(input.id, input.code, "Channel", "code")
            return await lifecycle.update_channel(
                channel_id=pk, code=code, name=given(input.name),
                locations=given(input.locations),
                prices_include_tax=given(input.prices_include_tax), scope=info.context.scope,
                actor=info.context.actor())
        channel, errors = await attempt(run())
        return ChannelUpdatePayload(channel=Channel.from_model(channel) if channel else None,
                                    user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Change a location (named by id or code): its address, "
                                     "coordinates, pickup, priority, or whether it is active.")
    async def location_update(self, info: Info,
                              input: LocationUpdateInput) -> LocationUpdatePayload:
        async def run() -> Any:
            pk, code = _target(input.id, input.code, "Location", "code")
            address = given(input.address)
            return await lifecycle.update_location(
                location_id=pk, code=code, actor=info.context.actor(),
                changes=lifecycle.LocationChanges(
                    name=given(input.name), priority=given(input.priority),
                    pickup_enabled=given(input.pickup_enabled),
                    address=address.to_dict() if address else address,
                    latitude=given(input.latitude), longitude=given(input.longitude),
                    active=given(input.active)))
        location, errors = await attempt(run())
        return LocationUpdatePayload(
            location=Location.from_model(location) if location else None, user_errors=errors)



def _target(gid: Any, ref: Any, type_name: str, ref_field: str) -> tuple[int | None, str | None]:
    """Exactly one of ``id`` and the human reference (``sku``, ``code``)."""
    gid, ref = given(gid), given(ref)
    if (gid is None or gid is lifecycle.UNSET) == (ref is None or ref is lifecycle.UNSET):
        raise InvalidInput(f"Give either id or {ref_field}", field=("id",))
    if gid is not None and gid is not lifecycle.UNSET:
        return pk_of(gid, type_name, field=("id",)), None
    return None, str(ref)



def _product(product: Any) -> Product | None:
    return Product.from_model(product) if product is not None else None


def _variant(variant: Any) -> Variant | None:
    return Variant.from_model(variant) if variant is not None else None


@strawberry.input
class ProductUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.type
class ProductUpdatePayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class ProductArchivePayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.type
class ProductUnarchivePayload:
    product: Product | None
    user_errors: list[UserError]


@strawberry.input
class VariantCreateInput(VariantInput):
    product_id: strawberry.ID


@strawberry.type
class VariantCreatePayload:
    variant: Variant | None
    user_errors: list[UserError]


@strawberry.input(description="The variant by id or sku; fields left out stay as they are.")
class VariantUpdateInput:
    id: strawberry.ID | None = strawberry.UNSET
    sku: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    track_inventory: bool | None = strawberry.UNSET
    backorder_policy: BackorderPolicy | None = strawberry.UNSET
    barcode: str | None = strawberry.UNSET
    weight_grams: int | None = strawberry.UNSET
    length_mm: int | None = strawberry.UNSET
    width_mm: int | None = strawberry.UNSET
    height_mm: int | None = strawberry.UNSET
    tax_class: TaxClass | None = strawberry.UNSET


@strawberry.type
class VariantUpdatePayload:
    variant: Variant | None
    user_errors: list[UserError]


@strawberry.input(description="The channel by id or code; fields left out stay as they are.")
class ChannelUpdateInput:
    id: strawberry.ID | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    locations: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Codes of every location that serves it, in the channel's order (replaces "
                    "the list).")
    prices_include_tax: bool | None = strawberry.UNSET


@strawberry.type
class ChannelUpdatePayload:
    channel: Channel | None
    user_errors: list[UserError]


@strawberry.input(description="The location by id or code; fields left out stay as they are.")
class LocationUpdateInput:
    id: strawberry.ID | None = strawberry.UNSET
    code: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    pickup_enabled: bool | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class LocationUpdatePayload:
    location: Location | None
    user_errors: list[UserError]
