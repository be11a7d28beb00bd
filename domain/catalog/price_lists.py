"""Managing price lists and their entries: create, change, delete, and set a list's prices.

Each change is checked whole before anything is written, is written in one transaction
with its catalogue event (``changing_catalogue``), and drops what the catalogue caches
of it in every process: a list's own settings live with its channel's entry in the cache,
its prices with their variants'. Orders already placed keep the price and list they got.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.exceptions import IntegrityError

from domain import validation as v
from domain.access import Scope
from domain.catalog.changes import changing_catalogue
from domain.catalog.lifecycle import UNSET, given
from domain.catalog.models import Channel, PriceList, PriceListEntry, Variant
from domain.customers.models import CustomerGroup
from domain.errors import (
    DomainError,
    Duplicate,
    InvalidInput,
    NotFound,
    UnknownChannel,
    UnknownSku,
    raise_all,
)
from domain.events.catalogue import EventType
from domain.money import MAX_AMOUNT, exponent, quantize, validate_currency

MAX_ENTRIES = 5000  # per priceListEntriesSet: larger lists are set in several lists
MAX_MIN_QUANTITY = 1_000_000
MAX_PRIORITY = 1_000_000


@dataclass(frozen=True)
class PriceListSpec:
    code: str
    name: str
    channel: str
    currency: str
    customer_group: str | None = None
    priority: int = 0
    active: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class PriceListChanges:
    """What to change of a list; UNSET leaves it. Its channel and currency stay: its
    prices are in that currency."""

    name: Any = UNSET
    customer_group: Any = UNSET  # a group's code; None: for everyone
    priority: Any = UNSET
    active: Any = UNSET
    starts_at: Any = UNSET
    ends_at: Any = UNSET


@dataclass(frozen=True)
class EntrySpec:
    sku: str
    min_quantity: int
    amount: Decimal | str


def _priority(value: int, errors: list[DomainError]) -> None:
    if isinstance(value, bool) or not -MAX_PRIORITY <= value <= MAX_PRIORITY:
        errors.append(InvalidInput(f"Priority is between -{MAX_PRIORITY:,} and {MAX_PRIORITY:,}",
                                   field=("priority",)))


def _window(starts_at: datetime | None, ends_at: datetime | None,
            errors: list[DomainError]) -> None:
    for value, name in ((starts_at, "startsAt"), (ends_at, "endsAt")):
        if value is not None and value.tzinfo is None:
            errors.append(InvalidInput("Give a time with its offset (UTC)", field=(name,)))
            return
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors.append(InvalidInput("A price list ends after it starts", field=("endsAt",)))


async def _group_id(conn: Any, code: str | None, errors: list[DomainError]) -> int | None:
    if code is None:
        return None
    group = await CustomerGroup.get_or_none(code=code, using_db=conn)
    if group is None:
        errors.append(NotFound("Customer group", code, field=("customerGroup",)))
        return None
    return group.id


async def create_price_list(*, spec: PriceListSpec, scope: Scope | None = None,
                            actor: str | None = None) -> PriceList:
    """A new list on a channel, in the channel's currency (INVALID_INPUT otherwise),
    for everyone or one customer group. Codes are unique (DUPLICATE)."""
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}
    for name, check in (("code", lambda: v.code(spec.code, field=("code",))),
                        ("name", lambda: v.required_text(spec.name, field=("name",))),
                        ("currency", lambda: validate_currency(spec.currency.upper()))):
        try:
            clean[name] = check()
        except DomainError as error:
            errors.append(error)
    _priority(spec.priority, errors)
    _window(spec.starts_at, spec.ends_at, errors)
    if scope is not None:
        try:
            scope.require_channel(spec.channel)
        except DomainError as error:
            errors.append(error)
    try:
        async with changing_catalogue(actor) as change:
            conn = change.conn
            channel = await Channel.get_or_none(code=spec.channel, using_db=conn)
            if channel is None:
                errors.append(UnknownChannel(spec.channel, field=("channel",)))
            elif "currency" in clean and clean["currency"] != channel.currency:
                errors.append(InvalidInput(
                    f"Channel {channel.code!r} sells in {channel.currency}: its price lists are "
                    "in that currency", field=("currency",)))
            group_id = await _group_id(conn, spec.customer_group, errors)
            if "code" in clean and await PriceList.filter(code=clean["code"]).using_db(
                    conn).exists():
                errors.append(Duplicate("Price list", clean["code"], field=("code",)))
            raise_all(errors)
            assert channel is not None
            price_list = await PriceList.create(
                code=clean["code"], name=clean["name"], channel_id=channel.id,
                currency=clean["currency"], customer_group_id=group_id,
                priority=spec.priority, active=spec.active, starts_at=spec.starts_at,
                ends_at=spec.ends_at, using_db=conn)
            change.record(EventType.PRICE_LIST_CREATED, price_list.code, skus=(), routing=True)
    except IntegrityError:  # a concurrent create of the same code
        raise Duplicate("Price list", spec.code, field=("code",)) from None
    return price_list


async def _readable(scope: Scope | None, conn: Any, price_list_id: int) -> PriceList:
    """The list, locked; NotFound when it does not exist or is not the caller's."""
    query = scope.query(PriceList) if scope is not None else PriceList.all()
    found = await query.filter(id=price_list_id).select_for_update().using_db(conn).first()
    if found is None:
        raise NotFound("Price list", str(price_list_id), field=("id",))
    return found


async def update_price_list(*, price_list_id: int, changes: PriceListChanges,
                            scope: Scope | None = None, actor: str | None = None) -> PriceList:
    """Rename a list, change its group, priority, dates, or switch it on or off."""
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}
    if given(changes.name):
        try:
            cleaned["name"] = v.required_text(changes.name, field=("name",))
        except DomainError as error:
            errors.append(error)
    for column, camel in (("priority", "priority"), ("active", "active")):
        value = getattr(changes, column)
        if given(value):
            if value is None:
                errors.append(InvalidInput("This value cannot be cleared", field=(camel,)))
            else:
                cleaned[column] = value
    if "priority" in cleaned:
        _priority(cleaned["priority"], errors)
    for column in ("starts_at", "ends_at"):
        if given(getattr(changes, column)):
            cleaned[column] = getattr(changes, column)
    async with changing_catalogue(actor) as change:
        conn = change.conn
        price_list = await _readable(scope, conn, price_list_id)
        _window(cleaned.get("starts_at", price_list.starts_at),
                cleaned.get("ends_at", price_list.ends_at), errors)
        if given(changes.customer_group):
            cleaned["customer_group_id"] = await _group_id(conn, changes.customer_group, errors)
        raise_all(errors)
        if cleaned:
            price_list.update_from_dict({**cleaned, "updated_at": datetime.now(UTC)})
            await price_list.save(using_db=conn)
            change.record(EventType.PRICE_LIST_UPDATED, price_list.code, skus=(), routing=True)
    return price_list


async def _entry_skus(conn: Any, price_list_id: int) -> list[str]:
    skus = await PriceListEntry.filter(price_list_id=price_list_id).using_db(conn).values_list(
        "variant__sku", flat=True)
    return [str(sku) for sku in skus]


async def delete_price_list(*, price_list_id: int, scope: Scope | None = None,
                            actor: str | None = None) -> PriceList:
    """Delete a list and its prices. Order lines priced from it keep its id and code."""
    async with changing_catalogue(actor) as change:
        conn = change.conn
        price_list = await _readable(scope, conn, price_list_id)
        skus = await _entry_skus(conn, price_list.id)
        await price_list.delete(using_db=conn)
        change.record(EventType.PRICE_LIST_DELETED, price_list.code, skus=skus, routing=True)
    return price_list


def _amount(value: Decimal | str, currency: str, *, field: tuple[str, ...]) -> Decimal:
    """More than zero, below the money columns' limit, in the currency's minor units."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(f"{value!r} is not a decimal amount", field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput("A price list's amount is more than zero", field=field)
    if amount >= MAX_AMOUNT:
        raise InvalidInput("An amount must be below 1,000,000,000,000", field=field)
    if quantize(amount, currency) != amount:
        raise InvalidInput(f"{currency} amounts have {exponent(currency)} decimal places "
                           "at most", field=field)
    return quantize(amount, currency)


async def set_entries(*, price_list_id: int, entries: Sequence[EntrySpec],
                      scope: Scope | None = None, actor: str | None = None) -> PriceList:
    """Replace every price of a list with ``entries``, all or nothing: each amount more
    than zero in the list's currency's minor units, each minimum quantity 1 or more, each
    SKU known (UNKNOWN_SKU naming its index), no SKU and minimum quantity twice."""
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"At most {MAX_ENTRIES} entries at once", field=("entries",))
    async with changing_catalogue(actor) as change:
        conn = change.conn
        price_list = await _readable(scope, conn, price_list_id)
        currency = price_list.currency
        variants = {var.sku: var.id for var in await Variant.filter(
            sku__in=sorted({e.sku for e in entries})).using_db(conn)}
        errors: list[DomainError] = []
        rows: list[PriceListEntry] = []
        seen: set[tuple[str, int]] = set()
        for i, entry in enumerate(entries):
            at = ("entries", str(i))
            before = len(errors)
            if entry.sku not in variants:
                errors.append(UnknownSku(entry.sku, field=(*at, "sku")))
            if isinstance(entry.min_quantity, bool) or not 1 <= entry.min_quantity <= \
                    MAX_MIN_QUANTITY:
                errors.append(InvalidInput(
                    f"A minimum quantity is from 1 to {MAX_MIN_QUANTITY:,}",
                    field=(*at, "minQuantity")))
            elif (entry.sku, entry.min_quantity) in seen:
                errors.append(Duplicate("Price for", f"{entry.sku} from {entry.min_quantity}",
                                        field=(*at, "minQuantity")))
            seen.add((entry.sku, entry.min_quantity))
            try:
                amount = _amount(entry.amount, currency, field=(*at, "amount"))
            except DomainError as error:
                errors.append(error)
            if len(errors) == before:
                rows.append(PriceListEntry(price_list_id=price_list.id,
                                           variant_id=variants[entry.sku],
                                           min_quantity=entry.min_quantity, amount=amount))
        raise_all(errors)
        old = await _entry_skus(conn, price_list.id)
        await PriceListEntry.filter(price_list_id=price_list.id).using_db(conn).delete()
        await PriceListEntry.bulk_create(rows, using_db=conn)
        price_list.updated_at = datetime.now(UTC)
        await price_list.save(update_fields=["updated_at"], using_db=conn)
        change.record(EventType.PRICE_LIST_ENTRIES_SET, price_list.code,
                      skus=[*old, *(e.sku for e in entries)])
    return price_list
