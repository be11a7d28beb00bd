"""Committing an order edit: everything it staged, applied in one transaction, or nothing.

The order row is locked first and its version (event sequence) compared with the one the
edit began from: a shipment, another edit or a payment since then makes the commit fail
with EDIT_CONFLICT, nothing changed. Then every stock row the edit touches is locked in
primary-key order (released and reserved rows together, so two edits cannot deadlock),
removed units are released, added units are routed and reserved with capture's guarded
statement (``inventory.reservation.reserve_many``: INSUFFICIENT_STOCK rolls it all back),
each with its ledger row; the lines and totals change, events are written, and what the
balance asks for is written as the intent of a payment operation: a new payment for the
difference, or a refund (charged by ``payments.allocation.allocate_edit``). The gateway is
called after commit (``domain.application.edits``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.catalog.models import BackorderPolicy, Location, Variant
from domain.db import insert_batches, insert_rows
from domain.edits.models import EditStatus, OrderEdit, OrderEditLine
from domain.edits.service import CalculatedLine, Calculation, calculate, check_quantity, require_editable
from domain.errors import EditConflict, InvalidInput, InvalidTransition, NotFound
from domain.events.catalogue import INTERNAL_EVENTS, EventType
from domain.events.models import OrderEvent
from domain.events.service import record_order_event, record_stock_changed
from domain.fulfillment.models import ShipmentLine, ShipmentStatus
from domain.fulfillment.ports import Carrier
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.inventory.reservation import ensure_levels, lock_levels, release
from domain.money import MAX_AMOUNT, quantize
from domain.orders.capture import reserve_demands
from domain.orders.lifecycle import lock_order
from domain.orders.models import Allocation, Order, OrderLine
from domain.orders.pricing import line_columns
from domain.orders.progress import refresh_progress
from domain.payments.allocation import SHIPPING, Part, allocate_edit
from domain.payments.models import OperationKind, Payment, PaymentOperation, PaymentState
from domain.payments.service import MARKETPLACE, refundable, sync_order_payment_status
from domain.routing.service import Demand, Destination, Plan
from domain.taxes.ports import TaxProvider


async def _changed_since(conn: BaseDBAsyncClient, order: Order, edit: OrderEdit) -> bool:
    """Whether the order changed since the edit began: any event but an internal one (a
    staff note changes nothing of the order)."""
    return await OrderEvent.filter(order_id=order.id, sequence__gt=edit.base_version).exclude(
        type__in=sorted(INTERNAL_EVENTS)).using_db(conn).exists()


async def commit_edit(
    *, edit_id: int, notify_customer: bool, staff_note: str | None,
    carriers: Mapping[str, Carrier], actor: str, idempotency: IdempotencyKey | None = None,
    taxes: TaxProvider | None = None,
) -> OrderEdit:
    """Apply the edit (see the module's rule); EDIT_CONFLICT when the order changed since
    the edit began, INSUFFICIENT_STOCK when added units are not there: nothing changed."""
    note = v.text(staff_note, field=("staffNote",), max_length=500)

    async def run(conn: BaseDBAsyncClient) -> OrderEdit:
        found = await OrderEdit.get_or_none(id=edit_id, using_db=conn)
        if found is None:
            raise NotFound("OrderEdit", str(edit_id), field=("id",))
        order = await lock_order(conn, found.order_id)
        edit = await OrderEdit.filter(id=edit_id).select_for_update().using_db(conn).get()
        if edit.status is not EditStatus.OPEN:
            raise InvalidTransition("Order edit", str(edit.id), edit.status,
                                    EditStatus.COMMITTED)
        if order.event_seq != edit.base_version and await _changed_since(conn, order, edit):
            raise EditConflict(order.number or str(order.id))
        await apply_edit(conn, edit, order, notify_customer=notify_customer, note=note,
                         carriers=carriers, taxes=taxes, actor=actor)
        return edit

    return await idempotent(
        key=idempotency, operation="orderEditCommit", request=[edit_id, notify_customer, note],
        run=run, encode=lambda edit: {"edit": edit.id},
        decode=lambda result: OrderEdit.get(id=result["edit"]))


async def apply_edit(
    conn: BaseDBAsyncClient, edit: OrderEdit, order: Order, *, notify_customer: bool,
    note: str | None, carriers: Mapping[str, Carrier], actor: str,
    cancelled: Mapping[int, int] | None = None, taxes: TaxProvider | None = None,
) -> None:
    """Apply an open edit to its order, both locked by the caller in its transaction, and
    mark it committed. ``cancelled`` (order line -> units) makes it a partial cancellation
    (``domain.edits.cancel``): the units are counted as cancelled on their lines and the
    timeline says ORDER_LINES_CANCELLED instead of ORDER_EDITED."""
    require_editable(order)
    calc = await calculate(conn, edit, order, carriers, taxes)
    if not calc.changed:
        raise InvalidInput("The edit changes nothing yet", field=("id",))
    if calc.total >= MAX_AMOUNT:
        raise InvalidInput(f"An order's total must be below {MAX_AMOUNT:,f} "
                           f"{order.currency}", field=("id",))
    for i, ln in enumerate(calc.lines):
        check_quantity(ln.quantity, ln.fulfilled, ln.sku, field=("lines", str(i)))
    skus = await _apply_stock_and_lines(conn, order, edit, calc, actor=actor,
                                        cancelled=cancelled or {})
    reductions = _reductions(calc)
    order.subtotal, order.shipping_total = calc.subtotal, calc.shipping_total
    order.total = calc.total
    order.shipping_method = calc.shipping_method
    order.shipping_tax, order.tax_total = calc.shipping_tax.amount, calc.tax_total
    order.discount_total = sum((ln.discount for ln in calc.lines), Decimal(0))
    await order.save(update_fields=["subtotal", "shipping_total", "total", "shipping_method",
                                    "shipping_tax", "tax_total", "discount_total",
                                    "updated_at"], using_db=conn)
    data = {"edit_id": edit.id, "notify_customer": notify_customer,
            "balance": str(quantize(calc.balance, order.currency))}
    if cancelled:
        await record_order_event(
            conn, order_id=order.id, type=EventType.ORDER_LINES_CANCELLED, actor=actor,
            message=_cancel_summary(calc, cancelled, note), data={
                **data, "reason": note,
                "lines": [{"sku": ln.sku, "cancelled": units, "to": ln.quantity}
                          for ln, units in _cancelled(calc, cancelled)]})
    else:
        await record_order_event(
            conn, order_id=order.id, type=EventType.ORDER_EDITED, actor=actor,
            message=_summary(calc), data={
                **data, "staff_note": note,
                "lines": [{"sku": ln.sku, "from": ln.original_quantity, "to": ln.quantity,
                           "change": ln.change} for ln in calc.lines
                          if ln.change != "UNCHANGED"]})
        if note:  # the staff's, kept from the buyer like every staff note
            await record_order_event(conn, order_id=order.id, type=EventType.ORDER_NOTE_ADDED,
                                     actor=actor, message=note, data={"edit_id": edit.id})
    if skus:
        await record_stock_changed(conn, skus)
    await refresh_progress(conn, order, actor=actor)  # removing the unshipped rest
    await sync_order_payment_status(conn, order, actor=actor)
    await _settle_intent(conn, order, edit, calc.balance, reductions)
    edit.status = EditStatus.COMMITTED
    edit.balance = calc.balance
    edit.staff_note, edit.notify_customer = note, notify_customer
    edit.committed_at = datetime.now(UTC)
    await edit.save(using_db=conn)


async def _apply_stock_and_lines(conn: BaseDBAsyncClient, order: Order, edit: OrderEdit,
                                 calc: Calculation, *, actor: str,
                                 cancelled: Mapping[int, int]) -> set[str]:
    """Release what the edit removes, reserve what it adds, and write the lines."""
    reference = f"order:{order.id}"
    lines = {ln.id: ln for ln in await OrderLine.filter(order_id=order.id).using_db(conn)}
    variants = {var.sku: var for var in await Variant.filter(
        sku__in=list({ln.sku for ln in calc.lines})).using_db(conn)}
    active = list(await Allocation.filter(order_line__order_id=order.id, released=False)
                  .order_by("id").using_db(conn))
    locations = await _locations(conn, order)
    demand: dict[str, int] = defaultdict(int)
    for ln in calc.lines:
        variant = variants.get(ln.sku)
        if ln.quantity > ln.original_quantity and variant is not None and variant.track_inventory:
            demand[ln.sku] += ln.quantity - ln.original_quantity
    releases = await _releases(conn, order, calc, lines, active)
    # Every row this commit changes, locked at once in primary-key order.
    variant_ids = {variants[sku].id for sku in demand} | {lines[a.order_line_id].variant_id or 0
                                                          for a, _ in releases}
    location_ids = {loc.id for loc in locations} | {a.location_id for a, _ in releases}
    backorderable = [variants[sku].id for sku in demand
                     if variants[sku].backorder_policy is BackorderPolicy.CONTINUE]
    if backorderable:
        await ensure_levels(conn, [(vid, lid) for vid in backorderable
                                   for lid in (loc.id for loc in locations)])
    await lock_levels(conn, variant_ids, location_ids)
    skus: set[str] = set()
    for allocation, units in releases:
        await release(conn, allocation.stock_level_id, units, reference=reference, actor=actor,
                      reason="order edited")
        allocation.quantity -= units
        allocation.released = allocation.quantity == 0
        await allocation.save(update_fields=["quantity", "released"], using_db=conn)
        skus.add(lines[allocation.order_line_id].sku)
    demands = [Demand(variants[sku].id, sku, units,
                      variants[sku].backorder_policy is BackorderPolicy.CONTINUE)
               for sku, units in demand.items()]
    plan, levels, movements = (Plan(), {}, []) if not demands else await reserve_demands(
        conn, demands, locations, destination=_destination(order.shipping_address),
        reference=reference, actor=actor)
    pools: dict[int, list[list[int]]] = defaultdict(list)
    for r in plan.reservations:
        pools[r.variant_id].append([r.location_id, r.quantity, r.backordered])
    added: list[tuple[OrderLine, int | None]] = []
    shares: list[tuple[OrderLine, int, int]] = []  # (line, location, units) reserved for it
    for ln in calc.lines:
        if ln.change == "UNCHANGED":
            continue
        if ln.order_line_id is None:
            variant = variants[ln.sku]
            line = OrderLine(order_id=order.id, variant_id=variant.id, sku=ln.sku,
                             name=ln.name, quantity=ln.quantity,
                             price_list_id=ln.price_list_id, price_list_code=ln.price_list_code,
                             position=len(lines) + len(added), **_money(ln))
            added.append((line, ln.staged_id))
        else:
            line = lines[ln.order_line_id]
            line.quantity = ln.quantity
            line.update_from_dict(_money(ln))
            line.quantity_cancelled += cancelled.get(line.id, 0)
            line.quantity_backordered = min(line.quantity_backordered,
                                            line.quantity - line.quantity_shipped)
        need = ln.quantity - ln.original_quantity
        known = variants.get(ln.sku)  # None: a SKU gone from the catalogue, reserving nothing
        for pool in pools.get(known.id, []) if need > 0 and known is not None else []:
            units = min(need, pool[1])
            if units:
                shares.append((line, pool[0], units))
                backordered = min(units, pool[2])
                line.quantity_backordered += backordered
                pool[1] -= units
                pool[2] -= backordered
                need -= units
        if ln.order_line_id is not None:
            await line.save(update_fields=["quantity", "quantity_backordered",
                                           "quantity_cancelled", *_money(ln)], using_db=conn)
    await insert_rows(conn, [line for line, _ in added])
    for line, staged_id in added:
        await OrderEditLine.filter(id=staged_id).using_db(conn).update(order_line_id=line.id)
    await insert_batches(conn, movements, [
        Allocation(order_line_id=line.id, location_id=location_id, quantity=units,
                   stock_level_id=levels[(line.variant_id or 0, location_id)].id)
        for line, location_id, units in shares])
    skus |= set(demand)
    await _stock_events(conn, order, releases, lines, plan, locations, variants, actor=actor)
    return skus


async def _releases(conn: BaseDBAsyncClient, order: Order, calc: Calculation,
                    lines: Mapping[int, OrderLine], active: list[Allocation]
                    ) -> list[tuple[Allocation, int]]:
    """The reserved units each lowered line gives back, keeping those its pending
    shipments need at their locations."""
    pending: dict[tuple[int, int], int] = defaultdict(int)
    for sl in await ShipmentLine.filter(shipment__order_id=order.id,
                                        shipment__status=ShipmentStatus.PENDING
                                        ).prefetch_related("shipment").using_db(conn):
        pending[(sl.order_line_id, sl.shipment.location_id)] += sl.quantity
    releases: list[tuple[Allocation, int]] = []
    for ln in calc.lines:
        if ln.order_line_id is None or ln.quantity >= ln.original_quantity:
            continue
        line = lines[ln.order_line_id]
        # Unshipped units kept after the edit; the rest of the reservation goes back.
        keep = ln.quantity - line.quantity_shipped
        mine = sorted((a for a in active if a.order_line_id == line.id),
                      key=lambda a: (-pending[(line.id, a.location_id)], a.id))
        for allocation in mine:
            needed = min(allocation.quantity, max(keep, pending[(line.id, allocation.location_id)]))
            keep -= needed
            if allocation.quantity > needed:
                releases.append((allocation, allocation.quantity - needed))
    return releases


async def _locations(conn: BaseDBAsyncClient, order: Order) -> list[Location]:
    """Where added units may be reserved: the pickup store, or the channel's locations."""
    if order.pickup_location_id is not None:
        return [await Location.get(id=order.pickup_location_id, using_db=conn)]
    return list(await Location.filter(location_channels__channel_id=order.channel_id)
                .order_by("id").using_db(conn))


def _destination(address: Mapping[str, object] | None) -> Destination | None:
    if not address:
        return None
    return Destination(address.get("country"), address.get("latitude"),  # type: ignore[arg-type]
                       address.get("longitude"))  # type: ignore[arg-type]


async def _stock_events(conn: BaseDBAsyncClient, order: Order,
                        releases: list[tuple[Allocation, int]], lines: Mapping[int, OrderLine],
                        plan: Plan, locations: list[Location], variants: Mapping[str, Variant],
                        *, actor: str) -> None:
    codes = {loc.id: loc.code for loc in locations}
    if releases:
        missing = {a.location_id for a, _ in releases} - set(codes)
        codes |= {loc.id: loc.code for loc in await Location.filter(id__in=list(missing))
                  .using_db(conn)}
        text = ", ".join(f"{units} x {lines[a.order_line_id].sku} at {codes[a.location_id]}"
                         for a, units in releases)
        await record_order_event(conn, order_id=order.id, type=EventType.STOCK_RELEASED,
                                 actor=actor, message=f"Released {text}: order edited")
    if plan.reservations:
        skus = {var.id: var.sku for var in variants.values()}
        text = ", ".join(f"{r.quantity} x {skus[r.variant_id]} at {codes[r.location_id]}"
                         + (f" ({r.backordered} backordered)" if r.backordered else "")
                         for r in plan.reservations)
        await record_order_event(
            conn, order_id=order.id, type=EventType.STOCK_RESERVED, actor="system:routing",
            message=f"Reserved {text} for the order's edit. Why: {plan.reason}.",
            data={"reservations": [{"location": codes[r.location_id],
                                    "sku": skus[r.variant_id], "quantity": r.quantity,
                                    "backordered": r.backordered}
                                   for r in plan.reservations]})


def _reductions(calc: Calculation) -> list[tuple[Part, Decimal]]:
    """What the edit took off each line (and the shipping), before the lines change."""
    cuts: list[tuple[Part, Decimal]] = []
    for ln in calc.lines:
        if ln.order_line_id is not None and ln.quantity < ln.original_quantity:
            cuts.append((ln.order_line_id, ln.original_total - ln.total))
    if calc.shipping_total < calc.order.shipping_total:
        cuts.append((SHIPPING, calc.order.shipping_total - calc.shipping_total))
    return cuts


def _summary(calc: Calculation) -> str:
    changes = ", ".join(
        f"{ln.sku} {ln.change.lower()}" + ("" if ln.change in ("ADDED", "REMOVED") else
                                            f" {ln.original_quantity} -> {ln.quantity}")
        + (f" ({ln.quantity})" if ln.change == "ADDED" else "")
        for ln in calc.lines if ln.change != "UNCHANGED")
    if calc.edit.shipping_changed:
        changes += (", " if changes else "") + f"shipping {calc.shipping_method or 'none'}"
    currency = calc.order.currency
    balance = quantize(calc.balance, currency)
    owed = (f"{balance} {currency} to collect" if balance > 0 else
            f"{-balance} {currency} to refund" if balance < 0 else "nothing to settle")
    text = (f"Order {calc.order.number} edited: {changes}; total "
            f"{quantize(calc.total, currency)} {currency}, {owed}")
    return text[:2000]


def _money(ln: CalculatedLine) -> dict[str, Any]:
    """A changed or added line's money columns."""
    return line_columns(ln.unit_price, ln.discount, ln.tax)


def _cancelled(calc: Calculation, cancelled: Mapping[int, int]
               ) -> list[tuple[CalculatedLine, int]]:
    return [(ln, cancelled[ln.order_line_id]) for ln in calc.lines
            if ln.order_line_id is not None and ln.order_line_id in cancelled]


def _cancel_summary(calc: Calculation, cancelled: Mapping[int, int], reason: str | None) -> str:
    currency = calc.order.currency
    units = ", ".join(f"{n} x {ln.sku}" for ln, n in _cancelled(calc, cancelled))
    refund = quantize(-calc.balance, currency)
    text = (f"Order {calc.order.number}: cancelled {units}; total "
            f"{quantize(calc.total, currency)} {currency}"
            + (f", {refund} {currency} to refund" if refund > 0 else ""))
    return (text + (f". Reason: {reason}" if reason else ""))[:2000]


async def _settle_intent(conn: BaseDBAsyncClient, order: Order, edit: OrderEdit,
                         balance: Decimal, reductions: list[tuple[Part, Decimal]]) -> None:
    """Write what settles the balance, for the gateway to be called after commit.

    To refund: first what is authorised but not captured is lowered (nothing to send),
    then the rest is refunded from a captured payment. To collect: a new payment for the
    difference with the provider and method the order was paid with; an order without a
    payment has none asked for (its payment, when opened, takes the new total). A
    marketplace's payment is neither refunded nor added to: that is the marketplace's.
    """
    payments = list(await Payment.filter(order_id=order.id).order_by("-id")
                    .select_for_update().using_db(conn))
    # A marketplace's payment is settled on the marketplace: nothing is asked or sent here.
    live = [p for p in payments if p.state not in (PaymentState.FAILED, PaymentState.VOIDED)
            and p.provider != MARKETPLACE]
    if balance > 0 and live:
        last = live[0]
        created = await Payment.create(order_id=order.id, provider=last.provider,
                                       method=last.method, currency=order.currency,
                                       amount=balance, using_db=conn)
        edit.payment_id = created.id
        return
    excess = -balance
    for payment in live:
        if excess <= 0:
            return
        if payment.state is PaymentState.AUTHORIZED:
            take = min(excess, payment.authorized_amount - payment.captured_amount)
            payment.authorized_amount -= take
        elif payment.state is PaymentState.PENDING and payment.provider == "manual":
            take = min(excess, payment.amount - payment.captured_amount)
        else:
            continue
        payment.amount -= take
        excess -= take
        await payment.save(update_fields=["authorized_amount", "amount", "updated_at"],
                           using_db=conn)
    if excess <= 0:
        return
    for payment in live:
        if await refundable(conn, payment) >= excess:
            attempt = await PaymentOperation.filter(payment_id=payment.id).using_db(
                conn).count() + 1
            operation = await PaymentOperation.create(
                payment_id=payment.id, kind=OperationKind.REFUND, amount=excess,
                idempotency_key=f"oms-edit-{edit.id}-refund-{attempt}", using_db=conn)
            await allocate_edit(conn, order=order, amount=excess, operation_id=operation.id,
                                reductions=reductions)
            edit.refund_operation_id = operation.id
            return
