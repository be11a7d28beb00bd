"""GraphQL types of pricing: PriceList, its entries, CustomerGroup."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.catalog.types import Channel
from api.graphql.common import Money
from api.graphql.relay import Connection, Node, id_page, to_global_id, window
from domain.catalog import models
from domain.customers import models as customers


@strawberry.type(description="A set of customers who buy at their own price lists.")
class CustomerGroup(Node):
    id: strawberry.ID
    code: str
    name: str

    @classmethod
    def from_model(cls, m: customers.CustomerGroup) -> CustomerGroup:
        return cls(id=to_global_id("CustomerGroup", m.id), code=m.code, name=m.name)


@strawberry.type(description="A variant's unit price in a list, from minQuantity units a line.")
class PriceListEntry:
    sku: str
    min_quantity: int
    amount: Money

    @classmethod
    def from_model(cls, m: models.PriceListEntry, currency: str) -> PriceListEntry:
        return cls(sku=m.variant.sku, min_quantity=m.min_quantity,
                   amount=Money.of(m.amount, currency))


@strawberry.type(description=(
    "Prices of a channel in its currency, for everyone or one customer group. Of the lists "
    "that apply to a line (active, within startsAt and endsAt), the customer group's wins "
    "over one for everyone, then the higher priority; its highest tier the line's quantity "
    "reaches gives the unit price. With none, the variant's own price applies when it is "
    "in the channel's currency."))
class PriceList(Node):
    id: strawberry.ID
    code: str
    name: str
    currency: str
    priority: int = strawberry.field(description="Higher wins between lists of the same kind.")
    active: bool
    starts_at: datetime | None
    ends_at: datetime | None = strawberry.field(description="Exclusive.")
    updated_at: datetime | None
    pk: strawberry.Private[int]
    channel_pk: strawberry.Private[int]
    group_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.PriceList) -> PriceList:
        return cls(id=to_global_id("PriceList", m.id), pk=m.id, channel_pk=m.channel_id,
                   group_pk=m.customer_group_id, code=m.code, name=m.name, currency=m.currency,
                   priority=m.priority, active=m.active, starts_at=m.starts_at,
                   ends_at=m.ends_at, updated_at=m.updated_at)

    @strawberry.field
    async def channel(self, info: Info) -> Channel:
        return Channel.from_model(await info.context.loaders.channel_by_id.load(self.channel_pk))

    @strawberry.field(description="null: the list is for everyone.")
    async def customer_group(self, info: Info) -> CustomerGroup | None:
        if self.group_pk is None:
            return None
        found = await info.context.scope.get(customers.CustomerGroup, self.group_pk)
        return CustomerGroup.from_model(found) if found else None

    @strawberry.field(description="The list's prices, by SKU and tier, in the order set.")
    async def entries(self, info: Info, first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None,
                      ) -> Connection[PriceListEntry]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.PriceListEntry).filter(
            price_list_id=self.pk).select_related("variant")
        currency = self.currency
        return await id_page(query, asked, newest_first=False,
                             node=lambda m: PriceListEntry.from_model(m, currency))
