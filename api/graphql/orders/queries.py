"""Order queries: order, orders, customer; and node() for orders and customers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.common import OrderStatus
from api.graphql.errors import bad_request, graphql_error, invalid_filter
from api.graphql.node import register
from api.graphql.orders.types import Customer, Order, order_page
from api.graphql.permissions import requires
from api.graphql.relay import Connection, connection, from_global_id, window
from domain.customers.models import Customer as CustomerModel
from domain.errors import DomainError, NotPermitted
from domain.orders import models
from domain.orders.search import OrderSearch, orders_matching
from domain.reports.customers import CustomerSort, customer_page


@strawberry.input(description="Every criterion given must hold.")
class OrderFilter:
    search: str | None = strawberry.field(default=None, description=(
        "The order's number, its email (or the start of it), externalId or poNumber, or "
        "part of the customer's name."))
    number: str | None = None
    status: list[OrderStatus] | None = None
    channel: str | None = strawberry.field(default=None, description="Channel code.")
    email: str | None = None
    customer_name: str | None = strawberry.field(
        default=None, description="Part of the customer's name, in any case.")
    sku: str | None = strawberry.field(default=None, description="A line of the order has it.")
    tag: str | None = strawberry.field(default=None, description="The order has this tag.")
    external_id: str | None = None
    created_from: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_to: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_after: datetime | None = strawberry.field(
        default=None, description="Inclusive (as createdFrom).")
    created_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    total_min: Decimal | None = strawberry.field(default=None, description="Inclusive.")
    total_max: Decimal | None = strawberry.field(default=None, description="Inclusive.")

    def criteria(self) -> OrderSearch:
        return OrderSearch(
            search=self.search, number=self.number, email=self.email,
            customer_name=self.customer_name, sku=self.sku, tag=self.tag,
            status=tuple(self.status or ()),
            channel=self.channel, external_id=self.external_id,
            created_from=self.created_from, created_to=self.created_to,
            created_after=self.created_after, created_before=self.created_before,
            total_min=None if self.total_min is None else str(self.total_min),
            total_max=None if self.total_max is None else str(self.total_max))


@strawberry.type
class OrderQueries:
    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="One order by global ID or by its number.")
    async def order(
        self, info: Info, id: strawberry.ID | None = None, number: str | None = None
    ) -> Order | None:
        if id is not None:
            decoded = from_global_id(id, expect="Order")
            found = await info.context.loaders.order_by_id.load(decoded[1]) if decoded else None
        elif number is not None:
            found = await info.context.scope.query(models.Order).get_or_none(number=number)
        else:
            found = None
        return Order.from_model(found) if found else None

    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="Orders, newest first.")
    async def orders(
        self, info: Info, first: int | None = None, after: str | None = None,
        filter: OrderFilter | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Order]:
        asked = window(int, first=first, after=after, last=last, before=before)
        try:
            query = orders_matching(info.context.scope,
                                    filter.criteria() if filter else OrderSearch())
        except DomainError as error:
            raise invalid_filter(error) from error
        return await order_page(query, asked)

    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="A customer by global ID or email.")
    async def customer(
        self, info: Info, id: strawberry.ID | None = None, email: str | None = None
    ) -> Customer | None:
        if id is not None:
            decoded = from_global_id(id, expect="Customer")
            found = await info.context.loaders.customer_by_id.load(decoded[1]) if decoded else None
        elif email is not None:
            found = await info.context.scope.query(CustomerModel).get_or_none(
                email=email.strip().lower())
        else:
            found = None
        return Customer.from_model(found) if found else None


@strawberry.input
class CustomerFilter:
    email_contains: str | None = None
    tag: str | None = strawberry.field(default=None, description="The customer has this tag.")


strawberry.enum(CustomerSort)


@strawberry.type
class CustomerListQueries:
    @strawberry.field(extensions=requires(Permission.REPORTS_READ),
                      description="Customers with what their orders tell, best first.")
    async def customers(
        self, info: Info, first: int | None = None, after: str | None = None,
        filter: CustomerFilter | None = None,
        sort_by: CustomerSort = CustomerSort.LIFETIME_VALUE,
        currency: Annotated[str | None, strawberry.argument(
            description="Required by LIFETIME_VALUE: values never mix.")] = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Customer]:
        asked = window(str, int, first=first, after=after, last=last, before=before)
        try:
            rows = await customer_page(
                scope=info.context.scope, sort=sort_by, currency=currency, size=asked.size,
                cursor=(asked.key[0], asked.key[1]) if asked.key else None,
                backward=asked.backward,
                email_contains=filter.email_contains if filter else None,
                tag=filter.tag if filter else None)
        except NotPermitted as error:
            raise graphql_error(error.message, "FORBIDDEN") from error
        except DomainError as error:
            raise bad_request(error.message) from error
        found = {c.id: c for c in await info.context.scope.query(CustomerModel).filter(
            id__in=[r[0] for r in rows])}
        return connection(rows, window=asked, key=lambda r: [r[1], r[0]],
                          node=lambda r: Customer.from_model(found[r[0]]))


@register("Order", Permission.ORDERS_READ)
async def _order_node(info: Info, pk: int) -> Order | None:
    found = await info.context.loaders.order_by_id.load(pk)
    return Order.from_model(found) if found else None


@register("Customer", Permission.ORDERS_READ)
async def _customer_node(info: Info, pk: int) -> Customer | None:
    found = await info.context.loaders.customer_by_id.load(pk)
    return Customer.from_model(found) if found else None
