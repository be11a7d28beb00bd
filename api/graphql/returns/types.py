"""GraphQL types of returns."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.graphql.common import Money
from api.graphql.relay import Node, to_global_id
from domain.returns import models
from domain.returns.models import ReturnStatus

if TYPE_CHECKING:
    from api.graphql.orders.types import Order, OrderLine

strawberry.enum(ReturnStatus)
OrderType = Annotated["Order", strawberry.lazy("api.graphql.orders.types")]
OrderLineType = Annotated["OrderLine", strawberry.lazy("api.graphql.orders.types")]


@strawberry.type
class ReturnLine:
    quantity: int
    reason: str | None
    quantity_received: int
    quantity_restocked: int
    order_line_pk: strawberry.Private[int]
    currency: strawberry.Private[str]

    @strawberry.field(description="Whether the received units went back to sellable stock.")
    def restock(self) -> bool:
        return self.quantity_restocked > 0

    @strawberry.field
    async def order_line(self, info: Info) -> OrderLineType:
        from api.graphql.orders.types import OrderLine

        line = await info.context.loaders.order_line_by_id.load(self.order_line_pk)
        return OrderLine.from_model(line, self.currency)


@strawberry.type
class Return(Node):
    id: strawberry.ID
    status: ReturnStatus
    decline_reason: str | None
    refund_total: Money | None
    created_at: datetime
    pk: strawberry.Private[int]
    order_pk: strawberry.Private[int]
    replacement_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.Return, currency: str) -> Return:
        return cls(id=to_global_id("Return", m.id), pk=m.id, order_pk=m.order_id,
                   replacement_pk=m.replacement_order_id,
                   status=m.status, decline_reason=m.decline_reason,
                   refund_total=Money.of(m.refund_total, currency)
                   if m.refund_total is not None else None, created_at=m.created_at)

    @strawberry.field
    async def order(self, info: Info) -> OrderType:
        from api.graphql.orders.types import Order

        return Order.from_model(await info.context.loaders.order_by_id.load(self.order_pk))

    @strawberry.field(description="For an exchange: the order sending the replacement.")
    async def replacement_order(self, info: Info) -> OrderType | None:
        from api.graphql.orders.types import Order

        if self.replacement_pk is None:
            return None
        return Order.from_model(await info.context.loaders.order_by_id.load(self.replacement_pk))

    @strawberry.field
    async def lines(self, info: Info) -> list[ReturnLine]:
        order = await info.context.loaders.order_by_id.load(self.order_pk)
        rows = await info.context.loaders.return_lines_by_return.load(self.pk)
        return [ReturnLine(quantity=r.quantity, reason=r.reason,
                           quantity_received=r.quantity_received,
                           quantity_restocked=r.quantity_restocked,
                           order_line_pk=r.order_line_id, currency=order.currency) for r in rows]
