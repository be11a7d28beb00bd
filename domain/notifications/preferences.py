"""What a customer wants to hear, and in which language."""

from __future__ import annotations

import re

from domain.access.principal import Kind, Permission
from domain.access.scope import Scope
from domain.customers.models import Customer
from domain.errors import InvalidInput, NotFound, NotPermitted

_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")


async def update_preferences(scope: Scope, *, customer_id: int, email_opt_out: bool | None,
                             sms_opt_out: bool | None, locale: str | None) -> Customer:
    """Change a customer's channels and language: the customer itself, or staff who may
    write orders. ``locale`` is a BCP 47 tag (``en``, ``zh-Hans``, ``zh-CN``); "" clears it."""
    p = scope.principal
    own = p is not None and p.kind is Kind.CUSTOMER and p.customer_id == customer_id
    if not own and not (p is not None and not p.scoped and p.allows(Permission.ORDERS_WRITE)):
        if p is not None and p.kind is Kind.CUSTOMER:
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        raise NotPermitted("Only the customer or the shop's staff change its notifications")
    if locale and (len(locale) > 35 or not _TAG.match(locale)):
        raise InvalidInput("locale is a language tag such as en, zh-Hans or zh-CN",
                           field=("locale",))
    customer = await scope.get(Customer, customer_id)
    if customer is None:
        raise NotFound("Customer", str(customer_id), field=("customerId",))
    changes: dict[str, object] = {}
    if email_opt_out is not None:
        changes["email_opt_out"] = email_opt_out
    if sms_opt_out is not None:
        changes["sms_opt_out"] = sms_opt_out
    if locale is not None:
        changes["locale"] = locale.replace("_", "-") or None
    if changes:
        await Customer.filter(id=customer.id).update(**changes)
        for name, value in changes.items():
            setattr(customer, name, value)
    return customer
