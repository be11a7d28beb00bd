"""Pricing mutations: priceListCreate/Update/Delete, priceListEntriesSet,
customerGroupCreate, customerGroupSet.

In priceListUpdate a field left out changes nothing; ``null`` clears a value that may be
empty (the customer group: for everyone then; the dates: open-ended).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import given, run
from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of
from api.graphql.orders.types import Customer
from api.graphql.permissions import requires
from api.graphql.prices.types import CustomerGroup, PriceList
from api.graphql.relay import to_global_id
from domain.catalog import price_lists
from domain.customers import groups

T = TypeVar("T")




def _list(found: Any) -> PriceList | None:
    return PriceList.from_model(found) if found is not None else None


@strawberry.input
class PriceListCreateInput:
    code: str
    name: str
    channel: str = strawberry.field(description="The channel's code.")
    currency: str = strawberry.field(description="The channel's currency (ISO 4217).")
    customer_group: str | None = strawberry.field(
        default=None, description="A customer group's code; null: for everyone.")
    priority: int = 0
    active: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.type
class PriceListCreatePayload:
    price_list: PriceList | None
    user_errors: list[UserError]


@strawberry.input
class PriceListUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    customer_group: str | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET


@strawberry.type
class PriceListUpdatePayload:
    price_list: PriceList | None
    user_errors: list[UserError]


@strawberry.type
class PriceListDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.input
class PriceListEntryInput:
    sku: str
    amount: Decimal
    min_quantity: int = strawberry.field(
        default=1, description="The tier: this price from this many units a line.")


@strawberry.input
class PriceListEntriesSetInput:
    price_list_id: strawberry.ID
    entries: list[PriceListEntryInput] = strawberry.field(
        description="Every price of the list: those not given are removed.")


@strawberry.type
class PriceListEntriesSetPayload:
    price_list: PriceList | None
    user_errors: list[UserError]


@strawberry.input
class CustomerGroupCreateInput:
    code: str
    name: str


@strawberry.type
class CustomerGroupCreatePayload:
    customer_group: CustomerGroup | None
    user_errors: list[UserError]


@strawberry.type
class CustomerGroupSetPayload:
    customer: Customer | None
    customer_group: CustomerGroup | None
    user_errors: list[UserError]


@strawberry.type
class PriceMutations:
    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="A price list on a channel, in its currency.")
    async def price_list_create(self, info: Info,
                                input: PriceListCreateInput) -> PriceListCreatePayload:
        found, errors = await attempt(price_lists.create_price_list(
            spec=price_lists.PriceListSpec(
                code=input.code, name=input.name, channel=input.channel,
                currency=input.currency, customer_group=input.customer_group,
                priority=input.priority, active=input.active, starts_at=input.starts_at,
                ends_at=input.ends_at),
            scope=info.context.scope, actor=info.context.actor()))
        return PriceListCreatePayload(price_list=_list(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Change a price list. Orders placed before keep their "
                                     "prices.")
    async def price_list_update(self, info: Info,
                                input: PriceListUpdateInput) -> PriceListUpdatePayload:
        found, errors = await attempt(run(lambda: price_lists.update_price_list(
            price_list_id=pk_of(input.id, "PriceList", field=("id",)),
            changes=price_lists.PriceListChanges(
                name=given(input.name), customer_group=given(input.customer_group),
                priority=given(input.priority), active=given(input.active),
                starts_at=given(input.starts_at), ends_at=given(input.ends_at)),
            scope=info.context.scope, actor=info.context.actor())))
        return PriceListUpdatePayload(price_list=_list(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Delete a price list and its prices; order lines priced "
                                     "from it keep its code.")
    async def price_list_delete(self, info: Info, id: strawberry.ID) -> PriceListDeletePayload:
        found, errors = await attempt(run(lambda: price_lists.delete_price_list(
            price_list_id=pk_of(id, "PriceList", field=("id",)), scope=info.context.scope,
            actor=info.context.actor())))
        return PriceListDeletePayload(
            deleted_id=to_global_id("PriceList", found.id) if found else None,
            user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Replace every price of a list, all or nothing.")
    async def price_list_entries_set(
        self, info: Info, input: PriceListEntriesSetInput,
    ) -> PriceListEntriesSetPayload:
        found, errors = await attempt(run(lambda: price_lists.set_entries(
            price_list_id=pk_of(input.price_list_id, "PriceList", field=("priceListId",)),
            entries=[price_lists.EntrySpec(e.sku, e.min_quantity, e.amount)
                     for e in input.entries],
            scope=info.context.scope, actor=info.context.actor())))
        return PriceListEntriesSetPayload(price_list=_list(found), user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="A customer group, for price lists to name.")
    async def customer_group_create(
        self, info: Info, input: CustomerGroupCreateInput,
    ) -> CustomerGroupCreatePayload:
        found, errors = await attempt(groups.create_group(code=input.code, name=input.name))
        return CustomerGroupCreatePayload(
            customer_group=CustomerGroup.from_model(found) if found else None,
            user_errors=errors)

    @strawberry.mutation(extensions=requires(Permission.CATALOG_WRITE),
                         description="Put a customer in a group (by its code), or in none "
                                     "(null). Their next orders are priced at its lists.")
    async def customer_group_set(self, info: Info, customer_id: strawberry.ID,
                                 group: str | None = None) -> CustomerGroupSetPayload:
        result, errors = await attempt(run(lambda: groups.set_customer_group(
            customer_id=pk_of(customer_id, "Customer", field=("customerId",)), group=group,
            scope=info.context.scope)))
        customer, found = result if result is not None else (None, None)
        return CustomerGroupSetPayload(
            customer=Customer.from_model(customer) if customer else None,
            customer_group=CustomerGroup.from_model(found) if found else None,
            user_errors=errors)
