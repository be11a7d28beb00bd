"""GraphQL types of draft orders: DraftOrder and its lines, priced as completing would."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.catalog.types import Channel
from api.graphql.common import Address, Money
from api.graphql.orders.types import Customer, Order
from api.graphql.relay import Node, to_global_id
from domain.catalog.models import Variant
from domain.drafts import models
from domain.drafts.models import DraftSource, DraftStatus
from domain.money import quantize

strawberry.enum(DraftSource, description="Where a draft order came from.")
strawberry.enum(DraftStatus)


@strawberry.type
class DraftOrderLine:
    id: strawberry.ID
    sku: str
    quantity: int
    unit_price: Money | None = strawberry.field(
        description="The staff-set price, else the catalogue's now (none for an unknown SKU).")
    total: Money | None
    price_set_by_staff: bool
    price_reason: str | None


@strawberry.type
class DraftOrder(Node):
    id: strawberry.ID
    status: DraftStatus
    source: DraftSource
    email: str | None
    shipping_address: Address | None
    billing_address: Address | None
    shipping_method: str | None
    pickup_location: str | None = strawberry.field(description="A store's location code.")
    po_number: str | None
    note: str | None = strawberry.field(description="For staff; never shown to the buyer.")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    channel_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int | None]
    order_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.DraftOrder) -> DraftOrder:
        return cls(id=to_global_id("DraftOrder", m.id), pk=m.id, channel_pk=m.channel_id,
                   customer_pk=m.customer_id, order_pk=m.order_id, status=m.status,
                   source=m.source, email=m.email,
                   shipping_address=Address.from_json(m.shipping_address),
                   billing_address=Address.from_json(m.billing_address),
                   shipping_method=m.shipping_method, pickup_location=m.pickup_location,
                   po_number=m.po_number, note=m.note, created_by=m.created_by,
                   created_at=m.created_at, updated_at=m.updated_at)

    @strawberry.field
    async def channel(self, info: Info) -> Channel:
        return Channel.from_model(await info.context.loaders.channel_by_id.load(self.channel_pk))

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_pk is None:
            return None
        found = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return Customer.from_model(found) if found else None

    @strawberry.field(description="The order the draft became, once completed.")
    async def order(self, info: Info) -> Order | None:
        if self.order_pk is None:
            return None
        found = await info.context.loaders.order_by_id.load(self.order_pk)
        return Order.from_model(found) if found else None

    async def _lines(self, info: Info) -> list[DraftOrderLine]:
        scope = info.context.scope
        currency = (await info.context.loaders.channel_by_id.load(self.channel_pk)).currency
        rows = await scope.query(models.DraftOrderLine).filter(draft_id=self.pk).order_by(
            "position", "id")
        prices = {var.sku: var.price for var in await scope.query(Variant).filter(
            sku__in=[row.sku for row in rows])}
        lines = []
        for row in rows:
            price = row.unit_price if row.unit_price is not None else prices.get(row.sku)
            lines.append(DraftOrderLine(
                id=to_global_id("DraftOrderLine", row.id), sku=row.sku, quantity=row.quantity,
                unit_price=Money.of(price, currency) if price is not None else None,
                total=Money.of(quantize(price * row.quantity, currency), currency)
                if price is not None else None,
                price_set_by_staff=row.unit_price is not None, price_reason=row.price_reason))
        return lines

    @strawberry.field
    async def lines(self, info: Info) -> list[DraftOrderLine]:
        return await self._lines(info)

    @strawberry.field(description="What the lines come to at their prices now.")
    async def subtotal(self, info: Info) -> Money:
        currency = (await info.context.loaders.channel_by_id.load(self.channel_pk)).currency
        total = sum((Decimal(line.total.amount) for line in await self._lines(info)
                     if line.total is not None), Decimal(0))
        return Money.of(total, currency)
