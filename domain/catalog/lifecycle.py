"""Changing the catalogue after the fact: products, variants, archiving, channels, locations.

Each change checks every field before it writes, writes in one transaction with its event
(``changing_catalogue``), and leaves orders alone: an order line holds the SKU, name and
unit price it was placed with, so a later rename, price change or archive never alters it.
``UNSET`` (the default of every optional argument) leaves a value as it is; ``None``
clears a value that may be empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain import validation as v
from domain.access import Scope
from domain.catalog.changes import changing_catalogue
from domain.catalog.models import (
    BackorderPolicy,
    Channel,
    ChannelLocation,
    Location,
    LocationKind,
    Product,
    Variant,
)
from domain.catalog.service import (
    DIMENSIONS,
    VariantSpec,
    _locations_by_code,
    clean_barcode,
    clean_dimension,
    clean_variant,
)
from domain.errors import (
    DomainError,
    Duplicate,
    InvalidInput,
    InvalidTransition,
    NotFound,
    UnknownChannel,
    UnknownLocation,
    UnknownSku,
    raise_all,
)
from domain.events.catalogue import EventType
from domain.money import parse_price, validate_currency
from domain.taxes.models import TaxClass


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final[Any] = _Unset()


def given(value: object) -> bool:
    return value is not UNSET


async def _product(conn: BaseDBAsyncClient, product_id: int) -> Product:
    product = await Product.filter(id=product_id).select_for_update().using_db(conn).first()
    if product is None:
        raise NotFound("Product", str(product_id), field=("id",))
    return product


async def update_product(*, product_id: int, name: Any = UNSET, description: Any = UNSET,
                         actor: str | None = None) -> Product:
    """Rename a product or change its description. Its variants keep their own names."""
    changes: dict[str, Any] = {}
    errors: list[DomainError] = []
    try:
        if given(name):
            changes["name"] = v.required_text(name, field=("name",))
    except DomainError as error:
        errors.append(error)
    try:
        if given(description):
            changes["description"] = v.text(description, field=("description",),
                                             max_length=v.MAX_TEXT)
    except DomainError as error:
        errors.append(error)
    raise_all(errors)
    async with changing_catalogue(actor) as change:
        product = await _product(change.conn, product_id)
        if changes:
            product.update_from_dict({**changes, "updated_at": datetime.now(UTC)})
            await product.save(using_db=change.conn)
            change.record(EventType.PRODUCT_UPDATED, product.id, skus=())
    return product


async def _skus_of(conn: BaseDBAsyncClient, product_id: int) -> list[str]:
    skus = await Variant.filter(product_id=product_id).using_db(conn).values_list("sku",
                                                                                  flat=True)
    return [str(sku) for sku in skus]


async def archive_product(*, product_id: int, archived: bool,
                          actor: str | None = None) -> Product:
    """Archive a product (its variants can no longer be ordered, orders already placed keep
    their lines) or bring it back. Archiving an archived product, or unarchiving an active
    one, is INVALID_TRANSITION."""
    async with changing_catalogue(actor) as change:
        product = await _product(change.conn, product_id)
        current = "ARCHIVED" if product.archived_at is not None else "ACTIVE"
        target = "ARCHIVED" if archived else "ACTIVE"
        if current == target:
            raise InvalidTransition("Product", str(product.id), current, target)
        now = datetime.now(UTC)
        product.archived_at = now if archived else None
        product.updated_at = now
        await product.save(update_fields=["archived_at", "updated_at"], using_db=change.conn)
        change.record(EventType.PRODUCT_ARCHIVED if archived else EventType.PRODUCT_UNARCHIVED,
                      product.id, skus=await _skus_of(change.conn, product.id))
    return product


async def create_variant(*, product_id: int, spec: VariantSpec,
                         actor: str | None = None) -> Variant:
    """Add a variant to a product; its SKU is unique across the catalogue (a concurrent
    create of the same SKU is Duplicate too, by the unique index)."""
    try:
        async with changing_catalogue(actor) as change:
            product = await _product(change.conn, product_id)
            values = clean_variant(spec, at=(), product_name=product.name)
            if await Variant.filter(sku=values["sku"]).using_db(change.conn).exists():
                raise Duplicate("SKU", values["sku"], field=("sku",))
            variant = await Variant.create(product=product, **values, using_db=change.conn)
            change.record(EventType.VARIANT_CREATED, variant.sku, skus=[variant.sku])
    except IntegrityError:
        raise Duplicate("SKU", spec.sku, field=("sku",)) from None
    return variant


@dataclass(frozen=True)
class VariantChanges:
    """What to change of a variant; UNSET leaves a value as it is."""

    name: Any = UNSET
    price: Any = UNSET
    currency: Any = UNSET
    track_inventory: Any = UNSET
    backorder_policy: Any = UNSET
    barcode: Any = UNSET
    weight_grams: Any = UNSET
    length_mm: Any = UNSET
    width_mm: Any = UNSET
    height_mm: Any = UNSET
    tax_class: Any = UNSET


def clean_variant_changes(changes: VariantChanges, variant: Variant) -> dict[str, Any]:
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}

    def check(column: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            cleaned[column] = fn(*args, **kwargs)
        except DomainError as error:
            errors.append(error)

    if given(changes.name):
        check("name", v.required_text, changes.name, field=("name",))
    if given(changes.currency):
        check("currency", validate_currency, str(changes.currency or "").upper(),
              field=("currency",))
    currency = cleaned.get("currency", variant.currency)
    if given(changes.price) or given(changes.currency):
        price = changes.price if given(changes.price) else variant.price
        check("price", parse_price, Decimal(price) if price is not None else price, currency,
              field=("price",))
    kinds = {"track_inventory": bool, "backorder_policy": BackorderPolicy,
             "tax_class": TaxClass}
    for column, kind in kinds.items():
        value = getattr(changes, column)
        if given(value):
            if value is None:
                errors.append(InvalidInput("This value cannot be cleared",
                                           field=(_camel(column),)))
            else:
                cleaned[column] = kind(value)
    if given(changes.barcode):
        check("barcode", clean_barcode, changes.barcode, field=("barcode",))
    for column in DIMENSIONS:
        value = getattr(changes, column)
        if given(value):
            check(column, clean_dimension, column, value, field=(_camel(column),))
    raise_all(errors)
    return cleaned


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part.title() for part in rest)


async def update_variant(*, variant_id: int | None = None, sku: str | None = None,
                         changes: VariantChanges, actor: str | None = None) -> Variant:
    """Change a variant's name, price, inventory rules, barcode, weight, dimensions or tax
    class. Orders placed before keep the name, price and tax they were placed with."""
    async with changing_catalogue(actor) as change:
        query = Variant.filter(id=variant_id) if variant_id is not None else \
            Variant.filter(sku=sku)
        variant = await query.select_for_update().using_db(change.conn).first()
        if variant is None:
            raise (UnknownSku(str(sku), field=("sku",)) if variant_id is None
                   else NotFound("Variant", str(variant_id), field=("id",)))
        cleaned = clean_variant_changes(changes, variant)
        if cleaned:
            variant.update_from_dict({**cleaned, "updated_at": datetime.now(UTC)})
            await variant.save(using_db=change.conn)
            change.record(EventType.VARIANT_UPDATED, variant.sku, skus=[variant.sku])
    return variant


async def _channel(conn: BaseDBAsyncClient, channel_id: int | None, code: str | None) -> Channel:
    query = Channel.filter(id=channel_id) if channel_id is not None else Channel.filter(code=code)
    channel = await query.select_for_update().using_db(conn).first()
    if channel is None:
        raise (UnknownChannel(str(code), field=("code",)) if channel_id is None
               else NotFound("Channel", str(channel_id), field=("id",)))
    return channel


async def update_channel(*, channel_id: int | None = None, code: str | None = None,
                         name: Any = UNSET, locations: Any = UNSET,
                         prices_include_tax: Any = UNSET,
                         scope: Scope | None = None, actor: str | None = None) -> Channel:
    """Rename a channel, set the locations that serve it (codes, in the order routing
    prefers them between otherwise equal locations), or whether its prices include tax
    (orders placed before keep theirs). The currency and kind stay: orders and prices are
    in the channel's currency."""
    errors: list[DomainError] = []
    clean_name = None
    if given(name):
        try:
            clean_name = v.required_text(name, field=("name",))
        except DomainError as error:
            errors.append(error)
    if given(locations):
        if locations is None:
            errors.append(InvalidInput("Give a list of location codes (it may be empty)",
                                       field=("locations",)))
        elif len(set(locations)) != len(locations):
            errors.append(InvalidInput("A location is listed twice", field=("locations",)))
    if given(prices_include_tax) and prices_include_tax is None:
        errors.append(InvalidInput("This value cannot be cleared",
                                   field=("pricesIncludeTax",)))
    raise_all(errors)
    async with changing_catalogue(actor) as change:
        conn = change.conn
        channel = await _channel(conn, channel_id, code)
        if scope is not None:  # a partner limited to channels changes only its own
            scope.require_channel(channel.code, field="code")
        routing = False
        if given(locations):
            served = await _locations_by_code(locations, conn, field="locations")
            await ChannelLocation.filter(channel_id=channel.id).using_db(conn).delete()
            await ChannelLocation.bulk_create(
                [ChannelLocation(channel_id=channel.id, location_id=loc.id, position=i)
                 for i, loc in enumerate(served)], using_db=conn)
            routing = True
        if clean_name is not None:
            channel.name = clean_name
        taxed = given(prices_include_tax) and prices_include_tax != channel.prices_include_tax
        if taxed:
            channel.prices_include_tax = bool(prices_include_tax)
        if clean_name is not None or routing or taxed:
            channel.updated_at = datetime.now(UTC)
            await channel.save(update_fields=["name", "prices_include_tax", "updated_at"],
                               using_db=conn)
            change.record(EventType.CHANNEL_UPDATED, channel.code, skus=(), routing=True)
    return channel


@dataclass(frozen=True)
class LocationChanges:
    name: Any = UNSET
    priority: Any = UNSET
    pickup_enabled: Any = UNSET
    address: Any = UNSET
    latitude: Any = UNSET
    longitude: Any = UNSET
    active: Any = UNSET


def _clean_location_changes(changes: LocationChanges, location: Location) -> dict[str, Any]:
    """Addresses follow domain/addresses.py (through validation.address), like at creation."""
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}
    try:
        if given(changes.name):
            cleaned["name"] = v.required_text(changes.name, field=("name",))
    except DomainError as error:
        errors.append(error)
    try:
        if given(changes.address):
            cleaned["address"] = v.address(changes.address, field=("address",))
    except DomainError as error:
        errors.append(error)
    for column, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = getattr(changes, column)
        if given(value):
            if value is not None and not low <= value <= high:
                errors.append(InvalidInput(f"{column.title()} is between {low} and {high}",
                                           field=(column,)))
            cleaned[column] = value
    for column, camel in (("priority", "priority"), ("pickup_enabled", "pickupEnabled"),
                          ("active", "active")):
        value = getattr(changes, column)
        if given(value):
            if value is None:
                errors.append(InvalidInput("This value cannot be cleared", field=(camel,)))
            else:
                cleaned[column] = value
    if "priority" in cleaned and not -1_000_000 <= cleaned["priority"] <= 1_000_000:
        errors.append(InvalidInput("Priority is out of range", field=("priority",)))
    if cleaned.get("pickup_enabled") and location.kind is not LocationKind.STORE:
        errors.append(InvalidInput("Only stores can offer pickup", field=("pickupEnabled",)))
    raise_all(errors)
    return cleaned


async def update_location(*, location_id: int | None = None, code: str | None = None,
                          changes: LocationChanges, actor: str | None = None) -> Location:
    """Change a location's name, address, coordinates, pickup, priority or whether it is
    active (an inactive location serves no channel: orders are not routed to it and cannot
    be collected there; stock and orders already there stay)."""
    async with changing_catalogue(actor) as change:
        conn = change.conn
        query = Location.filter(id=location_id) if location_id is not None else \
            Location.filter(code=code)
        location = await query.select_for_update().using_db(conn).first()
        if location is None:
            raise (UnknownLocation(str(code), field=("code",)) if location_id is None
                   else NotFound("Location", str(location_id), field=("id",)))
        cleaned = _clean_location_changes(changes, location)
        if cleaned:
            location.update_from_dict({**cleaned, "updated_at": datetime.now(UTC)})
            await location.save(using_db=conn)
            change.record(EventType.LOCATION_UPDATED, location.code, skus=(), routing=True)
    return location
