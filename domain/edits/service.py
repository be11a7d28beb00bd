"""An order edit session: begun on a placed order, changes staged, the result calculated.

Staging writes only the session's own rows: the order, its stock and its money change
when the edit is committed (``domain.edits.commit``). Only units not yet fulfilled (shipped,
or in a shipment being prepared) can change; an order is editable while it is pending or
confirmed and not cancelled, completed or held.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.catalog.cache import catalogue_cache
from domain.catalog.models import Channel, Location, Variant
from domain.catalog.prices import Buyer, Price, resolve_price
from domain.companies.models import Company
from domain.customers.service import customer_group_of
from domain.db import connection
from domain.edits.models import EditStatus, OrderEdit, OrderEditLine
from domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    QuantityExceedsRemaining,
    UnknownSku,
    VariantArchived,
)
from domain.fulfillment.models import ShipmentLine, ShipmentStatus
from domain.fulfillment.ports import Carrier
from domain.fulfillment.rates import quote_shipping, shipping_amount
from domain.money import quantize
from domain.orders.capture import MAX_LINES
from domain.orders.lifecycle import lock_order
from domain.orders.models import Order, OrderLine, OrderStatus
from domain.orders.pricing import PricedLine, destination, price_order
from domain.payments.models import Payment, PaymentState
from domain.taxes.models import TaxClass
from domain.taxes.ports import Tax, TaxProvider
from domain.taxes.table import taxed
from domain.uow import unit_of_work

EDITABLE = (OrderStatus.PENDING, OrderStatus.CONFIRMED)


def require_editable(order: Order) -> None:
    """Pending and confirmed orders may be edited; held, cancelled and completed ones not."""
    if order.status not in EDITABLE:
        raise InvalidTransition("Order", order.number or str(order.id), order.status, "edited")


@dataclass(frozen=True)
class CalculatedLine:
    order_line_id: int | None  # None: added by the edit
    staged_id: int | None  # the edit's own row, for lines it changes or adds
    sku: str
    name: str
    original_quantity: int
    quantity: int
    fulfilled: int  # shipped, or in a shipment being prepared: these cannot change
    unit_price: Decimal
    total: Decimal  # charged, tax included (domain/orders/pricing.py)
    original_total: Decimal = Decimal(0)
    tax: Tax = field(default_factory=Tax)
    discount: Decimal = Decimal(0)
    price_list_id: int | None = None  # where an added line's price came from
    price_list_code: str | None = None

    @property
    def change(self) -> str:
        if self.order_line_id is None:
            return "ADDED"
        if self.quantity == 0:
            return "REMOVED"
        if self.quantity > self.original_quantity:
            return "INCREASED"
        return "DECREASED" if self.quantity < self.original_quantity else "UNCHANGED"


@dataclass(frozen=True)
class Calculation:
    """The order as the edit would make it, and what it means for its money."""

    edit: OrderEdit
    order: Order
    lines: list[CalculatedLine]
    shipping_method: str | None
    subtotal: Decimal
    shipping_total: Decimal
    covered: Decimal  # paid (captured less refunded) and authorised to capture
    shipping_tax: Tax = field(default_factory=Tax)

    @property
    def tax_total(self) -> Decimal:
        return sum((ln.tax.amount for ln in self.lines), self.shipping_tax.amount)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_total

    @property
    def balance(self) -> Decimal:
        """Positive: to collect from the customer; negative: to refund (or capture less)."""
        return self.total - self.covered

    @property
    def changed(self) -> bool:
        return self.edit.shipping_changed or any(ln.change != "UNCHANGED" for ln in self.lines)


def covered_by_payments(payments: list[Payment]) -> Decimal:
    """What an order's payments cover: money kept (captured less refunded) and what is
    authorised (or, offline, awaited) and not captured yet."""
    total = Decimal(0)
    for p in payments:
        total += p.captured_amount - p.refunded_amount
        if p.state is PaymentState.AUTHORIZED:
            total += p.authorized_amount - p.captured_amount
        elif p.state is PaymentState.PENDING and p.provider == "manual":
            total += p.amount - p.captured_amount
    return total


async def fulfilled_units(conn: BaseDBAsyncClient, order_id: int) -> dict[int, int]:
    """Units of each line shipped or in a pending shipment."""
    held: dict[int, int] = defaultdict(int)
    for sl in await ShipmentLine.filter(shipment__order_id=order_id,
                                        shipment__status=ShipmentStatus.PENDING).using_db(conn):
        held[sl.order_line_id] += sl.quantity
    return held


async def calculate(conn: BaseDBAsyncClient, edit: OrderEdit, order: Order,
                    carriers: Mapping[str, Carrier], taxes: TaxProvider | None = None
                    ) -> Calculation:
    """The order as the edit makes it. A line whose quantity changes keeps its price, its
    tax rate and its share of its discount per unit; an added line is taxed by ``taxes``
    (the merchant's table by default) like a new order's, at the order's destination."""
    lines = list(await OrderLine.filter(order_id=order.id).order_by("position", "id")
                 .using_db(conn))
    staged = list(await OrderEditLine.filter(edit_id=edit.id).order_by("position", "id")
                  .using_db(conn))
    pending = await fulfilled_units(conn, order.id)
    by_line = {s.order_line_id: s for s in staged if s.order_line_id is not None}
    currency = order.currency

    def retaxed(amount: Decimal, rate: Decimal, name: str | None) -> Tax:
        return taxed(amount, rate, name, currency=currency,
                     prices_include_tax=order.prices_include_tax, exempt=order.tax_exempt)

    result: list[CalculatedLine] = []
    for line in lines:
        s = by_line.get(line.id)
        quantity = s.quantity if s else line.quantity
        if quantity == line.quantity:
            tax = Tax(line.tax_rate, line.tax_name, line.tax_amount, line.total)
            discount = line.discount_amount
        else:
            discount = quantize(line.discount_amount * quantity / line.quantity, currency) \
                if line.quantity else Decimal(0)
            tax = retaxed(quantize(line.unit_price * quantity, currency) - discount,
                          line.tax_rate, line.tax_name)
        result.append(CalculatedLine(line.id, s.id if s else None, line.sku, line.name,
                                     line.quantity, quantity,
                                     line.quantity_shipped + pending.get(line.id, 0),
                                     line.unit_price, tax.charged, line.total, tax, discount,
                                     line.price_list_id, line.price_list_code))
    added = [s for s in staged if s.order_line_id is None]
    variants = {var.sku: var for var in await Variant.filter(
        sku__in=[s.sku for s in added]).using_db(conn)} if added else {}
    if added:
        money = await price_order(
            conn, currency=currency, shipping=Decimal(0), provider=taxes,
            prices_include_tax=order.prices_include_tax, exempt=order.tax_exempt,
            where=destination(order.shipping_address, await _pickup_address(conn, order),
                              order.billing_address),
            lines=[PricedLine(s.unit_price, s.quantity, variants[s.sku].tax_class
                              if s.sku in variants else TaxClass.STANDARD) for s in added])
        for s, (_, tax) in zip(added, money.lines, strict=True):
            found = variants.get(s.sku)
            result.append(CalculatedLine(None, s.id, s.sku, found.name if found else s.sku, 0,
                                         s.quantity, 0, s.unit_price, tax.charged,
                                         Decimal(0), tax, price_list_id=s.price_list_id,
                                         price_list_code=s.price_list_code))
    method = edit.shipping_method if edit.shipping_changed else order.shipping_method
    shipping_tax = Tax(order.shipping_tax_rate, order.shipping_tax_name, order.shipping_tax,
                       order.shipping_total)
    if edit.shipping_changed:
        rate = quote_shipping(carriers, method, currency,
                              pickup=order.pickup_location_id is not None)
        shipping_tax = retaxed(quantize(shipping_amount(rate), currency),
                               order.shipping_tax_rate, order.shipping_tax_name)
    payments = list(await Payment.filter(order_id=order.id).using_db(conn))
    return Calculation(edit, order, result, method,
                       quantize(sum((ln.total for ln in result), Decimal(0)), currency),
                       shipping_tax.charged, covered_by_payments(payments), shipping_tax)


async def _pickup_address(conn: BaseDBAsyncClient, order: Order) -> Any:
    if order.pickup_location_id is None:
        return None
    location = await Location.get_or_none(id=order.pickup_location_id, using_db=conn)
    return location.address if location else None


async def begin_edit(*, order_id: int, actor: str) -> OrderEdit:
    """Open an edit session on the order as it is now (its version: the event sequence)."""
    async with unit_of_work() as conn:
        order = await lock_order(conn, order_id)
        require_editable(order)
        return await OrderEdit.create(order_id=order.id, base_version=order.event_seq,
                                      created_by=actor, using_db=conn)


async def _open_edit(conn: BaseDBAsyncClient, edit_id: int) -> tuple[OrderEdit, Order]:
    edit = await OrderEdit.filter(id=edit_id).select_for_update().using_db(conn).first()
    if edit is None:
        raise NotFound("OrderEdit", str(edit_id), field=("id",))
    if edit.status is not EditStatus.OPEN:
        raise InvalidTransition("Order edit", str(edit.id), edit.status, "changed")
    order = await Order.get(id=edit.order_id, using_db=conn)
    require_editable(order)
    return edit, order


def check_quantity(quantity: int, fulfilled: int, sku: str, *, field: tuple[str, ...]) -> None:
    """A line keeps at least its fulfilled units (QUANTITY_EXCEEDS_REMAINING otherwise)."""
    v.quantity(quantity, field=field, allow_zero=True)
    if quantity < fulfilled:
        raise QuantityExceedsRemaining(f"{sku}: {fulfilled} unit(s) shipped or being shipped "
                                       "cannot be removed", fulfilled - quantity, 0,
                                       field=field)


async def _price_added(conn: BaseDBAsyncClient, order: Order, sku: str,
                       quantity: int) -> Price:
    """An added line's unit price: the catalogue's now, for the order's channel, currency
    and customer (``resolve_price``); NO_PRICE when it has none there."""
    channel = await Channel.get(id=order.channel_id, using_db=conn)
    route = await catalogue_cache.channel(conn, channel.code)
    found = (await catalogue_cache.variants(conn, [sku])).get(sku)
    if found is None:
        raise UnknownSku(sku, field=("sku",))
    if found.archived:  # no longer sold: added to no order
        raise VariantArchived(sku, field=("sku",))
    assert route is not None
    company = await Company.filter(id=order.company_id).using_db(conn).first() \
        if order.company_id is not None else None  # a company's order: its list
    buyer = Buyer(await customer_group_of(conn, order.customer_id),
                  company.price_list_id if company is not None else None)
    return resolve_price(channel=route, currency=order.currency, buyer=buyer, variant=found,
                         quantity=quantity, at=datetime.now(UTC), field=("sku",))


async def add_line(*, edit_id: int, sku: str, quantity: int) -> OrderEdit:
    """Stage a new line at the catalogue's price for this quantity, as if it were ordered
    now. Lines already on the order keep their unit price when their quantity changes:
    it is what the customer agreed to, and the lists may have changed since."""
    v.quantity(quantity, field=("quantity",))
    async with unit_of_work() as conn:
        edit, order = await _open_edit(conn, edit_id)
        price = await _price_added(conn, order, sku, quantity)
        count = await OrderLine.filter(order_id=order.id).using_db(conn).count() + \
            await OrderEditLine.filter(edit_id=edit.id, order_line_id=None).using_db(conn).count()
        if count >= MAX_LINES:
            raise InvalidInput(f"At most {MAX_LINES} lines per order", field=("sku",))
        await OrderEditLine.create(edit_id=edit.id, sku=sku, quantity=quantity,
                                   unit_price=price.amount, price_list_id=price.price_list_id,
                                   price_list_code=price.price_list_code, position=count,
                                   using_db=conn)
    return edit


async def set_quantity(*, edit_id: int, order_line_id: int | None, staged_id: int | None,
                       quantity: int) -> OrderEdit:
    """Stage a new quantity for an order line (0 removes it) or for a line the edit adds
    (0 takes it out of the edit)."""
    async with unit_of_work() as conn:
        edit, order = await _open_edit(conn, edit_id)
        if staged_id is not None:
            added = await OrderEditLine.get_or_none(id=staged_id, edit_id=edit.id,
                                                    order_line_id=None, using_db=conn)
            if added is None:
                raise NotFound("Order edit line", str(staged_id), field=("lineId",))
            v.quantity(quantity, field=("quantity",), allow_zero=True)
            if quantity == 0:
                await added.delete(using_db=conn)
            else:  # still a new line: priced for its new quantity (another tier, perhaps)
                price = await _price_added(conn, order, added.sku, quantity)
                added.quantity = quantity
                added.unit_price = price.amount
                added.price_list_id = price.price_list_id
                added.price_list_code = price.price_list_code
                await added.save(update_fields=["quantity", "unit_price", "price_list_id",
                                                "price_list_code"], using_db=conn)
            return edit
        line = await OrderLine.get_or_none(id=order_line_id, order_id=order.id, using_db=conn)
        if line is None:
            raise NotFound("Order line", str(order_line_id), field=("lineId",))
        pending = await fulfilled_units(conn, order.id)
        check_quantity(quantity, line.quantity_shipped + pending.get(line.id, 0), line.sku,
                       field=("quantity",))
        staged = await OrderEditLine.get_or_none(edit_id=edit.id, order_line_id=line.id,
                                                 using_db=conn)
        if quantity == line.quantity:
            if staged is not None:
                await staged.delete(using_db=conn)
        elif staged is None:
            await OrderEditLine.create(edit_id=edit.id, order_line_id=line.id, sku=line.sku,
                                       quantity=quantity, unit_price=line.unit_price,
                                       position=line.position, using_db=conn)
        else:
            staged.quantity = quantity
            await staged.save(update_fields=["quantity"], using_db=conn)
    return edit


async def set_shipping_method(*, edit_id: int, shipping_method: str | None,
                              carriers: Mapping[str, Carrier]) -> OrderEdit:
    """Stage another shipping method (priced from the carriers' rates, like at checkout)."""
    method = v.text(shipping_method, field=("shippingMethod",), max_length=v.MAX_CODE)
    async with unit_of_work() as conn:
        edit, order = await _open_edit(conn, edit_id)
        quote_shipping(carriers, method, order.currency,
                       pickup=order.pickup_location_id is not None)  # refuses unknown methods
        edit.shipping_method = method
        edit.shipping_changed = True
        await edit.save(update_fields=["shipping_method", "shipping_changed"], using_db=conn)
    return edit


async def calculated(*, edit_id: int, carriers: Mapping[str, Carrier],
                     taxes: TaxProvider | None = None) -> Calculation:
    """The edit's calculated order, read now."""
    conn = connection()
    edit = await OrderEdit.get_or_none(id=edit_id, using_db=conn)
    if edit is None:
        raise NotFound("OrderEdit", str(edit_id), field=("id",))
    order = await Order.get(id=edit.order_id, using_db=conn)
    return await calculate(conn, edit, order, carriers, taxes)
