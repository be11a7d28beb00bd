"""GraphQL types of an order edit: the calculated order and its lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.types import Info

from api.graphql.common import Money
from api.graphql.orders.types import Order
from api.graphql.relay import Node, to_global_id
from domain.edits.models import EditStatus
from domain.edits.service import Calculation

strawberry.enum(EditStatus)


@strawberry.enum(description="What an edit does to a line.")
class EditLineChange(Enum):
    ADDED = "ADDED"
    INCREASED = "INCREASED"
    DECREASED = "DECREASED"
    REMOVED = "REMOVED"
    UNCHANGED = "UNCHANGED"


@strawberry.type
class CalculatedLine:
    id: strawberry.ID = strawberry.field(description=(
        "The order line's ID, or, for a line the edit adds, the staged line's: either is "
        "what orderEditSetQuantity and orderEditRemoveLine take."))
    sku: str
    name: str
    original_quantity: int
    quantity: int
    fulfilled_quantity: int = strawberry.field(
        description="Shipped or in a shipment being prepared: these units cannot change.")
    unit_price: Money
    total: Money
    change: EditLineChange
    price_list_code: str | None = strawberry.field(
        default=None, description="The price list the unit price came from (an added line: "
                                  "the catalogue's now, for its quantity; a line already on "
                                  "the order keeps its price).")


@strawberry.type(description="An order as its edit session would make it, and the balance.")
class CalculatedOrder(Node):
    id: strawberry.ID
    status: EditStatus
    lines: list[CalculatedLine]
    shipping_method: str | None
    subtotal: Money
    shipping_total: Money
    total: Money
    original_total: Money
    covered: Money = strawberry.field(
        description="What the order's payments hold: paid less refunded, and authorised.")
    balance: Money = strawberry.field(
        description="total - covered: positive to collect, negative to refund.")
    amount_to_collect: Money
    amount_to_refund: Money
    committed_at: datetime | None
    order_pk: strawberry.Private[int]

    @classmethod
    def from_calculation(cls, calc: Calculation) -> CalculatedOrder:
        currency = calc.order.currency
        zero = Money.of(Decimal(0), currency)
        return cls(
            id=to_global_id("OrderEdit", calc.edit.id), status=calc.edit.status,
            order_pk=calc.order.id,
            lines=[CalculatedLine(
                id=to_global_id("OrderLine", ln.order_line_id) if ln.order_line_id
                else to_global_id("OrderEditLine", ln.staged_id or 0),
                sku=ln.sku, name=ln.name, original_quantity=ln.original_quantity,
                quantity=ln.quantity, fulfilled_quantity=ln.fulfilled,
                unit_price=Money.of(ln.unit_price, currency), total=Money.of(ln.total, currency),
                price_list_code=ln.price_list_code,
                change=EditLineChange(ln.change)) for ln in calc.lines],
            shipping_method=calc.shipping_method,
            subtotal=Money.of(calc.subtotal, currency),
            shipping_total=Money.of(calc.shipping_total, currency),
            total=Money.of(calc.total, currency),
            original_total=Money.of(calc.order.total, currency),
            covered=Money.of(calc.covered, currency),
            balance=Money.of(calc.balance, currency),
            amount_to_collect=Money.of(calc.balance, currency) if calc.balance > 0 else zero,
            amount_to_refund=Money.of(-calc.balance, currency) if calc.balance < 0 else zero,
            committed_at=calc.edit.committed_at)

    @strawberry.field
    async def order(self, info: Info) -> Order | None:
        found = await info.context.loaders.order_by_id.load(self.order_pk)
        return Order.from_model(found) if found else None
