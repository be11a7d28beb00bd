"""GraphQL types of orders: Order, OrderLine, Allocation, OrderEvent, Customer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info
from tortoise.queryset import QuerySet

from api.auth import Permission
from api.graphql.annotations.types import METADATA, TAGS, MetadataItem, metadata_of, tags_of
from api.graphql.catalog.types import Channel, Location, Variant
from api.graphql.common import (
    Address,
    FulfillmentStatus,
    HoldKind,
    Money,
    OrderStatus,
    PaymentStatus,
)
from api.graphql.companies.enums import PaymentTerms
from api.graphql.discounts.types import DiscountAllocation, OrderDiscount
from api.graphql.fulfillment.types import Shipment
from api.graphql.invoices.types import Invoice
from api.graphql.payments.types import Payment
from api.graphql.permissions import requires
from api.graphql.relay import Connection, Node, Window, id_page, to_global_id, window
from api.graphql.returns.types import Return
from api.graphql.risk.types import RiskAssessment
from domain.annotations.models import ObjectKind
from domain.customers.models import Customer as CustomerModel
from domain.customers.models import CustomerNote as CustomerNoteModel
from domain.events.models import OrderEvent as OrderEventModel
from domain.invoices.models import DocumentKind
from domain.money import plain
from domain.orders import models, pricing

if TYPE_CHECKING:
    from api.graphql.companies.types import Company


@strawberry.type
class Allocation:
    quantity: int
    location_pk: strawberry.Private[int]

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load(self.location_pk))


@strawberry.type
class OrderLine:
    id: strawberry.ID
    sku: str
    name: str
    quantity: int = strawberry.field(
        description="Units the line holds now: ordered, less any cancelled since.")
    unit_price: Money
    total: Money
    quantity_backordered: int = strawberry.field(
        description="Units reserved beyond availability (backorderable variants)."
    )
    quantity_shipped: int
    quantity_returned: int
    quantity_cancelled: int = strawberry.field(
        description="Units cancelled after the order was placed (orderLinesCancel).")
    discount_amount: Money = strawberry.field(
        description="Taken off unitPrice x quantity: its promotions' share (Order.discounts), "
                    "or a marketplace's discounts.")
    tax_rate: Decimal = strawberry.field(description="Percent: 19 is 19%.")
    tax_name: str | None
    tax_amount: Money = strawberry.field(
        description="How much of total is tax (added on top of prices without tax, or part "
                    "of prices with tax).")
    price_list_code: str | None = strawberry.field(
        description="The code of the price list the unit price came from when the line was "
                    "priced (kept if the list is deleted); null: the variant's own price, or "
                    "one set by staff.")
    price_list_id: strawberry.ID | None = strawberry.field(
        description="That price list's global ID (node(id:) finds nothing once deleted).")
    pk: strawberry.Private[int]
    variant_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.OrderLine, currency: str) -> OrderLine:
        return cls(id=to_global_id("OrderLine", m.id), pk=m.id, variant_pk=m.variant_id,
                   sku=m.sku, name=m.name, quantity=m.quantity,
                   price_list_code=m.price_list_code,
                   price_list_id=to_global_id("PriceList", m.price_list_id)
                   if m.price_list_id is not None else None,
                   unit_price=Money.of(m.unit_price, currency), total=Money.of(m.total, currency),
                   quantity_backordered=m.quantity_backordered,
                   quantity_shipped=m.quantity_shipped, quantity_returned=m.quantity_returned,
                   quantity_cancelled=m.quantity_cancelled,
                   discount_amount=Money.of(m.discount_amount, currency),
                   tax_rate=plain(m.tax_rate), tax_name=m.tax_name,
                   tax_amount=Money.of(m.tax_amount, currency))

    @strawberry.field
    async def variant(self, info: Info) -> Variant | None:
        if self.variant_pk is None:
            return None
        found = await info.context.loaders.variant_by_id.load(self.variant_pk)
        return Variant.from_model(found) if found else None

    async def _active(self, info: Info) -> list[models.Allocation]:
        rows = await info.context.loaders.allocations_by_line.load(self.pk)
        return [row for row in rows if not row.released]

    @strawberry.field(description="Units currently reserved for this line.")
    async def quantity_allocated(self, info: Info) -> int:
        return sum(a.quantity for a in await self._active(info))

    @strawberry.field(description="Where this line's units are reserved.")
    async def allocations(self, info: Info) -> list[Allocation]:
        return [Allocation(quantity=a.quantity, location_pk=a.location_id)
                for a in await self._active(info)]


@strawberry.type
class OrderEvent:
    sequence: int = strawberry.field(description="1, 2, 3 ... per order, without gaps.")
    type: str
    message: str | None
    actor: str | None
    created_at: datetime
    actor_staff_pk: strawberry.Private[int | None] = None

    @strawberry.field(description="The staff member who did it (a StaffMember's ID); null "
                      "when it was the admin token, a partner app, a customer or the system.")
    def actor_staff_id(self) -> strawberry.ID | None:
        pk = self.actor_staff_pk
        return to_global_id("StaffMember", pk) if pk is not None else None

    @classmethod
    def from_model(cls, m: OrderEventModel) -> OrderEvent:
        return cls(sequence=m.sequence, type=m.type, message=m.message, actor=m.actor,
                   created_at=m.created_at, actor_staff_pk=m.actor_staff_id)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> OrderEvent:
        return cls(sequence=message["sequence"], type=message["type"],
                   message=message["message"], actor=message["actor"],
                   created_at=datetime.fromisoformat(message["created_at"]),
                   actor_staff_pk=message.get("actor_staff_id"))


@strawberry.type
class TaxLine:
    name: str
    rate: Decimal = strawberry.field(description="Percent: 19 is 19%.")
    base: Money = strawberry.field(description="What the rate taxes, net of the tax.")
    amount: Money


@strawberry.type
class Order(Node):
    id: strawberry.ID
    number: str
    email: str | None
    status: OrderStatus
    payment_status: PaymentStatus
    fulfillment_status: FulfillmentStatus
    subtotal: Money = strawberry.field(description="The lines' totals: what the customer is "
                                                  "charged for them, tax included.")
    shipping_total: Money = strawberry.field(description="Shipping, tax included.")
    total: Money
    tax_total: Money = strawberry.field(description="How much of the total is tax.")
    discount_total: Money
    prices_include_tax: bool = strawberry.field(
        description="The unit prices include tax (the channel's rule when it was placed).")
    tax_exempt: bool = strawberry.field(description="Placed by a tax-exempt buyer.")
    tax_number: str | None = strawberry.field(description="The exempt buyer's tax number.")
    payment_terms: PaymentTerms | None = strawberry.field(
        description="A company's order: its payment terms when placed.")
    payment_due_at: datetime | None = strawberry.field(
        description="A company's order: when it is due (placed + the terms' days).")
    shipping_address: Address | None
    billing_address: Address | None
    shipping_method: str | None
    po_number: str | None
    external_id: str | None
    hold_reason: str | None
    hold_kind: HoldKind | None = strawberry.field(
        description="Why the order is ON_HOLD: MANUAL or RISK (released to PENDING), STOCK, or "
                    "FULFILLMENT (a confirmed order stopped from shipping; released to "
                    "CONFIRMED).")
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    channel_pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int | None]
    pickup_pk: strawberry.Private[int | None]
    currency: strawberry.Private[str]
    risk_score: strawberry.Private[int | None]
    risk_reasons: strawberry.Private[Any]
    taxes: strawberry.Private[models.Order]
    company_pk: strawberry.Private[int | None] = None

    @classmethod
    def from_model(cls, m: models.Order) -> Order:
        return cls(
            id=to_global_id("Order", m.id), pk=m.id, channel_pk=m.channel_id,
            customer_pk=m.customer_id, pickup_pk=m.pickup_location_id, currency=m.currency,
            number=m.number or "", email=m.email, status=m.status,
            payment_status=m.payment_status, fulfillment_status=m.fulfillment_status,
            subtotal=Money.of(m.subtotal, m.currency),
            shipping_total=Money.of(m.shipping_total, m.currency),
            total=Money.of(m.total, m.currency),
            tax_total=Money.of(m.tax_total, m.currency),
            discount_total=Money.of(m.discount_total, m.currency),
            prices_include_tax=m.prices_include_tax, tax_exempt=m.tax_exempt,
            tax_number=m.tax_number, taxes=m, company_pk=m.company_id,
            payment_terms=PaymentTerms(m.payment_terms) if m.payment_terms else None,
            payment_due_at=m.payment_due_at,
            shipping_address=Address.from_json(m.shipping_address),
            billing_address=Address.from_json(m.billing_address),
            shipping_method=m.shipping_method, po_number=m.po_number, external_id=m.external_id,
            hold_reason=m.hold_reason, hold_kind=m.hold_kind, cancel_reason=m.cancel_reason,
            risk_score=m.risk_score, risk_reasons=m.risk_reasons, created_at=m.created_at,
            updated_at=m.updated_at,
        )

    @strawberry.field(extensions=requires(Permission.RISK_READ),
                      description="The risk screening at placement (staff only; null when "
                                  "the order was not screened, e.g. imported).")
    def risk(self) -> RiskAssessment | None:
        return RiskAssessment.of(self.risk_score, self.risk_reasons)

    @strawberry.field
    async def channel(self, info: Info) -> Channel:
        return Channel.from_model(await info.context.loaders.channel_by_id.load(self.channel_pk))

    @strawberry.field
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_pk is None:
            return None
        found = await info.context.loaders.customer_by_id.load(self.customer_pk)
        return Customer.from_model(found) if found else None

    @strawberry.field(description="The company it was placed for (B2B), if the caller may "
                                  "read it.")
    async def company(self, info: Info) -> Annotated[
            Company, strawberry.lazy("api.graphql.companies.types")] | None:
        if self.company_pk is None:
            return None
        from api.graphql.companies.types import Company as CompanyType
        found = await info.context.loaders.company_by_id.load(self.company_pk)
        return CompanyType.from_model(found) if found else None

    @strawberry.field(description="The store where the customer collects the order, if any.")
    async def pickup_location(self, info: Info) -> Location | None:
        if self.pickup_pk is None:
            return None
        return Location.from_model(await info.context.loaders.location_by_id.load(self.pickup_pk))

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        rows = await info.context.loaders.lines_by_order.load(self.pk)
        return [OrderLine.from_model(row, self.currency) for row in rows]

    @strawberry.field
    async def shipments(self, info: Info) -> list[Shipment]:
        rows = await info.context.loaders.shipments_by_order.load(self.pk)
        return [Shipment.from_model(row) for row in rows]

    @strawberry.field
    async def payments(self, info: Info) -> list[Payment]:
        rows = await info.context.loaders.payments_by_order.load(self.pk)
        return [Payment.from_model(row) for row in rows]

    @strawberry.field
    async def returns(self, info: Info) -> list[Return]:
        rows = await info.context.loaders.returns_by_order.load(self.pk)
        return [Return.from_model(row, self.currency) for row in rows]

    @strawberry.field(description="The tax per rate, lines and shipping together, highest "
                                  "rate first: what each rate taxes (net) and the tax.")
    async def tax_lines(self, info: Info) -> list[TaxLine]:
        rows = await info.context.loaders.lines_by_order.load(self.pk)
        return [TaxLine(name=t.name, rate=plain(t.rate),
                        base=Money.of(t.base, self.currency),
                        amount=Money.of(t.amount, self.currency))
                for t in pricing.tax_lines(self.taxes, rows)]

    @strawberry.field(description="The discounts the order was given (promotions and its "
                                  "voucher code), each with its share per line.")
    async def discounts(self, info: Info) -> list[OrderDiscount]:
        rows = await info.context.loaders.discounts_by_order.load(self.pk)
        if not rows:
            return []
        skus = {ln.position: ln.sku for ln in await info.context.loaders.lines_by_order.load(
            self.pk)}
        return [OrderDiscount(
            name=row.name, code=row.code, target=row.target,
            amount=Money.of(row.amount, self.currency),
            allocations=[DiscountAllocation(position=int(a["position"]),
                                            sku=skus.get(int(a["position"]), ""),
                                            amount=Money.of(Decimal(a["amount"]),
                                                            self.currency))
                         for a in row.lines or []]) for row in rows]

    @strawberry.field(description="The order's invoice (one, once issued: see "
                                  "invoiceSettings.issueOn), its credit notes under it.")
    async def invoices(self, info: Info) -> list[Invoice]:
        rows = await info.context.loaders.invoices_by_order.load(self.pk)
        return [Invoice.from_model(row) for row in rows if row.kind is DocumentKind.INVOICE]

    @strawberry.field(description="The order's audit trail, oldest first. Staff notes "
                      "(ORDER_NOTE_ADDED) are the shop's: a buyer's own view leaves them out.")
    async def events(self, info: Info) -> list[OrderEvent]:
        rows = await info.context.loaders.events_by_order.load(self.pk)
        return [OrderEvent.from_model(row) for row in rows]

    @strawberry.field(description=TAGS)
    async def tags(self, info: Info) -> list[str]:
        return await tags_of(info, ObjectKind.ORDER, self.pk)

    @strawberry.field(description=METADATA)
    async def metadata(self, info: Info) -> list[MetadataItem]:
        return await metadata_of(info, ObjectKind.ORDER, self.pk, private=False)

    @strawberry.field(extensions=requires(Permission.ORDERS_WRITE),
                      description="Private metadata: the shop's staff and partner apps holding "
                                  "orders:write (null, with FORBIDDEN, for anyone else).")
    async def private_metadata(self, info: Info) -> list[MetadataItem] | None:
        return await metadata_of(info, ObjectKind.ORDER, self.pk, private=True)


@strawberry.type(description="A staff note on a customer: never shown to the customer.")
class CustomerNote:
    message: str
    actor: str | None
    created_at: datetime
    actor_staff_pk: strawberry.Private[int | None] = None

    @strawberry.field(description="The staff member who wrote it (a StaffMember's ID); null "
                      "when it was the admin token or a partner app.")
    def actor_staff_id(self) -> strawberry.ID | None:
        pk = self.actor_staff_pk
        return to_global_id("StaffMember", pk) if pk is not None else None

    @classmethod
    def from_model(cls, m: CustomerNoteModel) -> CustomerNote:
        return cls(message=m.message, actor=m.actor, created_at=m.created_at,
                   actor_staff_pk=m.actor_staff_id)


@strawberry.type
class Customer(Node):
    id: strawberry.ID
    email: str
    name: str | None
    phone: str | None
    tax_exempt: bool = strawberry.field(description="Buys without tax (customerTaxExemptionSet).")
    tax_number: str | None
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: CustomerModel) -> Customer:
        return cls(id=to_global_id("Customer", m.id), pk=m.id, email=m.email, name=m.name,
                   phone=m.phone, tax_exempt=m.tax_exempt, tax_number=m.tax_number)

    @strawberry.field(description=TAGS)
    async def tags(self, info: Info) -> list[str]:
        return await tags_of(info, ObjectKind.CUSTOMER, self.pk)

    @strawberry.field(description=METADATA)
    async def metadata(self, info: Info) -> list[MetadataItem]:
        return await metadata_of(info, ObjectKind.CUSTOMER, self.pk, private=False)

    @strawberry.field(extensions=requires(Permission.CUSTOMERS_WRITE),
                      description="Private metadata: the shop's staff and partner apps holding "
                                  "customers:write (null, with FORBIDDEN, for anyone else).")
    async def private_metadata(self, info: Info) -> list[MetadataItem] | None:
        return await metadata_of(info, ObjectKind.CUSTOMER, self.pk, private=True)

    @strawberry.field(description="Staff notes, oldest first: the shop's own, so empty for "
                      "the customer themselves.")
    async def notes(self, info: Info) -> list[CustomerNote]:
        rows = await info.context.loaders.notes_by_customer.load(self.pk)
        return [CustomerNote.from_model(row) for row in rows]

    @strawberry.field(description="Orders placed, not counting cancelled ones.")
    async def order_count(self, info: Info) -> int:
        return (await info.context.loaders.insight_by_customer.load(self.pk)).order_count

    @strawberry.field(description="What the customer's orders came to, per currency.")
    async def lifetime_value(self, info: Info) -> list[Money]:
        insight = await info.context.loaders.insight_by_customer.load(self.pk)
        return [Money.of(v, c) for c, v in sorted(insight.lifetime_value.items())]

    @strawberry.field
    async def average_order_value(self, info: Info) -> list[Money]:
        insight = await info.context.loaders.insight_by_customer.load(self.pk)
        return [Money.of(v, c) for c, v in sorted(insight.average_order_value().items())]

    @strawberry.field
    async def first_order_at(self, info: Info) -> datetime | None:
        return (await info.context.loaders.insight_by_customer.load(self.pk)).first_order_at

    @strawberry.field
    async def last_order_at(self, info: Info) -> datetime | None:
        return (await info.context.loaders.insight_by_customer.load(self.pk)).last_order_at

    @strawberry.field(description="The channel of most of the customer's orders.")
    async def preferred_channel(self, info: Info) -> str | None:
        return (await info.context.loaders.insight_by_customer.load(self.pk)).preferred_channel

    @strawberry.field(description="The customer's orders, newest first.")
    async def orders(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Order]:
        query = info.context.scope.query(models.Order).filter(customer_id=self.pk)
        return await order_page(query, window(int, first=first, after=after, last=last,
                                              before=before))


async def order_page(query: QuerySet[models.Order], asked: Window) -> Connection[Order]:
    """A page of orders newest first, by keyset on the primary key."""
    return await id_page(query, asked, newest_first=True, node=Order.from_model)
