"""Completing a draft order: it is placed through capture like any order (routing, guarded
reservation, events, idempotency), and the draft is marked completed in that transaction."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.access import Scope
from domain.application.deps import Deps
from domain.drafts.models import DraftOrder, DraftOrderLine, DraftStatus
from domain.drafts.service import lock_open_draft
from domain.errors import InvalidInput, NotFound
from domain.events.catalogue import EventType
from domain.events.service import record_order_event
from domain.idempotency.service import IdempotencyKey
from domain.money import quantize
from domain.orders.capture import LineRequest, OrderRequest, create_order
from domain.orders.models import Order


def _lines(rows: list[DraftOrderLine]) -> list[LineRequest]:
    return [LineRequest(row.sku, row.quantity, row.unit_price) for row in rows]


async def complete_draft(
    deps: Deps, *, draft_id: int, actor: str, idempotency: IdempotencyKey | None = None,
    scope: Scope | None = None,
) -> Order:
    """Place the draft's order; the draft becomes COMPLETED and links it.

    Refused like any order (INSUFFICIENT_STOCK, UNKNOWN_SKU, a missing address ...): then
    nothing is written and the draft stays open as it was. A repeated idempotency key
    returns the order placed the first time."""
    draft = await DraftOrder.get_or_none(id=draft_id)
    if draft is None:
        raise NotFound("DraftOrder", str(draft_id), field=("id",))
    rows = list(await DraftOrderLine.filter(draft_id=draft.id).order_by("position", "id"))
    channel = await draft.channel
    request = OrderRequest(
        channel=channel.code, lines=_lines(rows), email=draft.email,
        customer_id=draft.customer_id, shipping_address=draft.shipping_address,
        billing_address=draft.billing_address, shipping_method=draft.shipping_method,
        pickup_location=draft.pickup_location, po_number=draft.po_number,
        voucher_code=draft.voucher_code,
        company_id=draft.company_id,
    )

    async def claim(conn: BaseDBAsyncClient) -> None:
        locked = await lock_open_draft(conn, draft.id)
        now = list(await DraftOrderLine.filter(draft_id=draft.id).order_by(
            "position", "id").using_db(conn))
        if locked.updated_at != draft.updated_at or _lines(now) != request.lines:
            raise InvalidInput("The draft changed while it was being completed; try again",
                               field=("id",))

    async def link(conn: BaseDBAsyncClient, order: Order) -> None:
        await DraftOrder.filter(id=draft.id).using_db(conn).update(
            status=DraftStatus.COMPLETED, order_id=order.id)
        set_by_hand = [
            f"{row.sku} at {quantize(row.unit_price, order.currency)} {order.currency} "
            f"({row.price_reason})" for row in rows if row.unit_price is not None]
        message = f"Placed from draft order {draft.id} ({draft.source.value.lower()})"
        if set_by_hand:
            message += "; prices set by staff: " + ", ".join(set_by_hand)
        if draft.note:
            message += f". Note: {draft.note}"
        await record_order_event(conn, order_id=order.id, type=EventType.ORDER_DRAFT_COMPLETED,
                                 actor=actor, message=message[:2000],
                                 data={"draft_id": draft.id})

    return await create_order(request=request, actor=actor, idempotency=idempotency,
                              carriers=deps.carriers, taxes=deps.taxes, scope=scope,
                              claim=claim, then=link)
