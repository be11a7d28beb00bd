"""Editing a placed order reaches stock and money: the commit changes the order, its
reservations and ledger in one transaction; then the balance is settled through the
gateway (a new payment for the difference, or a refund), recorded like every payment
operation. A gateway that fails leaves the edit committed and the operation to repeat. A
partial cancellation is such an edit, staged and committed at once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from domain.application.deps import Deps
from domain.edits import cancel as cancelling
from domain.edits import commit as committing
from domain.edits import service as editing
from domain.edits.models import OrderEdit
from domain.edits.service import Calculation
from domain.errors import PaymentFailed
from domain.idempotency.service import IdempotencyKey
from domain.payments.service import request_payment, send_operation

log = logging.getLogger(__name__)

__all__ = ["Calculation", "Committed", "add_edit_line", "begin_edit", "calculated_edit",
           "cancel_lines", "commit_edit", "set_edit_quantity", "set_edit_shipping_method"]


@dataclass(frozen=True)
class Committed:
    edit: OrderEdit
    payment_error: PaymentFailed | None = None


async def begin_edit(deps: Deps, *, order_id: int, actor: str) -> Calculation:
    edit = await editing.begin_edit(order_id=order_id, actor=actor)
    return await editing.calculated(edit_id=edit.id, carriers=deps.carriers, taxes=deps.taxes)


async def add_edit_line(deps: Deps, *, edit_id: int, sku: str, quantity: int) -> Calculation:
    await editing.add_line(edit_id=edit_id, sku=sku, quantity=quantity)
    return await editing.calculated(edit_id=edit_id, carriers=deps.carriers, taxes=deps.taxes)


async def set_edit_quantity(deps: Deps, *, edit_id: int, order_line_id: int | None,
                            staged_id: int | None, quantity: int) -> Calculation:
    await editing.set_quantity(edit_id=edit_id, order_line_id=order_line_id,
                               staged_id=staged_id, quantity=quantity)
    return await editing.calculated(edit_id=edit_id, carriers=deps.carriers, taxes=deps.taxes)


async def set_edit_shipping_method(deps: Deps, *, edit_id: int, shipping_method: str | None
                                   ) -> Calculation:
    await editing.set_shipping_method(edit_id=edit_id, shipping_method=shipping_method,
                                      carriers=deps.carriers)
    return await editing.calculated(edit_id=edit_id, carriers=deps.carriers, taxes=deps.taxes)


async def calculated_edit(deps: Deps, *, edit_id: int) -> Calculation:
    return await editing.calculated(edit_id=edit_id, carriers=deps.carriers, taxes=deps.taxes)


async def commit_edit(deps: Deps, *, edit_id: int, notify_customer: bool,
                      staff_note: str | None, actor: str,
                      idempotency: IdempotencyKey | None = None) -> Committed:
    """Commit (one transaction, nothing changed when refused); then settle the balance.
    A repeat (the same idempotency key) settles what is still unsettled, never twice."""
    edit = await committing.commit_edit(edit_id=edit_id, notify_customer=notify_customer,
                                        staff_note=staff_note, carriers=deps.carriers,
                                        taxes=deps.taxes,
                                        actor=actor, idempotency=idempotency)
    return await _settle(deps, edit, actor=actor)


async def cancel_lines(deps: Deps, *, order_id: int, lines: Sequence[tuple[int, int]],
                       reason: str | None, notify_customer: bool, actor: str,
                       idempotency: IdempotencyKey | None = None) -> Committed:
    """Cancel unshipped units of some lines (one transaction, nothing changed when
    refused); then refund what was paid for them through the payment's gateway."""
    edit = await cancelling.cancel_lines(order_id=order_id, lines=lines, reason=reason,
                                         notify_customer=notify_customer,
                                         carriers=deps.carriers, taxes=deps.taxes,
                                         actor=actor,
                                         idempotency=idempotency)
    return await _settle(deps, edit, actor=actor)


async def _settle(deps: Deps, edit: OrderEdit, *, actor: str) -> Committed:
    """Send what the committed edit asks of the gateway: its refund, or the payment for
    the difference. A repeat sends what is still unsent, never twice."""
    try:
        if edit.refund_operation_id is not None:
            await send_operation(operation_id=edit.refund_operation_id, gateways=deps.gateways,
                                 actor=actor)
        if edit.payment_id is not None:
            await request_payment(payment_id=edit.payment_id, gateways=deps.gateways,
                                  actor=actor)
    except PaymentFailed as failure:
        log.warning("settling the balance of order edit %s failed: %s", edit.id,
                    failure.message)
        return Committed(edit, failure)
    return Committed(edit)
