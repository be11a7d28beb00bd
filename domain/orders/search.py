"""Finding orders: the filters of the ``orders`` list, applied to what the caller may read.

Every criterion narrows the caller's readable orders (domain/access) in SQL; each is
backed by an index (number, email, created_at, a line's SKU, a tag, the customer's
name through the customer), and the page is still read by keyset on the id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from domain import validation as v
from domain.access import Scope
from domain.annotations.models import ObjectKind
from domain.annotations.service import objects_tagged
from domain.customers.models import Customer
from domain.errors import DomainError, InvalidInput, raise_all
from domain.orders.models import Order, OrderLine, OrderStatus

T = TypeVar("T")
MAX_SEARCH = 200
MAX_TOTAL = Decimal("1e14")  # the column holds 18 digits, 4 of them decimals


@dataclass(frozen=True)
class OrderSearch:
    """What to look for; every criterion given must hold (AND)."""

    search: str | None = None  # the number, the email, the customer's name, the PO or id
    number: str | None = None
    email: str | None = None
    customer_name: str | None = None  # part of the customer's name, any case
    sku: str | None = None  # one of the order's lines has it
    tag: str | None = None
    status: Sequence[OrderStatus] = field(default_factory=tuple)
    channel: str | None = None
    external_id: str | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # inclusive
    created_after: datetime | None = None  # inclusive (the older name of created_from)
    created_before: datetime | None = None  # exclusive
    total_min: str | None = None  # inclusive; a decimal as text
    total_max: str | None = None  # inclusive


def _total(value: str | None, *, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise InvalidInput(f"{name} is not a decimal amount", field=("filter", name)) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_TOTAL:
        raise InvalidInput(f"{name} must be an amount from 0 to {MAX_TOTAL:,.0f}",
                           field=("filter", name))
    return amount


def _text(value: str | None, *, name: str, max_length: int = MAX_SEARCH) -> str | None:
    return v.text(value, field=("filter", name), max_length=max_length)


@dataclass(frozen=True)
class _Clean:
    """The criteria checked: texts trimmed (None when blank), totals parsed."""

    search: str | None
    number: str | None
    email: str | None
    customer_name: str | None
    sku: str | None
    tagged: Subquery | None
    channel: str | None
    external_id: str | None
    total_min: Decimal | None
    total_max: Decimal | None


def _clean(criteria: OrderSearch) -> _Clean:
    """Every criterion checked; every bad one reported at once (INVALID_INPUT)."""
    errors: list[DomainError] = []

    def check(read: Callable[[], T]) -> T | None:
        try:
            return read()
        except DomainError as error:
            errors.append(error)
            return None

    clean = _Clean(
        search=check(lambda: _text(criteria.search, name="search")),
        number=check(lambda: _text(criteria.number, name="number", max_length=32)),
        email=check(lambda: _text(criteria.email, name="email", max_length=v.MAX_EMAIL)),
        customer_name=check(lambda: _text(criteria.customer_name, name="customerName")),
        sku=check(lambda: _text(criteria.sku, name="sku", max_length=v.MAX_CODE)),
        tagged=check(lambda: None if criteria.tag is None else objects_tagged(
            ObjectKind.ORDER, criteria.tag, field=("filter", "tag"))),
        channel=check(lambda: _text(criteria.channel, name="channel", max_length=v.MAX_CODE)),
        external_id=check(lambda: _text(criteria.external_id, name="externalId",
                                        max_length=128)),
        total_min=check(lambda: _total(criteria.total_min, name="totalMin")),
        total_max=check(lambda: _total(criteria.total_max, name="totalMax")),
    )
    if (criteria.created_from is not None and criteria.created_to is not None
            and criteria.created_from > criteria.created_to):
        errors.append(InvalidInput("createdFrom is after createdTo",
                                   field=("filter", "createdFrom")))
    if (criteria.created_after is not None and criteria.created_before is not None
            and criteria.created_after > criteria.created_before):
        errors.append(InvalidInput("createdAfter is after createdBefore",
                                   field=("filter", "createdAfter")))
    low, high = clean.total_min, clean.total_max
    if low is not None and high is not None and low > high:
        errors.append(InvalidInput("totalMin is more than totalMax", field=("filter", "totalMin")))
    raise_all(errors)
    return clean


def orders_matching(scope: Scope, criteria: OrderSearch) -> QuerySet[Order]:
    """The caller's readable orders that meet every criterion. Bad criteria (a range whose
    start is after its end, a total that is not an amount, a blank tag) are INVALID_INPUT,
    all reported at once, before any query."""
    c = _clean(criteria)
    query = scope.query(Order)
    if criteria.status:
        query = query.filter(status__in=list(criteria.status))
    if c.channel is not None:
        query = query.filter(channel__code=c.channel)
    if c.number is not None:
        query = query.filter(number=c.number)
    if c.email is not None:
        query = query.filter(email=c.email.lower())
    if c.external_id is not None:
        query = query.filter(external_id=c.external_id)
    if c.customer_name is not None:
        query = query.filter(customer_id__in=_customers_named(c.customer_name))
    if c.sku is not None:
        query = query.filter(id__in=Subquery(OrderLine.filter(sku=c.sku).values("order_id")))
    if c.tagged is not None:
        query = query.filter(id__in=c.tagged)
    if c.search is not None:
        text = c.search
        query = query.filter(Q(
            Q(number=text.lstrip("#")), Q(email=text.lower()), Q(external_id=text),
            Q(po_number=text), Q(customer_id__in=_customers_named(text)),
            Q(email__startswith=text.lower()), join_type="OR"))
    if criteria.created_from is not None:
        query = query.filter(created_at__gte=criteria.created_from)
    if criteria.created_to is not None:
        query = query.filter(created_at__lte=criteria.created_to)
    if criteria.created_after is not None:
        query = query.filter(created_at__gte=criteria.created_after)
    if criteria.created_before is not None:
        query = query.filter(created_at__lt=criteria.created_before)
    if c.total_min is not None:
        query = query.filter(total__gte=c.total_min)
    if c.total_max is not None:
        query = query.filter(total__lte=c.total_max)
    return query


def _customers_named(part: str) -> Subquery:
    return Subquery(Customer.filter(name__icontains=part).values("id"))
