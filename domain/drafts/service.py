"""Draft orders: taken down by staff, changed freely, reserving nothing until completed.

A line's price is the catalogue's unless staff set it by hand: that needs the price
override permission and a reason, both checked here for every path that writes a draft.
Completing a draft is the use case ``domain.application.drafts.complete_draft``: it places
the order through capture like ``orderCreate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.access import Permission, Scope
from domain.catalog.cache import catalogue_cache
from domain.catalog.models import Channel
from domain.catalog.prices import Buyer, Price, resolve_price
from domain.companies.models import Company
from domain.customers.models import Customer
from domain.customers.service import customer_group_of
from domain.db import connection
from domain.discounts.service import CODE_RE
from domain.drafts.models import DraftOrder, DraftOrderLine, DraftSource, DraftStatus
from domain.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotPermitted,
    UnknownChannel,
    UnknownSku,
    raise_all,
)
from domain.money import parse_price, quantize
from domain.orders.capture import MAX_LINES
from domain.uow import unit_of_work


@dataclass(frozen=True)
class DraftLine:
    sku: str
    quantity: int
    unit_price: Decimal | str | None = None  # staff-set; None: the catalogue's
    price_reason: str | None = None


@dataclass(frozen=True)
class DraftSpec:
    """A draft's contents. On an update, None leaves a field as it is; ``lines`` replaces
    every line when given."""

    channel: str | None = None
    source: DraftSource | None = None
    lines: Sequence[DraftLine] | None = None
    email: str | None = None
    customer_id: int | None = None
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_method: str | None = None
    pickup_location: str | None = None
    po_number: str | None = None
    note: str | None = None
    # Redeemed when the draft is completed (VOUCHER_INVALID then if it cannot be); "" on an
    # update removes it.
    voucher_code: str | None = None
    company_id: int | None = None  # ordered for a company (B2B): its prices and terms


def _check_fields(spec: DraftSpec, errors: list[DomainError]) -> dict[str, Any]:
    """Formats and sizes of the fields given, every problem at once."""
    clean: dict[str, Any] = {}

    def check(name: str, fn: Any, value: Any, field: str, **kwargs: Any) -> None:
        if value is None:
            return
        try:
            clean[name] = fn(value, field=(field,), **kwargs)
        except DomainError as error:
            errors.append(error)

    check("email", v.email, spec.email, "email")
    check("shipping_address", v.address, spec.shipping_address, "shippingAddress")
    check("billing_address", v.address, spec.billing_address, "billingAddress")
    check("shipping_method", v.text, spec.shipping_method, "shippingMethod", max_length=v.MAX_CODE)
    check("pickup_location", v.text, spec.pickup_location, "pickupLocation",
          max_length=v.MAX_CODE)
    check("po_number", v.text, spec.po_number, "poNumber", max_length=64)
    check("note", v.text, spec.note, "note", max_length=v.MAX_TEXT)
    if spec.source is not None:
        clean["source"] = spec.source
    if spec.voucher_code is not None:
        code = spec.voucher_code.strip().upper()
        if code and not CODE_RE.fullmatch(code):
            errors.append(InvalidInput("A code is 3 to 64 letters, digits, '-' or '_'",
                                       field=("voucherCode",)))
        clean["voucher_code"] = code or None
    return clean


async def _check_lines(conn: BaseDBAsyncClient, lines: Sequence[DraftLine], channel: Channel,
                       scope: Scope, errors: list[DomainError], *,
                       buyer: Buyer) -> list[DraftOrderLine]:
    """The lines as rows: known SKUs, priced on the channel for the buyer (NO_PRICE
    otherwise) unless staff set the price, quantities, and staff-set prices only with the
    permission (NotPermitted, raised at once) and a reason."""
    if any(line.unit_price is not None for line in lines) \
            and not scope.allows(Permission.PRICE_OVERRIDE):
        raise NotPermitted(f"Setting a line's price needs {Permission.PRICE_OVERRIDE.value}")
    if len(lines) > MAX_LINES:
        errors.append(InvalidInput(f"At most {MAX_LINES} lines per order", field=("lines",)))
    route = await catalogue_cache.channel(conn, channel.code)
    assert route is not None  # the channel's row is locked or just read in this transaction
    variants = await catalogue_cache.variants(conn, [line.sku for line in lines[:MAX_LINES]])
    now = datetime.now(UTC)
    rows: list[DraftOrderLine] = []
    for i, line in enumerate(lines[:MAX_LINES]):
        at = ("lines", str(i))
        variant = variants.get(line.sku)
        try:
            v.quantity(line.quantity, field=(*at, "quantity"))
        except DomainError as error:
            errors.append(error)
        if variant is None:
            errors.append(UnknownSku(line.sku, field=(*at, "sku")))
        elif line.unit_price is None and line.quantity >= 1:  # the catalogue must price it
            try:
                resolve_price(channel=route, currency=channel.currency, buyer=buyer,
                              variant=variant, quantity=line.quantity, at=now,
                              field=(*at, "sku"))
            except DomainError as error:
                errors.append(error)
        price: Decimal | None = None
        reason: str | None = None
        if line.unit_price is not None:
            try:
                price = parse_price(line.unit_price, channel.currency, field=(*at, "unitPrice"))
                reason = v.required_text(line.price_reason or "", field=(*at, "priceReason"),
                                         max_length=500)
            except DomainError as error:
                errors.append(error)
        elif line.price_reason is not None:
            errors.append(InvalidInput("A reason goes with a price set by hand",
                                       field=(*at, "priceReason")))
        rows.append(DraftOrderLine(sku=line.sku, quantity=line.quantity, unit_price=price,
                                   price_reason=reason, position=i))
    return rows


async def _customer(scope: Scope, customer_id: int | None, errors: list[DomainError]) -> None:
    if customer_id is not None and not await scope.query(Customer).filter(
            id=customer_id).exists():
        errors.append(NotFound("Customer", str(customer_id), field=("customerId",)))


async def _company(scope: Scope, company_id: int | None, errors: list[DomainError]) -> None:
    if company_id is not None and not await scope.query(Company).filter(
            id=company_id).exists():
        errors.append(NotFound("Company", str(company_id), field=("companyId",)))


async def _buyer(conn: BaseDBAsyncClient, customer_id: int | None,
                 company_id: int | None = None) -> Buyer:
    """Whom the draft's catalogue prices are for: its customer's group, and its company's
    price list."""
    price_list_id = None
    if company_id is not None:
        company = await Company.filter(id=company_id).using_db(conn).first()
        price_list_id = company.price_list_id if company is not None else None
    return Buyer(await customer_group_of(conn, customer_id), price_list_id)


async def create_draft(*, spec: DraftSpec, scope: Scope, actor: str) -> DraftOrder:
    """Write a draft: nothing is reserved or priced for good until it is completed."""
    errors: list[DomainError] = []
    clean = _check_fields(spec, errors)
    if spec.channel is None:
        raise InvalidInput("A draft names its channel", field=("channel",))
    await _customer(scope, spec.customer_id, errors)
    await _company(scope, spec.company_id, errors)
    async with unit_of_work() as conn:
        channel = await Channel.get_or_none(code=spec.channel, using_db=conn)
        if channel is None:
            errors.append(UnknownChannel(spec.channel, field=("channel",)))
            raise_all(errors)
        assert channel is not None
        lines = await _check_lines(conn, spec.lines or [], channel, scope, errors,
                                   buyer=await _buyer(conn, spec.customer_id,
                                                      spec.company_id))
        raise_all(errors)
        draft = await DraftOrder.create(channel_id=channel.id, customer_id=spec.customer_id,
                                        company_id=spec.company_id, created_by=actor,
                                        using_db=conn, **clean)
        for line in lines:
            line.draft_id = draft.id
        await DraftOrderLine.bulk_create(lines, using_db=conn)
    return draft


@dataclass(frozen=True)
class PricedLine:
    row: DraftOrderLine
    unit_price: Decimal | None  # the staff-set price, else the catalogue's now
    total: Decimal | None  # None for an unknown SKU, or one without a price, not set by staff
    price_list_code: str | None = None  # the list the catalogue's price comes from


async def priced_lines(scope: Scope, draft_id: int, channel: str, customer_id: int | None,
                       company_id: int | None = None) -> list[PricedLine]:
    """The draft's lines at the prices completing it would use now (``resolve_price``)."""
    conn = connection()
    rows = await scope.query(DraftOrderLine).filter(draft_id=draft_id).order_by(
        "position", "id")
    route = await catalogue_cache.channel(conn, channel)
    variants = await catalogue_cache.variants(conn, [row.sku for row in rows])
    buyer = await _buyer(conn, customer_id, company_id)
    now = datetime.now(UTC)
    lines = []
    for row in rows:
        variant = variants.get(row.sku)
        if row.unit_price is not None:
            price = Price(row.unit_price, "")
        elif route is None or variant is None:
            price = None
        else:
            try:
                price = resolve_price(channel=route, currency=route.channel.currency,
                                      buyer=buyer, variant=variant, quantity=row.quantity,
                                      at=now)
            except DomainError:
                price = None
        currency = route.channel.currency if route is not None else None
        lines.append(PricedLine(
            row, price.amount if price else None,
            None if price is None or currency is None else quantize(price.amount * row.quantity,
                                                                    currency),
            price.price_list_code if price else None))
    return lines


async def lock_open_draft(conn: BaseDBAsyncClient, draft_id: int) -> DraftOrder:
    """The draft, locked; INVALID_TRANSITION once it has been completed."""
    draft = await DraftOrder.filter(id=draft_id).select_for_update().using_db(conn).first()
    if draft is None:
        raise NotFound("DraftOrder", str(draft_id), field=("id",))
    if draft.status is not DraftStatus.OPEN:
        raise InvalidTransition("Draft order", str(draft.id), draft.status, "changed")
    return draft


async def update_draft(*, draft_id: int, spec: DraftSpec, scope: Scope, actor: str
                       ) -> DraftOrder:
    """Change an open draft: the fields given, and every line when lines are given."""
    errors: list[DomainError] = []
    clean = _check_fields(spec, errors)
    await _customer(scope, spec.customer_id, errors)
    await _company(scope, spec.company_id, errors)
    async with unit_of_work() as conn:
        draft = await lock_open_draft(conn, draft_id)
        channel = await Channel.get(id=draft.channel_id, using_db=conn)
        if spec.channel is not None and spec.channel != channel.code:
            found = await Channel.get_or_none(code=spec.channel, using_db=conn)
            if found is None:
                errors.append(UnknownChannel(spec.channel, field=("channel",)))
            else:
                channel = found
        lines = None
        buyer = await _buyer(conn, spec.customer_id or draft.customer_id,
                             spec.company_id or draft.company_id)
        if spec.lines is not None:
            lines = await _check_lines(conn, spec.lines, channel, scope, errors, buyer=buyer)
        elif channel.id != draft.channel_id:  # the kept lines must suit the new channel
            kept = await DraftOrderLine.filter(draft_id=draft.id).using_db(conn)
            await _check_lines(conn, [DraftLine(ln.sku, ln.quantity, ln.unit_price,
                                                ln.price_reason) for ln in kept],
                               channel, scope, errors, buyer=buyer)
        raise_all(errors)
        for name, value in clean.items():
            setattr(draft, name, value)
        draft.channel_id = channel.id
        if spec.customer_id is not None:
            draft.customer_id = spec.customer_id
        if spec.company_id is not None:
            draft.company_id = spec.company_id
        await draft.save(using_db=conn)
        if lines is not None:
            await DraftOrderLine.filter(draft_id=draft.id).using_db(conn).delete()
            for line in lines:
                line.draft_id = draft.id
            await DraftOrderLine.bulk_create(lines, using_db=conn)
    return draft


async def delete_draft(*, draft_id: int) -> None:
    """Delete an open draft; a completed one stays, with the order it became."""
    async with unit_of_work() as conn:
        draft = await lock_open_draft(conn, draft_id)
        await draft.delete(using_db=conn)
