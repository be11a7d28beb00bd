"""GraphQL types of draft orders: DraftOrder and its lines, priced as completing would."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.graphql.catalog.types import Channel
from api.graphql.common import Address, Money
from api.graphql.orders.types import Customer, Order
from api.graphql.relay import Node, to_global_id
from domain.drafts import models
from domain.drafts.models import DraftSource, DraftStatus
from domain.drafts.service import PricedLine, priced_lines

strawberry.enum(DraftSource, description="Where a draft order came from.")
strawberry.enum(DraftStatus)


@strawberry.type
class DraftOrderLine:
    id: strawberry.ID
    sku: str
    quantity: int
    unit_price: Money | None = strawberry.field(
        description="The staff-set price, else the catalogue's now (none for an unknown SKU "
                    "or one without a price on the channel).")
    total: Money | None
    price_set_by_staff: bool
    price_reason: str | None
    price_list_code: str | None = strawberry.field(
        default=None, description="The price list the catalogue's price comes from now.")


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
    voucher_code: str | None = strawberry.field(
        description="The voucher code completing the draft redeems.")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    channel_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int | None]
    order_pk: strawberry.Private[int | None]
    company_pk: strawberry.Private[int | None] = None
    priced: strawberry.Private[asyncio.Task[list[PricedLine]] | None] = None

    @classmethod
    def from_model(cls, m: models.DraftOrder) -> DraftOrder:
        return cls(id=to_global_id("DraftOrder", m.id), pk=m.id, channel_pk=m.channel_id,
                   customer_pk=m.customer_id, order_pk=m.order_id, status=m.status,
                   source=m.source, email=m.email,
                   shipping_address=Address.from_json(m.shipping_address),
                   billing_address=Address.from_json(m.billing_address),
                   shipping_method=m.shipping_method, pickup_location=m.pickup_location,
                   po_number=m.po_number, note=m.note, voucher_code=m.voucher_code,
                   created_by=m.created_by, created_at=m.created_at, updated_at=m.updated_at,
                   company_pk=m.company_id)

    @strawberry.field
    async def channel(self, info: Info) -> Channel:
        return Channel.from_model(await info.context.loaders.channel_by_id.load(self.channel_pk))

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_pk is None:
            return None
        found = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return Customer.from_model(found) if found else None

    @strawberry.field(description="The company it is ordered for (B2B).")
    async def company_id(self) -> strawberry.ID | None:
        return to_global_id("Company", self.company_pk) if self.company_pk else None

    @strawberry.field(description="The order the draft became, once completed.")
    async def order(self, info: Info) -> Order | None:
        if self.order_pk is None:
            return None
        found = await info.context.loaders.order_by_id.load(self.order_pk)
        return Order.from_model(found) if found else None

    def _priced(self, info: Info) -> asyncio.Task[list[PricedLine]]:
        """The priced lines, read once for both lines and subtotal."""
        if self.priced is None:
            async def load() -> list[PricedLine]:
                channel = await info.context.loaders.channel_by_id.load(self.channel_pk)
                return await priced_lines(info.context.scope, self.pk, channel.code,
                                          self.customer_pk, self.company_pk)

            self.priced = asyncio.ensure_future(load())
        return self.priced

    @strawberry.field
    async def lines(self, info: Info) -> list[DraftOrderLine]:
        currency = (await info.context.loaders.channel_by_id.load(self.channel_pk)).currency
        return [DraftOrderLine(
            id=to_global_id("DraftOrderLine", ln.row.id), sku=ln.row.sku,
            quantity=ln.row.quantity,
            unit_price=Money.of(ln.unit_price, currency) if ln.unit_price is not None else None,
            total=Money.of(ln.total, currency) if ln.total is not None else None,
            price_set_by_staff=ln.row.unit_price is not None, price_reason=ln.row.price_reason,
            price_list_code=ln.price_list_code)
            for ln in await self._priced(info)]

    @strawberry.field(description="What the lines come to at their prices now.")
    async def subtotal(self, info: Info) -> Money:
        currency = (await info.context.loaders.channel_by_id.load(self.channel_pk)).currency
        total = sum((ln.total for ln in await self._priced(info) if ln.total is not None),
                    Decimal(0))
        return Money.of(total, currency)
