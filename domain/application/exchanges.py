"""Exchanges: a return whose goods pay for a replacement order, which settles the difference.

Approving an exchange places the replacement (stock reserved like any order), then
approves the return, linking the two and recording what the returned goods pay of the
replacement (``orders.exchange_credit``: its total, up to what they are worth). The
difference is settled in money:

- a dearer replacement asks for the rest as a payment, opened on the replacement through
  the gateway the original was paid with, for that amount; the replacement's payment
  status is decided against it, not against its full total;
- a cheaper one is refunded the rest when the goods come back (``refund_return``);
- an equal one moves no money: the replacement is paid by the goods.

Cancelling an approved exchange's return cancels its replacement with it (through the
cancel use case, which voids the difference's payment); once the replacement has shipped
the return can no longer be cancelled: the goods must come back or be paid for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.application.deps import Deps
from domain.application.orders import cancel
from domain.errors import DomainError, InvalidTransition, PaymentFailed
from domain.orders.models import Order, OrderStatus
from domain.payments.models import Payment, PaymentState
from domain.payments.service import amount_due, start_payment
from domain.returns import service
from domain.returns.models import Return, ReturnStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    rma: Return
    replacement: Order
    payment: Payment | None  # the difference asked for, when the replacement is dearer
    payment_error: PaymentFailed | None  # the difference could not be asked for (yet)


async def approve_exchange(deps: Deps, *, return_id: int, actor: str) -> Exchange:
    """Place the replacement and approve the return; then ask for the difference, if any.

    A return that cannot be approved cancels the replacement it placed (through the
    cancel use case, like every cancellation), unless another approval linked it. A
    payment that cannot be opened leaves the exchange approved and the difference unpaid
    (``payment_error``): ``paymentCreate`` asks for it again, for what is due."""
    replacement = await service.place_replacement(return_id=return_id, actor=actor)
    try:
        approved = await service.approve_return(return_id=return_id, actor=actor,
                                                replacement_order_id=replacement.id)
    except DomainError:
        placed = await Order.get(id=replacement.id)
        if placed.replaces_order_id is None:
            await cancel(deps, order_id=placed.id, reason=f"return {return_id} not approved",
                         actor=actor)
        raise
    replacement = await Order.get(id=replacement.id)
    payment, error = await _ask_for_difference(deps, replacement, approved, actor=actor)
    return Exchange(approved, replacement, payment, error)


async def cancel_exchange(deps: Deps, *, rma: Return, actor: str) -> Return:
    """Cancel an approved exchange's return and its replacement; refused, with nothing
    changed, once the replacement has shipped or the return has moved on."""
    if rma.status is not ReturnStatus.APPROVED or rma.replacement_order_id is None:
        return await service.cancel_return(return_id=rma.id, actor=actor)
    replacement = await Order.get(id=rma.replacement_order_id)
    if replacement.status is not OrderStatus.CANCELLED:
        try:
            await cancel(deps, order_id=replacement.id,
                         reason=f"return {rma.id} cancelled", actor=actor)
        except InvalidTransition:
            raise InvalidTransition(
                "Return", str(rma.id), f"{rma.status.value} with replacement order "
                f"{replacement.number} on its way", ReturnStatus.CANCELLED.value) from None
    return await service.cancel_return(return_id=rma.id, actor=actor)


async def _ask_for_difference(deps: Deps, replacement: Order, rma: Return, *, actor: str
                              ) -> tuple[Payment | None, PaymentFailed | None]:
    due = amount_due(replacement)
    if due <= 0:
        return None, None
    paid_with = await Payment.filter(order_id=rma.order_id).exclude(
        state__in=[PaymentState.FAILED, PaymentState.VOIDED]).order_by("-id").first()
    if paid_with is None:  # the original is unpaid: the replacement waits for a payment too
        return None, None
    if paid_with.provider not in deps.gateways:
        return None, PaymentFailed(f"{paid_with.provider} is not configured: the difference "
                                   "is asked for with paymentCreate")
    try:
        opened = await start_payment(order_id=replacement.id, provider=paid_with.provider,
                                     method=paid_with.method, gateways=deps.gateways,
                                     actor=actor, amount=due)
    except PaymentFailed as failure:
        log.warning("asking for exchange %s's difference failed: %s", rma.id, failure.message)
        return None, failure
    return opened, None
