"""Company queries: companies, company, overdueOrders; node() for companies."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.companies.types import Company, CompanyLocation
from api.graphql.node import register
from api.graphql.orders.types import Order
from api.graphql.permissions import requires
from api.graphql.relay import Connection, from_global_id, id_page, window
from domain.companies import account, models


@strawberry.type
class CompanyQueries:
    @strawberry.field(extensions=requires(Permission.COMPANIES_MANAGE),
                      description="Companies (B2B), oldest first.")
    async def companies(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Company]:
        asked = window(int, first=first, after=after, last=last, before=before)
        return await id_page(info.context.scope.query(models.Company), asked,
                             newest_first=False, node=Company.from_model)

    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="A company and its account (orders, open invoices, "
                                  "balance): for its managers, and for its own contacts.")
    async def company(self, info: Info, id: strawberry.ID) -> Company | None:
        decoded = from_global_id(id, expect="Company")
        found = await info.context.scope.get(models.Company, decoded[1]) if decoded else None
        return Company.from_model(found) if found else None

    @strawberry.field(extensions=requires(Permission.COMPANIES_MANAGE),
                      description="Company orders past their payment due date and not paid, "
                                  "oldest first.")
    async def overdue_orders(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Order]:
        asked = window(int, first=first, after=after, last=last, before=before)
        return await id_page(account.overdue(info.context.scope), asked, newest_first=False,
                             node=Order.from_model)


@register("Company", Permission.ORDERS_READ)
async def _company_node(info: Info, pk: int) -> Company | None:
    found = await info.context.scope.get(models.Company, pk)
    return Company.from_model(found) if found else None


@register("CompanyLocation", Permission.ORDERS_READ)
async def _company_location_node(info: Info, pk: int) -> CompanyLocation | None:
    found = await info.context.scope.get(models.CompanyLocation, pk)
    return CompanyLocation.from_model(found) if found else None
