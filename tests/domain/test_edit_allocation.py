"""An edit's refund is charged to what the edit took off, each part once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from domain.orders.models import OrderLine
from domain.payments.allocation import SHIPPING, allocate_edit
from domain.payments.models import AllocationKind, RefundAllocation
from tests import factories


async def test_money_beyond_the_cuts_joins_the_shipping_part_in_one_row(db: Any) -> None:
    await factories.shop({"SHOE": {"berlin": 5}})
    order: Any = await factories.place({"SHOE": 2})
    line = await OrderLine.get(order_id=order.id)
    async with in_transaction() as conn:
        shares = await allocate_edit(conn, order=order, amount=Decimal("16.00"),
                                     operation_id=None,  # type: ignore[arg-type]
                                     reductions=[(line.id, Decimal("10.00")),
                                                 (SHIPPING, Decimal("4.00"))])
    assert sorted((s.part is SHIPPING, s.amount) for s in shares) == [
        (False, Decimal("10.00")), (True, Decimal("6.00"))]
    rows = await RefundAllocation.filter(order_id=order.id, kind=AllocationKind.EDIT)
    assert sorted((r.order_line_id is None, r.amount) for r in rows) == [
        (False, Decimal("10.00")), (True, Decimal("6.00"))]
