"""Which rows a caller may read: one rule per model, applied in SQL to every read.

A ``Scope`` is built once per request from the caller. Every read of the API goes
through ``Scope.query(Model)`` (directly, or through the request's loaders and the
domain's read functions), so ``node(id:)``, connections, nested fields, reports,
exports and subscriptions share one decision. Each model has exactly one rule in
``RULES``, and a test fails when a model has none: a new table is decided the day it
is added.

What each kind of caller sees:

- the admin: everything;
- a partner: every order, or only its channels' orders (an empty list: none), with what
  hangs off them; customers only when unlimited; stock at the locations serving its
  channels, with ``inventory:read``; its own webhook subscriptions;
- a customer: the orders it placed while signed in, and its own customer record; a
  company's contact also its company (locations, contacts) and the company's orders;
- companies: the admin, staff and unlimited partners holding ``companies:manage``; never a
  partner limited to channels;
- a guest: its one order;
- tags and public metadata: whoever may read the object they are on; private metadata
  only callers holding that kind's write permission (``ANNOTATED``);
- internal order events (staff notes, ``INTERNAL_EVENTS``) and notes on customers: never
  a customer, a guest or a storefront, even on their own order or record;
- a staff member: everything their role's permissions let them read (stock with
  ``inventory:read``, webhook subscriptions with ``webhooks:manage``), staff members and
  their sessions with ``staff:manage``, else their own;
- a storefront key and anonymous callers: the catalogue, and the orders they placed in
  the same request (the ``orderCreate`` payload), never a customer record.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from domain.access.principal import Kind, Permission, Principal
from domain.annotations.models import MetadataEntry, ObjectKind, Tag
from domain.catalog.models import (
    Channel,
    ChannelLocation,
    Location,
    PriceList,
    PriceListEntry,
    Product,
    Variant,
)
from domain.companies.models import Company, CompanyContact, CompanyLocation
from domain.customers.models import (
    Customer,
    CustomerGroup,
    CustomerNote,
    EmailVerification,
    RefreshToken,
)
from domain.deployment import Deployment
from domain.discounts.models import OrderDiscount, Promotion, Voucher, VoucherRedemption
from domain.drafts.models import DraftOrder, DraftOrderLine
from domain.edits.models import OrderEdit, OrderEditLine
from domain.errors import InvalidInput, NotFound, NotPermitted, UnknownChannel
from domain.events.catalogue import INTERNAL_EVENTS
from domain.events.models import OrderEvent, OutboxMessage
from domain.fulfillment.models import Shipment, ShipmentLine, TrackingEvent
from domain.idempotency.models import IdempotencyRecord
from domain.inventory.models import StockLevel, StockMovement
from domain.invoices.models import Invoice, InvoiceSettingsRow
from domain.marketplaces.models import (
    MarketplaceConnection,
    MarketplaceFulfillment,
    MarketplaceListing,
)
from domain.notifications.models import Notification
from domain.orders.models import Allocation, Counter, Order, OrderLine
from domain.partners.models import OAuthClient
from domain.payments.models import Payment, PaymentOperation, ProcessedWebhook, RefundAllocation
from domain.reports.models import (
    CustomerSummary,
    CustomerValue,
    FulfillmentDay,
    ParcelMonth,
    ParcelTime,
    ReportDirty,
    SalesDay,
    SalesSlot,
    SummaryDirty,
)
from domain.returns.models import Return, ReturnLine
from domain.risk.models import RiskSettingsRow
from domain.signing.models import SigningKey
from domain.staff.models import StaffMember, StaffRole, StaffSession
from domain.taxes.models import TaxRate
from domain.webhooks.models import WebhookDelivery, WebhookSubscription

M = TypeVar("M", bound=Model)
Condition = Q | bool  # True: every row; False: none
Rule = Callable[["Scope"], Condition]

# The objects that carry tags and metadata: their table, and the permission that changes
# their tags and metadata and reads their private metadata.
ANNOTATED: dict[ObjectKind, tuple[type[Model], Permission]] = {
    ObjectKind.ORDER: (Order, Permission.ORDERS_WRITE),
    ObjectKind.CUSTOMER: (Customer, Permission.CUSTOMERS_WRITE),
    ObjectKind.PRODUCT: (Product, Permission.CATALOG_WRITE),
}


class Scope:
    """The caller of one request and the rows it may read."""

    def __init__(self, principal: Principal | None) -> None:
        self.principal = principal
        self.granted_orders: set[int] = set()

    @property
    def kind(self) -> Kind | None:
        return self.principal.kind if self.principal is not None else None

    def allows(self, permission: Permission) -> bool:
        return self.principal is not None and self.principal.allows(permission)

    @property
    def unlimited(self) -> bool:
        """The admin, or a partner limited to no channel."""
        return self.principal is not None and not self.principal.scoped

    def grant_order(self, order_id: int) -> None:
        """The caller placed this order in this request: it may read it in the answer."""
        self.granted_orders.add(order_id)

    def condition(self, model: type[Model]) -> Condition:
        return RULES[model](self)

    def query(self, model: type[M]) -> QuerySet[M]:
        """Every row of ``model`` this caller may read; filter it further as needed."""
        condition = self.condition(model)
        if condition is True:
            return model.all()
        if condition is False:
            return model.filter(pk__in=[])
        return model.filter(condition)

    async def get(self, model: type[M], pk: int) -> M | None:
        return await self.query(model).get_or_none(pk=pk)

    async def require(self, model: type[Model], pk: int, *, field: str) -> None:
        """Raise NotFound unless the caller may see this row: what is not theirs does not
        exist for them."""
        if not await self.query(model).filter(pk=pk).exists():
            raise NotFound(model.__name__, str(pk), field=(field,))

    @property
    def view_key(self) -> Hashable:
        """Equal for two scopes that read the same rows and fields: everything the read rules
        look at (the caller's kind, permissions, channels, customer, order, partner, staff
        member, orders granted), less what only says how long the token lasts. Live events
        are executed once per document and view (api/graphql/live.py)."""
        return visibility(self.principal), frozenset(self.granted_orders)

    def reads_event(self, type: str) -> bool:
        """Whether this caller sees order events of this type (on orders it may read):
        internal ones are the shop's, not the buyer's."""
        return type not in INTERNAL_EVENTS or not _buyer(self)

    async def require_writable(self, kind: ObjectKind, pk: int, *, field: str = "id") -> None:
        """Raise NotPermitted unless the caller may change this kind's tags and metadata,
        then NotFound unless it may see this object."""
        model, permission = ANNOTATED[kind]
        if not self.allows(permission):
            raise NotPermitted(f"Missing permission {permission.value}")
        await self.require(model, pk, field=field)

    def require_channel(self, code: str, *, field: str = "channel") -> None:
        """Raise UnknownChannel when the caller is limited to channels and this is not one."""
        p = self.principal
        if p is not None and p.channels is not None and code not in p.channels:
            raise UnknownChannel(code, field=(field,))

    def report_channel(self, requested: str | None) -> str | None:
        """The channel a report is about: a partner limited to channels names one of its own
        (or has it chosen when it has only one); anything else is as requested."""
        if self.unlimited:
            return requested
        channels = self.principal.channels if self.principal is not None else None
        if channels is None or not channels:
            raise NotPermitted("Reports are for the shop's staff and partners with channels")
        if requested is None:
            if len(channels) == 1:
                return next(iter(channels))
            raise InvalidInput("Name one of your channels: " + ", ".join(sorted(channels)),
                               field=("channel",))
        if requested not in channels:
            raise UnknownChannel(requested, field=("channel",))
        return requested


def visibility(principal: Principal | None) -> Hashable:
    """What of a caller its reads may depend on: all of it but its token's times and
    session. Callers of equal visibility are shown the same rows, so an answer worked out
    for one may be given to the other, and to no one else."""
    if principal is None:
        return None
    return replace(principal, issued_at=None, expires_at=None, session_id=None)


def _everything(scope: Scope) -> Condition:
    return True


def _admin_only(scope: Scope) -> Condition:
    return scope.kind is Kind.ADMIN


def _nobody(scope: Scope) -> Condition:
    return False


def _q(**conditions: object) -> Q:
    return Q(**conditions)  # type: ignore[arg-type]  # Tortoise's stub types the names only


def _orders(prefix: str = "") -> Rule:
    """Orders, or rows of an order reached through ``prefix`` (e.g. ``shipment__order__``)."""
    order_id = f"{prefix[:-2]}_id" if prefix else "id"

    def rule(scope: Scope) -> Condition:
        p = scope.principal
        base: Condition = False
        if p is not None and not p.scoped:
            return True
        if p is not None and p.kind is Kind.PARTNER and p.channels is not None:
            base = _q(**{f"{prefix}channel__code__in": sorted(p.channels)})
        elif p is not None and p.kind is Kind.CUSTOMER:
            base = Q(_q(**{f"{prefix}customer_id": p.customer_id, f"{prefix}via_account": True}),
                     _q(**{f"{prefix}company_id__in": _contact_companies(p)}),
                     join_type="OR")
        elif p is not None and p.kind is Kind.GUEST:
            base = _q(**{order_id: p.order_id})
        if not scope.granted_orders:
            return base
        granted = _q(**{f"{order_id}__in": sorted(scope.granted_orders)})
        return granted if isinstance(base, bool) else Q(base, granted, join_type="OR")

    return rule


def _contact_companies(p: Principal) -> Subquery:
    """The company a signed-in customer is a contact of (none, or one)."""
    return Subquery(CompanyContact.filter(customer_id=p.customer_id).values("company_id"))


def _companies(field: str) -> Rule:
    """Companies and what hangs off them (``field`` names the company's id): everything for
    those who manage companies (the admin, staff, unlimited partners), its own company for
    a contact; nothing for a partner limited to channels."""
    def rule(scope: Scope) -> Condition:
        p = scope.principal
        if p is None:
            return False
        if p.kind is Kind.CUSTOMER:
            return _q(**{f"{field}__in": _contact_companies(p)})
        if p.channels is not None or p.kind in (Kind.GUEST, Kind.STOREFRONT):
            return False
        return p.allows(Permission.COMPANIES_MANAGE)

    return rule


def _buyer(scope: Scope) -> bool:
    """A buyer's own view (a customer, a guest, a storefront, anyone anonymous)."""
    return scope.kind is None or scope.kind in (Kind.CUSTOMER, Kind.GUEST, Kind.STOREFRONT)


def _order_events(scope: Scope) -> Condition:
    """An order's events, less the internal ones when the caller is a buyer."""
    base = _orders("order__")(scope)
    if base is False or not _buyer(scope):
        return base
    shown = ~Q(type__in=sorted(INTERNAL_EVENTS))
    return shown if base is True else Q(base, shown)


def _customer_notes(scope: Scope) -> Condition:
    """Staff notes on customers: whoever reads customer records, but never a buyer (a
    customer reads its own record, not what the shop wrote of it)."""
    return False if _buyer(scope) else _customers(scope)


def _annotations(private: bool) -> Rule:
    """Tags (``private`` False) and metadata rows: those of the objects the caller may read;
    private metadata rows only of the kinds whose write permission it holds."""
    def rule(scope: Scope) -> Condition:
        parts: list[Q] = []
        for kind, (model, permission) in ANNOTATED.items():
            condition = scope.condition(model)
            if condition is False:
                continue
            of_kind = _q(kind=kind)
            if condition is not True:
                of_kind = Q(of_kind, _q(object_id__in=Subquery(
                    model.filter(condition).values("id"))))
            if private and not scope.allows(permission):
                of_kind = Q(of_kind, _q(private=False))
            parts.append(of_kind)
        if not parts:
            return False
        return parts[0] if len(parts) == 1 else Q(*parts, join_type="OR")

    return rule


def _customers(scope: Scope) -> Condition:
    p = scope.principal
    if p is not None and not p.scoped:
        return True
    if p is not None and p.kind is Kind.CUSTOMER:
        return Q(id=p.customer_id)
    return False


def _stock(scope: Scope) -> Condition:
    p = scope.principal
    if p is None or not p.allows(Permission.INVENTORY_READ):
        return False
    if p.channels is None:
        return True
    return Q(location__location_channels__channel__code__in=sorted(p.channels))


# Callers who are not the shop's staff, whatever permissions their tokens carry.
_OUTSIDERS = (Kind.PARTNER, Kind.CUSTOMER, Kind.GUEST, Kind.STOREFRONT)


def _drafts(scope: Scope) -> Condition:
    """The shop's own people: the admin, and staff holding the draft orders permission.
    Partners, customers, guests and storefronts never, whatever their tokens say."""
    p = scope.principal
    if p is None or p.kind in _OUTSIDERS:
        return False
    return p.kind is Kind.ADMIN or p.allows(Permission.DRAFT_ORDERS)


def _webhooks(prefix: str = "") -> Rule:
    def rule(scope: Scope) -> Condition:
        p = scope.principal
        if p is None or not p.allows(Permission.WEBHOOKS_MANAGE):
            return False
        shop = p.kind in (Kind.ADMIN, Kind.STAFF)  # the shop's subscriptions, not an app's
        return True if shop else _q(**{f"{prefix}owner": p.client})

    return rule


def _staff(own: str) -> Rule:
    """Staff rows: all of them for those who manage staff, else the caller's own."""
    def rule(scope: Scope) -> Condition:
        p = scope.principal
        if p is None:
            return False
        if p.allows(Permission.STAFF_MANAGE):
            return True
        return _q(**{own: p.staff_id}) if p.staff_id is not None else False

    return rule


def _price_lists(prefix: str = "") -> Rule:
    """Price lists are the catalogue's managers' (catalog:write): the admin, staff, and
    partners, those limited to channels seeing their channels' lists only."""
    def rule(scope: Scope) -> Condition:
        p = scope.principal
        if p is None or not p.allows(Permission.CATALOG_WRITE):
            return False
        if p.channels is None:
            return True
        return _q(**{f"{prefix}channel__code__in": sorted(p.channels)})

    return rule


def _catalogue_managers(scope: Scope) -> Condition:
    return scope.allows(Permission.CATALOG_WRITE)


def _notifications(scope: Scope) -> Condition:
    """The delivery log: the shop's staff (the admin, partners reading orders); a partner
    limited to channels sees its channels' orders' messages, not the staff's alerts."""
    p = scope.principal
    if p is None or p.kind not in (Kind.ADMIN, Kind.PARTNER) or not p.allows(
            Permission.ORDERS_READ):
        return False
    if p.channels is None:
        return True
    return Q(order__channel__code__in=sorted(p.channels))


def _holders(permission: Permission) -> Rule:
    """Every row, for callers holding ``permission``; none for the others."""
    def rule(scope: Scope) -> Condition:
        return scope.principal is not None and scope.principal.allows(permission)

    return rule


RULES: dict[type[Model], Rule] = {
    # The catalogue: anyone, anonymous storefronts included.
    Channel: _everything, Location: _everything, ChannelLocation: _everything,
    Product: _everything, Variant: _everything,
    # What the shop charges whom: its catalogue managers (storefronts read a price through
    # Variant.channelPrice, never the lists).
    PriceList: _price_lists(), PriceListEntry: _price_lists("price_list__"),
    CustomerGroup: _catalogue_managers,
    # Orders and everything that hangs off them.
    Order: _orders(),
    OrderLine: _orders("order__"), OrderEvent: _order_events, Payment: _orders("order__"),
    Shipment: _orders("order__"), Return: _orders("order__"),
    Allocation: _orders("order_line__order__"),
    ShipmentLine: _orders("shipment__order__"), TrackingEvent: _orders("shipment__order__"),
    ReturnLine: _orders("rma__order__"), PaymentOperation: _orders("payment__order__"),
    OrderEdit: _orders("order__"), OrderEditLine: _orders("edit__order__"),
    # Invoices and credit notes: whoever may read the order (its customer, its channel's
    # partners, the staff who read orders).
    Invoice: _orders("order__"),
    # Draft orders: the shop's staff only (phone, email, sales-rep and B2B orders).
    DraftOrder: _drafts, DraftOrderLine: _drafts,
    Customer: _customers, CustomerNote: _customer_notes,
    # Tags and metadata: as the object they are on (private metadata: its kind's writers).
    Tag: _annotations(private=False), MetadataEntry: _annotations(private=True),
    StockLevel: _stock,
    WebhookSubscription: _webhooks(), WebhookDelivery: _webhooks("subscription__"),
    Notification: _notifications,
    # The machinery: never read through the API but by the admin.
    StockMovement: _admin_only, RefreshToken: _admin_only, EmailVerification: _admin_only,
    OAuthClient: _admin_only, IdempotencyRecord: _admin_only, OutboxMessage: _admin_only,
    Counter: _admin_only, ProcessedWebhook: _admin_only, ReportDirty: _admin_only,
    SalesSlot: _admin_only, SalesDay: _admin_only, SummaryDirty: _admin_only,
    ParcelTime: _admin_only, ParcelMonth: _admin_only, FulfillmentDay: _admin_only,
    CustomerSummary: _admin_only, CustomerValue: _admin_only, MarketplaceConnection: _admin_only,
    MarketplaceListing: _admin_only, MarketplaceFulfillment: _admin_only,
    Deployment: _admin_only, RefundAllocation: _admin_only,
    RiskSettingsRow: _admin_only,  # the merchant's block lists and thresholds
    TaxRate: _holders(Permission.TAXES_MANAGE),
    # Promotions and their codes: who manages them (buyers redeem a code they know, never
    # list them); what an order was given: whoever reads the order.
    Promotion: _holders(Permission.DISCOUNTS_MANAGE), Voucher: _holders(Permission.DISCOUNTS_MANAGE),
    VoucherRedemption: _admin_only, OrderDiscount: _orders("order__"),
    # Companies (B2B): their managers; a contact its own company.
    Company: _companies("id"), CompanyLocation: _companies("company_id"),
    CompanyContact: _companies("company_id"),
    InvoiceSettingsRow: _admin_only,
    # Staff: managers see them all, a member their own.
    StaffMember: _staff("id"), StaffSession: _staff("staff_id"), StaffRole: _staff("members__id"),
    # Private keys: read by the token service only, never through the API, not even the admin.
    SigningKey: _nobody,
}

