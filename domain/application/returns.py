"""Use cases of a return: it reaches stock (receiving), payments (refunding) and orders
(an exchange places its replacement order when approved)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.application.deps import Deps
from domain.application.exchanges import Exchange, approve_exchange, cancel_exchange
from domain.errors import NotFound, PaymentFailed
from domain.orders.capture import LineRequest
from domain.payments.models import Payment, PaymentState
from domain.payments.service import request_payment
from domain.returns import service
from domain.returns.models import Return
from domain.returns.service import ReceivedLine, ReturnLineRequest

log = logging.getLogger(__name__)

__all__ = ["Approval", "Exchange", "LineRequest", "ReceivedLine", "ReturnLineRequest", "approve_exchange",
           "approve_return", "cancel_return", "decline_return", "receive_return",
           "refund_return", "request_return"]


async def request_return(
    deps: Deps, *, order_id: int, lines: Sequence[ReturnLineRequest], actor: str,
    replacement: Sequence[LineRequest] = (),
) -> Return:
    return await service.request_return(order_id=order_id, lines=lines, actor=actor,
                                        replacement=replacement)


@dataclass(frozen=True)
class Approval:
    rma: Return
    payment: Payment | None = None  # a dearer exchange's difference, asked for
    payment_error: PaymentFailed | None = None


async def approve_return(deps: Deps, *, return_id: int, actor: str) -> Approval:
    """Approve; an exchange by ``approve_exchange`` (its replacement placed and linked, the
    difference asked for in money when the replacement is dearer)."""
    if await service.is_exchange(return_id):
        exchange = await approve_exchange(deps, return_id=return_id, actor=actor)
        return Approval(exchange.rma, exchange.payment, exchange.payment_error)
    return Approval(await service.approve_return(return_id=return_id, actor=actor))


async def decline_return(deps: Deps, *, return_id: int, reason: str, actor: str) -> Return:
    return await service.decline_return(return_id=return_id, reason=reason, actor=actor)


async def cancel_return(deps: Deps, *, return_id: int, actor: str) -> Return:
    """Cancel; an approved exchange's replacement order is cancelled with it."""
    found = await Return.get_or_none(id=return_id)
    if found is None:
        raise NotFound("Return", str(return_id), field=("id",))
    return await cancel_exchange(deps, rma=found, actor=actor)


async def receive_return(deps: Deps, *, return_id: int, location_id: int,
                         lines: Sequence[ReceivedLine], actor: str) -> Return:
    """Receive units: restocked ones go back on hand with ledger rows, in one transaction.
    An exchange whose goods came back short asks for the rest on its replacement."""
    received = await service.receive_return(return_id=return_id, location_id=location_id,
                                            lines=lines, actor=actor)
    if received.replacement_order_id is not None:
        for payment in await Payment.filter(order_id=received.replacement_order_id,
                                            state=PaymentState.PENDING):
            try:
                await request_payment(payment_id=payment.id, gateways=deps.gateways,
                                      actor=actor)
            except PaymentFailed as failure:
                log.warning("asking for the rest of exchange %s failed: %s", received.id,
                            failure.message)
    return received


async def refund_return(deps: Deps, *, return_id: int, amount: Decimal | str | None,
                        include_shipping: bool, actor: str) -> Return:
    """Refund through the order's gateway once: the refund is claimed (committed) before
    the gateway is called, and a repeat repeats that same operation."""
    return await service.refund_return(return_id=return_id, amount=amount,
                                       include_shipping=include_shipping,
                                       gateways=deps.gateways, actor=actor)
