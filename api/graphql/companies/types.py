"""GraphQL types of companies (B2B): Company, its locations and contacts, and its account:
orders, open invoices, balance and overdue orders."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.common import Address, Money
from api.graphql.companies.enums import CompanyContactRole, PaymentTerms
from api.graphql.invoices.types import Invoice
from api.graphql.orders.types import Customer, Order
from api.graphql.prices.types import PriceList
from api.graphql.relay import Connection, Edge, Node, id_page, to_global_id, window
from domain.catalog.models import PriceList as PriceListModel
from domain.companies import account, models
from domain.customers.models import Customer as CustomerModel
from domain.db import connection
from domain.invoices.models import Invoice as InvoiceModel


@strawberry.type(description="An address of a company (an office, a warehouse).")
class CompanyLocation(Node):
    id: strawberry.ID
    name: str
    address: Address | None

    @classmethod
    def from_model(cls, m: models.CompanyLocation) -> CompanyLocation:
        return cls(id=to_global_id("CompanyLocation", m.id), name=m.name,
                   address=Address.from_json(m.address))


@strawberry.type(description="A customer who buys for a company.")
class CompanyContact:
    role: CompanyContactRole | None
    customer_pk: strawberry.Private[int]

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        found = await info.context.scope.get(CustomerModel, self.customer_pk)
        return Customer.from_model(found) if found else None


@strawberry.type(description="An invoice of one of the company's orders not fully paid, "
                             "with what is left to pay.")
class OpenInvoice:
    invoice: Invoice
    amount_due: Money
    due_at: datetime | None = strawberry.field(description="The order's payment due date.")
    order_pk: strawberry.Private[int]

    @strawberry.field
    async def order(self, info: Info) -> Order | None:
        found = await info.context.loaders.order_by_id.load(self.order_pk)
        return Order.from_model(found) if found else None


@strawberry.type(description=(
    "A business that buys on account: its contacts' orders get its price list (above "
    "their group's and the channel's), its tax exemption and its payment terms, and must "
    "keep what it owes within its credit limit."))
class Company(Node):
    id: strawberry.ID
    code: str
    name: str
    tax_exempt: bool
    tax_number: str | None
    payment_terms: PaymentTerms
    credit_limit: Money | None = strawberry.field(
        description="The most it may owe, new order included; null: no limit.")
    po_required: bool = strawberry.field(description="Its orders need a PO number.")
    active: bool
    created_at: datetime
    pk: strawberry.Private[int]
    price_list_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.Company) -> Company:
        limit = Money.of(m.credit_limit, m.credit_currency) \
            if m.credit_limit is not None and m.credit_currency else None
        return cls(id=to_global_id("Company", m.id), pk=m.id, code=m.code, name=m.name,
                   tax_exempt=m.tax_exempt, tax_number=m.tax_number,
                   payment_terms=PaymentTerms(m.payment_terms.value), credit_limit=limit,
                   po_required=m.po_required, active=m.active, created_at=m.created_at,
                   price_list_pk=m.price_list_id)

    @strawberry.field(description="Its price list (null: none, or not the caller's to read).")
    async def price_list(self, info: Info) -> PriceList | None:
        if self.price_list_pk is None:
            return None
        found = await info.context.scope.get(PriceListModel, self.price_list_pk)
        return PriceList.from_model(found) if found else None

    @strawberry.field(description="Its addresses, oldest first.")
    async def locations(self, info: Info) -> list[CompanyLocation]:
        rows = await info.context.scope.query(models.CompanyLocation).filter(
            company_id=self.pk).order_by("id")
        return [CompanyLocation.from_model(row) for row in rows]

    @strawberry.field(description="The customers who buy for it, oldest first.")
    async def contacts(self, info: Info) -> list[CompanyContact]:
        rows = await info.context.scope.query(models.CompanyContact).filter(
            company_id=self.pk).order_by("id")
        return [CompanyContact(role=CompanyContactRole(row.role.value) if row.role else None,
                               customer_pk=row.customer_id) for row in rows]

    @strawberry.field(description="Its orders, newest first.")
    async def orders(self, info: Info, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     ) -> Connection[Order]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = account.company_orders(info.context.scope, self.pk)
        return await id_page(query, asked, newest_first=True, node=Order.from_model)

    @strawberry.field(description="What it owes, per currency: what its orders not cancelled "
                                  "still owe (their totals less the money captured).")
    async def balance(self, info: Info) -> list[Money]:
        owed = await account.balance(connection(), info.context.scope, self.pk)
        return [Money.of(amount, currency) for currency, amount in owed.items()]

    @strawberry.field(description="The invoices of its orders not fully paid, oldest first.")
    async def open_invoices(self, info: Info, first: int | None = None,
                            after: str | None = None, last: int | None = None,
                            before: str | None = None) -> Connection[OpenInvoice]:
        asked = window(int, first=first, after=after, last=last, before=before)
        page: Connection[InvoiceModel] = await id_page(
            account.open_invoices(info.context.scope, self.pk), asked, newest_first=False,
            node=lambda m: m)
        due = await account.amounts_due(connection(), [e.node.order_id for e in page.edges])
        return Connection(edges=[Edge(cursor=e.cursor, node=OpenInvoice(
            invoice=Invoice.from_model(e.node), order_pk=e.node.order_id,
            amount_due=Money.of(due[e.node.order_id][0], e.node.currency),
            due_at=due[e.node.order_id][1])) for e in page.edges], page_info=page.page_info)

    @strawberry.field(description="Its orders past their payment due date and not paid, "
                                  "oldest first.")
    async def overdue_orders(self, info: Info, first: int | None = None,
                             after: str | None = None, last: int | None = None,
                             before: str | None = None) -> Connection[Order]:
        asked = window(int, first=first, after=after, last=last, before=before)
        return await id_page(account.overdue(info.context.scope, company_id=self.pk), asked,
                             newest_first=False, node=Order.from_model)
