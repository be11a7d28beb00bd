"""Creating channels, locations and products, with their rules checked before any write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Max

from domain import validation as v
from domain.catalog.changes import changing_catalogue
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
from domain.events.catalogue import EventType
from domain.money import parse_price, validate_currency
from domain.taxes.models import TaxClass

MAX_VARIANTS = 100
MAX_GRAMS = 10_000_000  # ten tonnes
MAX_MM = 100_000  # a hundred metres
DIMENSIONS = ("weight_grams", "length_mm", "width_mm", "height_mm")


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    price: Decimal
    currency: str
    name: str | None = None
    track_inventory: bool = True
    backorder_policy: BackorderPolicy = BackorderPolicy.DENY
    barcode: str | None = None
    weight_grams: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    tax_class: TaxClass = TaxClass.STANDARD


def clean_barcode(value: str | None, *, field: Sequence[str]) -> str | None:
    """A GTIN/EAN/UPC or any code printed on the item: digits, letters, '-', 64 at most."""
    cleaned = v.text(value, field=field, max_length=v.MAX_CODE)
    if cleaned is not None and not all(c.isalnum() or c == "-" for c in cleaned):
        raise InvalidInput("A barcode has letters, digits and '-' only", field=field)
    return cleaned


def clean_dimension(name: str, value: int | None, *, field: Sequence[str]) -> int | None:
    """Weights in grams and sizes in millimetres: whole, positive, and of a parcel's order."""
    if value is None:
        return None
    limit = MAX_GRAMS if name == "weight_grams" else MAX_MM
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
        raise InvalidInput(f"Give a whole number from 1 to {limit:,}", field=field)
    return value


def clean_variant(spec: VariantSpec, *, at: Sequence[str], product_name: str | None
                  ) -> dict[str, Any]:
    """A variant's columns from its spec, every problem raised at once."""
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {"track_inventory": spec.track_inventory,
                               "backorder_policy": spec.backorder_policy,
                               "tax_class": TaxClass(spec.tax_class)}

    def check(column: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            cleaned[column] = fn(*args, **kwargs)
        except DomainError as error:
            errors.append(error)

    check("sku", v.code, spec.sku, field=(*at, "sku"))
    check("currency", validate_currency, spec.currency.upper(), field=(*at, "currency"))
    if "currency" in cleaned:
        check("price", parse_price, spec.price, cleaned["currency"], field=(*at, "price"))
    check("name", v.text, spec.name, field=(*at, "name"))
    check("barcode", clean_barcode, spec.barcode, field=(*at, "barcode"))
    for name, camel in zip(DIMENSIONS, ("weightGrams", "lengthMm", "widthMm", "heightMm"),
                           strict=True):
        check(name, clean_dimension, name, getattr(spec, name), field=(*at, camel))
    raise_all(errors)
    cleaned["name"] = cleaned["name"] or product_name
    if cleaned["name"] is None:
        raise InvalidInput("A variant needs a name (or its product's)", field=(*at, "name"))
    return cleaned


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
    *, code: str, name: str, kind: ChannelKind, currency: str, locations: Sequence[str] = (),
    prices_include_tax: bool = False, actor: str | None = None,
) -> Channel:
    """Create a sales channel served by the given locations, in that order, its prices
    entered with tax included or without. Codes are unique."""
    code = v.code(code, field=("code",))
    name = v.required_text(name, field=("name",))
    currency = validate_currency(currency.upper())
    async with changing_catalogue(actor) as change:
        conn = change.conn
        if await Channel.filter(code=code).using_db(conn).exists():
            raise Duplicate("Channel", code, field=("code",))
        served = await _locations_by_code(locations, conn, field="locations")
        channel = await Channel.create(
            code=code, name=name, kind=kind, currency=currency,
            prices_include_tax=prices_include_tax, using_db=conn
        )
        await ChannelLocation.bulk_create(
            [ChannelLocation(channel=channel, location=loc, position=i)
             for i, loc in enumerate(served)], using_db=conn
        )
        change.record(EventType.CHANNEL_CREATED, code, routing=True)
    return channel


async def create_location(spec: LocationSpec, *, actor: str | None = None) -> Location:
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
    async with changing_catalogue(actor) as change:
        conn = change.conn
        if await Location.filter(code=code).using_db(conn).exists():
            raise Duplicate("Location", code, field=("code",))
        channels = await _channels_by_code(spec.channels, conn, field="channels")
        location = await Location.create(
            code=code, name=name, kind=spec.kind, priority=spec.priority,
            pickup_enabled=spec.pickup_enabled, address=address, latitude=spec.latitude,
            longitude=spec.longitude, using_db=conn,
        )
        last = {row["channel_id"]: row["last"] for row in await ChannelLocation.filter(
            channel_id__in=[ch.id for ch in channels]).using_db(conn).group_by("channel_id")
            .annotate(last=Max("position")).values("channel_id", "last")}
        await ChannelLocation.bulk_create(
            [ChannelLocation(channel=ch, location=location, position=(last.get(ch.id, -1) + 1))
             for ch in channels], using_db=conn
        )
        change.record(EventType.LOCATION_CREATED, code, routing=bool(channels))
    return location


async def create_product(
    *, name: str, description: str | None, variants: Sequence[VariantSpec],
    actor: str | None = None,
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
    for i, spec in enumerate(variants[:MAX_VARIANTS]):
        at = ("variants", str(i))
        try:
            values = clean_variant(spec, at=at, product_name=name)
        except DomainError as error:
            errors.append(error)
            continue
        if values["sku"] in seen:
            errors.append(Duplicate("SKU", values["sku"], field=(*at, "sku")))
        seen.add(values["sku"])
        cleaned.append(values)
    raise_all(errors)
    async with changing_catalogue(actor) as change:
        conn = change.conn
        taken = set(await Variant.filter(sku__in=seen).using_db(conn).values_list("sku", flat=True))
        raise_all([Duplicate("SKU", str(c["sku"]), field=("variants", str(i), "sku"))
                   for i, c in enumerate(cleaned) if c["sku"] in taken])
        product = await Product.create(name=name, description=description, using_db=conn)
        await Variant.bulk_create([Variant(product=product, **values) for values in cleaned],
                                  using_db=conn)
        change.record(EventType.PRODUCT_CREATED, product.id, skus=seen)
    return product
