"""Pricing queries: priceLists, customerGroups; node() for both."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.node import register
from api.graphql.permissions import requires
from api.graphql.prices.types import CustomerGroup, PriceList
from api.graphql.relay import Connection, id_page, window
from domain.catalog import models
from domain.customers import models as customers


@strawberry.type
class PriceQueries:
    @strawberry.field(extensions=requires(Permission.CATALOG_WRITE),
                      description="Price lists, oldest first (a partner limited to channels: "
                                  "its channels' lists).")
    async def price_lists(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None, channel: str | None = None,
    ) -> Connection[PriceList]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.PriceList)
        if channel is not None:
            query = query.filter(channel__code=channel)
        return await id_page(query, asked, newest_first=False, node=PriceList.from_model)

    @strawberry.field(extensions=requires(Permission.CATALOG_WRITE),
                      description="Customer groups, oldest first.")
    async def customer_groups(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[CustomerGroup]:
        asked = window(int, first=first, after=after, last=last, before=before)
        return await id_page(info.context.scope.query(customers.CustomerGroup), asked,
                             newest_first=False, node=CustomerGroup.from_model)


@register("PriceList", Permission.CATALOG_WRITE)
async def _price_list_node(info: Info, pk: int) -> PriceList | None:
    found = await info.context.scope.get(models.PriceList, pk)
    return PriceList.from_model(found) if found else None


@register("CustomerGroup", Permission.CATALOG_WRITE)
async def _customer_group_node(info: Info, pk: int) -> CustomerGroup | None:
    found = await info.context.scope.get(customers.CustomerGroup, pk)
    return CustomerGroup.from_model(found) if found else None
