"""The caller: what kind it is, which permissions it holds, and what it is limited to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    ADMIN = "admin"  # operations only the admin token may do; never granted to a partner
    CATALOG_WRITE = "catalog:write"
    ORDER_PLACE = "orders:place"  # placing an order (customers, storefronts, partners)
    RETURN_REQUEST = "returns:request"  # asking to return (customers, and returns:write)
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    CUSTOMERS_WRITE = "customers:write"  # customers' tags and metadata
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    FULFILLMENT_WRITE = "fulfillment:write"
    RETURNS_WRITE = "returns:write"
    PAYMENTS_WRITE = "payments:write"
    WEBHOOKS_MANAGE = "webhooks:manage"
    REPORTS_READ = "reports:read"
    DRAFT_ORDERS = "orders:drafts"  # draft orders (phone, email, sales-rep, B2B): staff only
    PRICE_OVERRIDE = "orders:price_override"  # setting a line's price by hand, with a reason
    RISK_READ = "risk:read"  # orders' risk assessments (staff and review apps, not buyers)
    STAFF_MANAGE = "staff:manage"  # inviting staff, their roles, sessions; never a partner's
    TAXES_MANAGE = "taxes:manage"  # the tax rates, and which customers are tax-exempt
    DISCOUNTS_MANAGE = "discounts:manage"  # promotions and their voucher codes
    COMPANIES_MANAGE = "companies:manage"  # B2B companies, their contacts, terms and accounts


class Kind(StrEnum):
    ADMIN = "admin"
    PARTNER = "partner"
    CUSTOMER = "customer"
    GUEST = "guest"  # holds one order's access token
    STOREFRONT = "storefront"  # a publishable channel key
    STAFF = "staff"  # a signed-in staff member; permissions from their role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``client`` scopes idempotency keys; ``actor`` signs events.

    ``channels`` limits the caller to the orders of those channels (an empty set: none);
    ``customer_id`` to a customer's own orders (placed while signed in); ``order_id`` to one
    order (a guest).
    """

    client: str
    actor: str
    permissions: frozenset[Permission]
    kind: Kind = Kind.PARTNER
    channels: frozenset[str] | None = None
    customer_id: int | None = None
    order_id: int | None = None
    partner_id: str | None = None  # the OAuth client, for partners
    staff_id: int | None = None  # the staff member, and the session signed in (staff)
    session_id: int | None = None
    # From the token (epoch seconds); None for the static admin token.
    issued_at: int | None = None
    expires_at: int | None = None

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def scoped(self) -> bool:
        """Limited to part of the shop's data (anything but the admin or an unlimited partner)."""
        unlimited = (Kind.ADMIN, Kind.PARTNER, Kind.STAFF)  # staff: limited by permission
        return self.kind not in unlimited or self.channels is not None


ADMIN = Principal(client="admin", actor="staff:admin", permissions=frozenset(Permission),
                  kind=Kind.ADMIN)
