"""The roles staff members hold: the built-in ones, defined here, and custom ones made
from the permission list. A role's permissions are what its members may do through the
API (``domain.access``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.access import Permission, Principal
from domain.errors import Duplicate, InvalidInput, NotFound, NotPermitted
from domain.staff.models import StaffRole

P = Permission
OWNER = "owner"
BUILT_IN: dict[str, tuple[str, frozenset[Permission]]] = {
    # Everything, the admin token's operations and managing staff included.
    OWNER: ("Owner", frozenset(Permission)),
    # Runs the shop, its staff included, but not its integrations (partner apps, storefront
    # keys, marketplaces, webhooks): those are the owner's.
    "manager": ("Manager", frozenset(Permission) - {P.ADMIN, P.WEBHOOKS_MANAGE}),
    "warehouse": ("Warehouse", frozenset({
        P.ORDERS_READ, P.INVENTORY_READ, P.INVENTORY_WRITE, P.FULFILLMENT_WRITE})),
    # Takes phone orders as drafts and reviews orders held for risk; setting a price by hand
    # is a manager's.
    "customer_service": ("Customer service", frozenset({
        P.ORDERS_READ, P.ORDERS_WRITE, P.ORDER_PLACE, P.RETURNS_WRITE, P.RETURN_REQUEST,
        P.INVENTORY_READ, P.DRAFT_ORDERS, P.RISK_READ, P.CUSTOMERS_WRITE,
        P.COMPANIES_MANAGE})),
    # Reads stock too: the inventory report shows it.
    "finance": ("Finance", frozenset({P.ORDERS_READ, P.INVENTORY_READ, P.PAYMENTS_WRITE,
                                      P.REPORTS_READ, P.TAXES_MANAGE,
                                      P.COMPANIES_MANAGE})),
}
_CODE = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def permissions_of(role: StaffRole) -> frozenset[Permission]:
    """A built-in role's permissions are the code's (so a release that adds a permission
    gives it to them); a custom role's are the ones it was made with."""
    if role.built_in and role.code in BUILT_IN:
        return BUILT_IN[role.code][1]
    known = {p.value: p for p in Permission}
    return frozenset(known[p] for p in role.permissions if p in known)


async def _ensure_built_in() -> None:
    rows = [StaffRole(code=code, name=name, permissions=sorted(p.value for p in perms),
                      built_in=True) for code, (name, perms) in BUILT_IN.items()]
    await StaffRole.bulk_create(rows, ignore_conflicts=True)


async def role_by_code(code: str, *, field: tuple[str, ...] = ("role",)) -> StaffRole:
    """A role by its code; the built-in roles exist from their first use."""
    if code in BUILT_IN:
        await _ensure_built_in()
    role = await StaffRole.get_or_none(code=code)
    if role is None:
        raise NotFound("StaffRole", code, field=field)
    return role


async def all_roles() -> list[StaffRole]:
    await _ensure_built_in()
    return await StaffRole.all().order_by("id")


def require_may_grant(actor: Principal, permissions: Iterable[Permission], *,
                      field: tuple[str, ...] = ("role",)) -> None:
    """Nobody hands out a permission they do not hold: a manager cannot make an owner."""
    missing = sorted(p.value for p in set(permissions) - actor.permissions)
    if missing:
        raise NotPermitted(f"You cannot grant permissions you do not hold: {', '.join(missing)}",
                           field=field)


async def create_role(*, actor: Principal, code: str, name: str,
                      permissions: Iterable[Permission]) -> StaffRole:
    """A custom role from the permission list."""
    code = code.strip().lower()
    if not _CODE.fullmatch(code):
        raise InvalidInput("A role code is 1 to 64 lower-case letters, digits, _ or -, "
                           "starting with a letter", field=("code",))
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("A role needs a name of 1 to 200 characters", field=("name",))
    chosen = frozenset(permissions)
    if not chosen:
        raise InvalidInput("A role needs at least one permission", field=("permissions",))
    require_may_grant(actor, chosen, field=("permissions",))
    if code in BUILT_IN or await StaffRole.exists(code=code):
        raise Duplicate("StaffRole", code, field=("code",))
    return await StaffRole.create(code=code, name=name,
                                  permissions=sorted(p.value for p in chosen))
