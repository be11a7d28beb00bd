"""GraphQL type of a payment."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.common import Money
from api.graphql.relay import Node, to_global_id
from domain.payments import models


@strawberry.type
class Payment(Node):
    id: strawberry.ID
    provider: str
    method: str
    status: str = strawberry.field(
        description="PENDING, AUTHORIZED, CAPTURED, REFUNDED, VOIDED or FAILED.")
    amount: Money
    authorized_amount: Money
    captured_amount: Money
    refunded_amount: Money
    psp_reference: str | None
    disputed: bool
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.Payment) -> Payment:
        return cls(id=to_global_id("Payment", m.id), provider=m.provider, method=m.method,
                   status=m.state.value, amount=Money.of(m.amount, m.currency),
                   authorized_amount=Money.of(m.authorized_amount, m.currency),
                   captured_amount=Money.of(m.captured_amount, m.currency),
                   refunded_amount=Money.of(m.refunded_amount, m.currency),
                   psp_reference=m.psp_reference, disputed=m.disputed, created_at=m.created_at)
