"""An order's payment status, derived from its payments and checked against one table."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.orders.models import PaymentStatus
from domain.payments.models import Payment, PaymentState

P = PaymentStatus
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.UNPAID: frozenset({P.AUTHORIZED, P.PARTIALLY_PAID, P.PAID, P.VOIDED}),
    P.AUTHORIZED: frozenset({P.PARTIALLY_PAID, P.PAID, P.VOIDED, P.UNPAID}),
    P.PARTIALLY_PAID: frozenset({P.PAID, P.PARTIALLY_REFUNDED, P.REFUNDED}),
    # PAID -> PARTIALLY_PAID: an order edit added to a paid order; the rest is asked for.
    # PAID -> UNPAID: an exchange's goods came back short and paid less of its replacement.
    P.PAID: frozenset({P.UNPAID, P.PARTIALLY_PAID, P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.REFUNDED}),
    P.REFUNDED: frozenset(),
    P.VOIDED: frozenset(),
}


def derive(payments: Sequence[Payment], order_total: Decimal,
           credit: Decimal = Decimal(0)) -> PaymentStatus:
    """The status from the payments, against what is due in money: the total less
    ``credit`` (what an exchange's returned goods pay of its replacement order)."""
    due = order_total - credit
    captured = sum((p.captured_amount for p in payments), Decimal(0))
    refunded = sum((p.refunded_amount for p in payments), Decimal(0))
    if refunded > 0:
        return P.REFUNDED if refunded >= captured else P.PARTIALLY_REFUNDED
    if captured > 0:
        return P.PAID if captured >= due else P.PARTIALLY_PAID
    if credit > 0 and due <= 0:
        return P.PAID  # the returned goods pay for all of it
    if any(p.state is PaymentState.AUTHORIZED for p in payments):
        return P.AUTHORIZED
    if payments and all(p.state in (PaymentState.VOIDED, PaymentState.FAILED) for p in payments) \
            and any(p.state is PaymentState.VOIDED for p in payments):
        return P.VOIDED
    return P.UNPAID
