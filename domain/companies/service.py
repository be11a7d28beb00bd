"""Companies: writing them, their locations and contacts, and what an order placed for one
takes from it (prices, tax exemption, PO number, payment terms, the credit limit check).

A company's open receivables are what its orders still owe: for every order of the company
not cancelled, its total (less an exchange's credit) less the money its payments captured,
never below zero. Refunds do not reopen a debt: money refunded is given back for goods
returned or a price reduced, which the buyer then no longer owes. An order placed for a
company with a credit limit must keep the receivables in the limit's currency plus its own
total within the limit; the check runs in the order's transaction with the company's row
locked, so concurrent orders are checked one after the other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain import validation as v
from domain.access import Scope
from domain.access.principal import Kind
from domain.catalog.lifecycle import UNSET, given
from domain.catalog.models import PriceList
from domain.companies.models import (
    TERM_DAYS,
    Company,
    CompanyContact,
    CompanyLocation,
    ContactRole,
    PaymentTerms,
)
from domain.customers.models import Customer
from domain.errors import (
    CreditLimitExceeded,
    DomainError,
    Duplicate,
    InvalidInput,
    NotFound,
    NotPermitted,
    raise_all,
)
from domain.money import parse_price, quantize, validate_currency
from domain.orders.models import Order, OrderStatus, PaymentStatus
from domain.payments.models import Payment
from domain.uow import unit_of_work

__all__ = [
    "MAX_TAX_NUMBER",
    "OWING",
    "UNSET",
    "CompanySpec",
    "OrderTerms",
    "add_contact",
    "add_location",
    "amounts_due",
    "check_credit",
    "clock",
    "create_company",
    "receivables",
    "remove_contact",
    "remove_location",
    "terms_for_order",
    "update_company",
]

MAX_TAX_NUMBER = 32
# Payment statuses of an order that may still owe money (a paid, or refunded, one owes
# nothing more; an edit that adds to a paid order makes it PARTIALLY_PAID again).
OWING = (PaymentStatus.UNPAID, PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_PAID,
         PaymentStatus.VOIDED)


def clock() -> datetime:
    """Now: when an order is placed (its due date counts from it) and what is overdue."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class CompanySpec:
    """A company's fields. On an update, ``UNSET`` leaves a field as it is; ``None`` clears
    what may be empty (the tax number, the credit limit: no limit, the price list)."""

    code: Any = UNSET
    name: Any = UNSET
    tax_exempt: Any = UNSET
    tax_number: Any = UNSET
    payment_terms: Any = UNSET
    credit_limit: Any = UNSET
    credit_currency: Any = UNSET
    po_required: Any = UNSET
    price_list_id: Any = UNSET
    active: Any = UNSET


def _manages(scope: Scope) -> None:
    """Companies are the shop's: a partner limited to channels does not write them."""
    p = scope.principal
    if p is None or p.channels is not None or p.kind is Kind.CUSTOMER:
        raise NotPermitted("Companies are managed by the shop's staff")


async def _apply(conn: BaseDBAsyncClient, company: Company, spec: CompanySpec) -> None:
    """Check the given fields, every problem at once, and set them on ``company``."""
    errors: list[DomainError] = []

    def check(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as error:
            errors.append(error)
            return UNSET

    if given(spec.code):
        company.code = check(v.code, spec.code, field=("code",))
    if given(spec.name):
        company.name = check(v.required_text, spec.name or "", field=("name",))
    if given(spec.tax_number):
        company.tax_number = check(v.text, spec.tax_number, field=("taxNumber",),
                                   max_length=MAX_TAX_NUMBER)
    if given(spec.tax_exempt):
        company.tax_exempt = bool(spec.tax_exempt)
    if given(spec.payment_terms):
        company.payment_terms = PaymentTerms(spec.payment_terms)
    if given(spec.po_required):
        company.po_required = bool(spec.po_required)
    if given(spec.active):
        company.active = bool(spec.active)
    if given(spec.credit_currency):
        company.credit_currency = None if spec.credit_currency is None else check(
            validate_currency, spec.credit_currency, field=("creditCurrency",))
    if given(spec.credit_limit):
        if spec.credit_limit is None:
            company.credit_limit = None
        elif not company.credit_currency:
            errors.append(InvalidInput("A credit limit needs its currency",
                                       field=("creditCurrency",)))
        else:
            company.credit_limit = check(parse_price, spec.credit_limit,
                                         company.credit_currency, field=("creditLimit",))
    if given(spec.price_list_id):
        if spec.price_list_id is not None and not await PriceList.filter(
                id=spec.price_list_id).using_db(conn).exists():
            errors.append(NotFound("PriceList", str(spec.price_list_id),
                                   field=("priceListId",)))
        company.price_list_id = spec.price_list_id
    limit, limit_currency = company.credit_limit, company.credit_currency
    if not errors and limit is not None and not limit_currency:
        errors.append(InvalidInput("A credit limit needs its currency",
                                   field=("creditCurrency",)))
    elif not errors and limit is not None and limit_currency \
            and quantize(limit, limit_currency) != limit:
        errors.append(InvalidInput(f"{limit_currency} amounts have fewer decimal places: "
                                   "set the credit limit again", field=("creditLimit",)))
    if not errors and company.tax_exempt and not company.tax_number:
        errors.append(InvalidInput("A tax-exempt company needs its tax number",
                                   field=("taxNumber",)))
    raise_all(errors)


async def create_company(*, spec: CompanySpec, scope: Scope) -> Company:
    """A new company; codes are unique (DUPLICATE)."""
    _manages(scope)
    if not given(spec.code) or not given(spec.name):
        raise InvalidInput("A company needs its code and name",
                           field=("code",) if not given(spec.code) else ("name",))
    try:
        async with unit_of_work() as conn:
            company = Company(payment_terms=PaymentTerms.DUE_ON_RECEIPT)
            await _apply(conn, company, spec)
            if await Company.filter(code=company.code).using_db(conn).exists():
                raise Duplicate("Company", company.code, field=("code",))
            await company.save(using_db=conn)
            return company
    except IntegrityError:
        raise Duplicate("Company", str(spec.code), field=("code",)) from None


async def _locked(conn: BaseDBAsyncClient, scope: Scope, company_id: int,
                  field: str = "id") -> Company:
    company = await scope.query(Company).filter(id=company_id).select_for_update().using_db(
        conn).first()
    if company is None:
        raise NotFound("Company", str(company_id), field=(field,))
    return company


async def update_company(*, company_id: int, spec: CompanySpec, scope: Scope) -> Company:
    """Change a company; orders placed before keep their prices, tax and terms."""
    _manages(scope)
    try:
        async with unit_of_work() as conn:
            company = await _locked(conn, scope, company_id)
            await _apply(conn, company, spec)
            if given(spec.code) and await Company.filter(code=company.code).exclude(
                    id=company.id).using_db(conn).exists():
                raise Duplicate("Company", company.code, field=("code",))
            await company.save(using_db=conn)
            return company
    except IntegrityError:
        raise Duplicate("Company", str(spec.code), field=("code",)) from None


async def add_location(*, company_id: int, name: str, address: dict[str, Any] | None,
                       scope: Scope) -> CompanyLocation:
    """An address of the company, checked as every address is (domain/addresses.py)."""
    _manages(scope)
    errors: list[DomainError] = []
    clean_name = clean_address = None
    try:
        clean_name = v.required_text(name, field=("name",))
    except DomainError as error:
        errors.append(error)
    try:
        clean_address = v.address(address, field=("address",))
        if clean_address is None:
            errors.append(InvalidInput("A location needs its address", field=("address",)))
    except DomainError as error:
        errors.append(error)
    raise_all(errors)
    async with unit_of_work() as conn:
        company = await _locked(conn, scope, company_id, "companyId")
        return await CompanyLocation.create(company_id=company.id, name=clean_name,
                                            address=clean_address, using_db=conn)


async def remove_location(*, location_id: int, scope: Scope) -> CompanyLocation:
    _manages(scope)
    async with unit_of_work() as conn:
        location = await scope.query(CompanyLocation).filter(id=location_id).using_db(
            conn).first()
        if location is None:
            raise NotFound("CompanyLocation", str(location_id), field=("id",))
        await location.delete(using_db=conn)
        return location


async def add_contact(*, company_id: int, customer_id: int, role: ContactRole | None,
                      scope: Scope) -> Company:
    """Make a customer a contact of the company (with a role, or none). A customer is a
    contact of one company at most (DUPLICATE when of another); adding it again sets its
    role. Returns the company."""
    _manages(scope)
    async with unit_of_work() as conn:
        company = await _locked(conn, scope, company_id, "companyId")
        if not await scope.query(Customer).filter(id=customer_id).using_db(conn).exists():
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        existing = await CompanyContact.filter(customer_id=customer_id).using_db(conn).first()
        if existing is not None and existing.company_id != company.id:
            raise Duplicate("Company contact", str(customer_id), field=("customerId",))
        if existing is not None:
            existing.role = role
            await existing.save(update_fields=["role"], using_db=conn)
            return company
        try:
            await CompanyContact.create(company_id=company.id, customer_id=customer_id,
                                        role=role, using_db=conn)
        except IntegrityError:
            raise Duplicate("Company contact", str(customer_id),
                            field=("customerId",)) from None
        return company


async def remove_contact(*, company_id: int, customer_id: int, scope: Scope) -> Company:
    """The customer no longer buys for the company; its orders stay the company's."""
    _manages(scope)
    async with unit_of_work() as conn:
        company = await _locked(conn, scope, company_id, "companyId")
        removed = await CompanyContact.filter(company_id=company.id,
                                              customer_id=customer_id).using_db(conn).delete()
        if not removed:
            raise NotFound("Company contact", str(customer_id), field=("customerId",))
        return company


# --- What an order placed for a company takes from it (domain/orders/capture.py) ---


@dataclass(frozen=True)
class OrderTerms:
    """The company an order is placed for, read (and locked) in the order's transaction."""

    company: Company

    @property
    def price_list_id(self) -> int | None:
        return self.company.price_list_id

    def due_at(self, placed: datetime) -> datetime:
        return placed + timedelta(days=TERM_DAYS[self.company.payment_terms])


async def terms_for_order(conn: BaseDBAsyncClient, *, company_id: int, customer_id: int | None,
                          po_number: str | None) -> OrderTerms:
    """Lock the company's row (the credit check of concurrent orders runs one after the
    other; on SQLite the transactions are serialised anyway) and check the order may be
    placed for it: an active company, the order's customer one of its contacts, a PO
    number when it requires one. Raises every problem at once, before anything is
    written."""
    company = await Company.filter(id=company_id).select_for_update().using_db(conn).first()
    if company is None:
        raise NotFound("Company", str(company_id), field=("companyId",))
    errors: list[DomainError] = []
    if not company.active:
        errors.append(InvalidInput(f"Company {company.code} is not active",
                                   field=("companyId",)))
    if customer_id is None or not await CompanyContact.filter(
            company_id=company.id, customer_id=customer_id).using_db(conn).exists():
        errors.append(InvalidInput(f"The order's customer is not a contact of company "
                                   f"{company.code}", field=("customerId",)))
    if company.po_required and not po_number:
        errors.append(InvalidInput(f"Company {company.code} requires a PO number",
                                   field=("poNumber",)))
    raise_all(errors)
    return OrderTerms(company)


async def _owed(conn: BaseDBAsyncClient, company_id: int,
                currency: str | None = None) -> list[tuple[Order, Decimal]]:
    """The company's orders that owe money, oldest first, each with what it owes."""
    query = Order.filter(company_id=company_id, payment_status__in=OWING).exclude(
        status=OrderStatus.CANCELLED)
    if currency is not None:
        query = query.filter(currency=currency)
    orders = list(await query.order_by("id").using_db(conn))
    if not orders:
        return []
    captured: dict[int, Decimal] = defaultdict(Decimal)
    for payment in await Payment.filter(order_id__in=[o.id for o in orders]).using_db(conn):
        captured[payment.order_id] += payment.captured_amount
    owed = []
    for order in orders:
        due = order.total - order.exchange_credit - captured[order.id]
        if due > 0:
            owed.append((order, quantize(due, order.currency)))
    return owed


async def receivables(conn: BaseDBAsyncClient, company_id: int) -> dict[str, Decimal]:
    """What the company owes, per currency (only currencies it owes in)."""
    balance: dict[str, Decimal] = defaultdict(Decimal)
    for order, due in await _owed(conn, company_id):
        balance[order.currency] += due
    return dict(sorted(balance.items()))


async def amounts_due(conn: BaseDBAsyncClient, order_ids: list[int]) -> dict[int, Decimal]:
    """What each order still owes (0 for those paid), read in two statements."""
    orders = list(await Order.filter(id__in=order_ids).using_db(conn))
    captured: dict[int, Decimal] = defaultdict(Decimal)
    for payment in await Payment.filter(order_id__in=order_ids).using_db(conn):
        captured[payment.order_id] += payment.captured_amount
    due: dict[int, Decimal] = {}
    for order in orders:
        left = order.total - order.exchange_credit - captured[order.id]
        owing = order.payment_status in OWING and order.status is not OrderStatus.CANCELLED
        due[order.id] = quantize(left, order.currency) if owing and left > 0 else Decimal(0)
    return due


async def check_credit(conn: BaseDBAsyncClient, terms: OrderTerms, *, total: Decimal,
                       currency: str) -> None:
    """Refuse (CREDIT_LIMIT_EXCEEDED) an order that takes the company's receivables past
    its credit limit; the company's row is locked by ``terms_for_order``."""
    company = terms.company
    if company.credit_limit is None:
        return
    if company.credit_currency != currency:
        raise InvalidInput(f"Company {company.code}'s credit limit is in "
                           f"{company.credit_currency}; this order is in {currency}",
                           field=("companyId",))
    owed = sum((due for _, due in await _owed(conn, company.id, currency)), Decimal(0))
    if owed + total > company.credit_limit:
        raise CreditLimitExceeded(company.code,
                                  limit=str(quantize(company.credit_limit, currency)),
                                  owed=str(quantize(owed, currency)),
                                  total=str(quantize(total, currency)), currency=currency)

