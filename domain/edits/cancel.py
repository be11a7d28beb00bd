"""Partial cancellation: unshipped units of some lines cancelled, the rest of the order kept.

It is an order edit that lowers quantities, staged and committed at once in one transaction
(``domain.edits.commit.apply_edit``): the order row locked first, so a shipment being
created or shipped, another edit or a payment waits or has already been counted; only units
neither shipped nor in a shipment being prepared can go; their reservations are released
with ledger rows, the totals lowered, the fulfilment status recomputed (cancelling the
unshipped rest of a partly shipped order leaves it fulfilled), and what the customer paid
for the cancelled units is written as a refund charged to those lines, sent to the gateway
after commit (``domain.application.edits``). Cancelling everything that is left of an
order that shipped nothing is ``orderCancel``'s work, and refused here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.db import insert_rows
from domain.edits.commit import apply_edit
from domain.edits.models import OrderEdit, OrderEditLine
from domain.edits.service import EDITABLE, fulfilled_units
from domain.errors import InvalidInput, InvalidTransition, NotFound, QuantityExceedsRemaining
from domain.fulfillment.ports import Carrier
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.orders.capture import MAX_LINES
from domain.orders.lifecycle import lock_order
from domain.orders.models import OrderLine
from domain.taxes.ports import TaxProvider


def _checked(lines: Sequence[tuple[int, int]]) -> dict[int, int]:
    """order line -> units to cancel, from (line, quantity) pairs, each line named once."""
    if not lines:
        raise InvalidInput("Name at least one line to cancel", field=("lines",))
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"At most {MAX_LINES} lines at once", field=("lines",))
    wanted: dict[int, int] = {}
    for i, (line_id, quantity) in enumerate(lines):
        v.quantity(quantity, field=("lines", str(i), "quantity"))
        if line_id in wanted:
            raise InvalidInput("Each line may be named once", field=("lines", str(i), "lineId"))
        wanted[line_id] = quantity
    return wanted


async def cancel_lines(
    *, order_id: int, lines: Sequence[tuple[int, int]], reason: str | None,
    notify_customer: bool, carriers: Mapping[str, Carrier], actor: str,
    idempotency: IdempotencyKey | None = None, taxes: TaxProvider | None = None,
) -> OrderEdit:
    """Cancel the given units (order line id, quantity) of a pending or confirmed order; the
    committed edit that did it is returned (its refund operation, if any, to be sent)."""
    wanted = _checked(lines)
    note = v.text(reason, field=("reason",), max_length=500)

    async def run(conn: BaseDBAsyncClient) -> OrderEdit:
        order = await lock_order(conn, order_id)
        if order.status not in EDITABLE:
            raise InvalidTransition("Order", order.number or str(order.id), order.status,
                                    "partly cancelled")
        rows = {ln.id: ln for ln in await OrderLine.filter(order_id=order.id).using_db(conn)}
        pending = await fulfilled_units(conn, order.id)
        for i, (line_id, units) in enumerate(wanted.items()):
            line = rows.get(line_id)
            if line is None:
                raise NotFound("Order line", str(line_id), field=("lines", str(i), "lineId"))
            open_units = line.quantity - line.quantity_shipped - pending.get(line.id, 0)
            if units > open_units:
                raise QuantityExceedsRemaining(
                    f"{line.sku}: only units neither shipped nor in a shipment being prepared "
                    "can be cancelled", units, open_units,
                    field=("lines", str(i), "quantity"))
        if all(line.quantity == wanted.get(line.id, 0) for line in rows.values()):
            raise InvalidInput("That cancels the whole order: use orderCancel",
                               field=("lines",))
        edit = await OrderEdit.create(order_id=order.id, base_version=order.event_seq,
                                      created_by=actor, using_db=conn)
        await insert_rows(conn, [
            OrderEditLine(edit_id=edit.id, order_line_id=line_id, sku=rows[line_id].sku,
                          quantity=rows[line_id].quantity - units,
                          unit_price=rows[line_id].unit_price, position=rows[line_id].position)
            for line_id, units in wanted.items()])
        await apply_edit(conn, edit, order, notify_customer=notify_customer, note=note,
                         carriers=carriers, taxes=taxes, actor=actor, cancelled=wanted)
        return edit

    return await idempotent(
        key=idempotency, operation="orderLinesCancel",
        request=[order_id, sorted(wanted.items()), note, notify_customer], run=run,
        encode=lambda edit: {"edit": edit.id},
        decode=lambda result: OrderEdit.get(id=result["edit"]))
