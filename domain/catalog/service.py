"""Creating channels, locations and products, with their rules checked before any write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.catalog.models import (
    BackorderPolicy,
    Channel,
    ChannelKind,
    ChannelLocation,
    Location,
    LocationKind,
    Product,
    Variant,
)
from domain.errors import (
    DomainError,
    Duplicate,
    InvalidInput,
    UnknownChannel,
    UnknownLocation,
    raise_all,
)
from domain.money import parse_price, validate_currency
from domain.uow import unit_of_work

MAX_VARIANTS = 100


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    price: Decimal
    currency: str
    name: str | None = None
    track_inventory: bool = True
    backorder_policy: BackorderPolicy = BackorderPolicy.DENY


@dataclass(frozen=True)
class LocationSpec:
    code: str
    name: str
    kind: LocationKind
    priority: int = 0
    pickup_enabled: bool = False
    address: dict[str, Any] | None = None
    latitude: float | None = None
    longitude: float | None = None
    channels: Sequence[str] = field(default_factory=tuple)


async def _locations_by_code(
    codes: Sequence[str], conn: BaseDBAsyncClient, *, field: str
) -> list[Location]:
    found = {loc.code: loc for loc in await Location.filter(code__in=codes).using_db(conn)}
    raise_all([UnknownLocation(c, field=(field, str(i))) for i, c in enumerate(codes)
               if c not in found])
    return [found[c] for c in dict.fromkeys(codes)]


async def _channels_by_code(
    codes: Sequence[str], conn: BaseDBAsyncClient, *, field: str
) -> list[Channel]:
    found = {ch.code: ch for ch in await Channel.filter(code__in=codes).using_db(conn)}
    raise_all([UnknownChannel(c, field=(field, str(i))) for i, c in enumerate(codes)
               if c not in found])
    return [found[c] for c in dict.fromkeys(codes)]


async def create_channel(
    *, code: str, name: str, kind: ChannelKind, currency: str, locations: Sequence[str] = ()
) -> Channel:
    """Create a sales channel served by the given locations. Codes are unique."""
    code = v.code(code, field=("code",))
    name = v.required_text(name, field=("name",))
    currency = validate_currency(currency.upper())
    async with unit_of_work() as conn:
        if await Channel.filter(code=code).using_db(conn).exists():
            raise Duplicate("Channel", code, field=("code",))
        served = await _locations_by_code(locations, conn, field="locations")
        channel = await Channel.create(
            code=code, name=name, kind=kind, currency=currency, using_db=conn
        )
        await ChannelLocation.bulk_create(
            [ChannelLocation(channel=channel, location=loc) for loc in served], using_db=conn
        )
    return channel


async def create_location(spec: LocationSpec) -> Location:
    """Create a warehouse or store, optionally serving some channels. Codes are unique."""
    errors: list[DomainError] = []
    try:
        code = v.code(spec.code, field=("code",))
        name = v.required_text(spec.name, field=("name",))
        address = v.address(spec.address, field=("address",))
    except DomainError as error:
        errors.append(error)
    if spec.latitude is not None and not -90 <= spec.latitude <= 90:
        errors.append(InvalidInput("Latitude is between -90 and 90", field=("latitude",)))
    if spec.longitude is not None and not -180 <= spec.longitude <= 180:
        errors.append(InvalidInput("Longitude is between -180 and 180", field=("longitude",)))
    if not -1_000_000 <= spec.priority <= 1_000_000:
        errors.append(InvalidInput("Priority is out of range", field=("priority",)))
    if spec.pickup_enabled and spec.kind is not LocationKind.STORE:
        errors.append(InvalidInput("Only stores can offer pickup", field=("pickupEnabled",)))
    raise_all(errors)
    async with unit_of_work() as conn:
        if await Location.filter(code=code).using_db(conn).exists():
            raise Duplicate("Location", code, field=("code",))
        channels = await _channels_by_code(spec.channels, conn, field="channels")
        location = await Location.create(
            code=code, name=name, kind=spec.kind, priority=spec.priority,
            pickup_enabled=spec.pickup_enabled, address=address, latitude=spec.latitude,
            longitude=spec.longitude, using_db=conn,
        )
        await ChannelLocation.bulk_create(
            [ChannelLocation(channel=ch, location=location) for ch in channels], using_db=conn
        )
    return location


async def create_product(
    *, name: str, description: str | None, variants: Sequence[VariantSpec]
) -> Product:
    """Create a product with its variants; every SKU is unique across the catalogue."""
    errors: list[DomainError] = []
    try:
        name = v.required_text(name, field=("name",))
        description = v.text(description, field=("description",), max_length=v.MAX_TEXT)
    except DomainError as error:
        errors.append(error)
    if not variants:
        errors.append(InvalidInput("A product needs at least one variant", field=("variants",)))
    if len(variants) > MAX_VARIANTS:
        errors.append(
            InvalidInput(f"At most {MAX_VARIANTS} variants per product", field=("variants",))
        )
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, spec in enumerate(variants):
        at = ("variants", str(i))
        try:
            sku = v.code(spec.sku, field=(*at, "sku"))
            currency = validate_currency(spec.currency.upper(), field=(*at, "currency"))
            price = parse_price(spec.price, currency, field=(*at, "price"))
            variant_name = v.text(spec.name, field=(*at, "name")) or name
        except DomainError as error:
            errors.append(error)
            continue
        if sku in seen:
            errors.append(Duplicate("SKU", sku, field=(*at, "sku")))
        seen.add(sku)
        cleaned.append(dict(
            sku=sku, name=variant_name, price=price, currency=currency,
            track_inventory=spec.track_inventory, backorder_policy=spec.backorder_policy,
        ))
    raise_all(errors)
    async with unit_of_work() as conn:
        taken = set(await Variant.filter(sku__in=seen).using_db(conn).values_list("sku", flat=True))
        raise_all([Duplicate("SKU", str(c["sku"]), field=("variants", str(i), "sku"))
                   for i, c in enumerate(cleaned) if c["sku"] in taken])
        product = await Product.create(name=name, description=description, using_db=conn)
        for spec_values in cleaned:
            await Variant.create(product=product, **spec_values, using_db=conn)
    return product
