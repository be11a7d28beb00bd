"""A company's account: its orders, what it owes, its open invoices and overdue orders.

Read by whoever may read the company (its managers, its contacts); the orders and
invoices through the caller's scope, as every read is.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from domain.access import Scope
from domain.companies import service
from domain.invoices.models import DocumentKind, Invoice
from domain.orders.models import Order, OrderStatus


def company_orders(scope: Scope, company_id: int) -> QuerySet[Order]:
    return scope.query(Order).filter(company_id=company_id)


async def balance(conn: BaseDBAsyncClient, scope: Scope, company_id: int) -> dict[str, Decimal]:
    """Its open receivables per currency (domain/companies/service.py defines them)."""
    return await service.receivables(conn, company_id)


def open_invoices(scope: Scope, company_id: int) -> QuerySet[Invoice]:
    """The invoices (not credit notes) of its orders that still owe money."""
    return scope.query(Invoice).filter(
        kind=DocumentKind.INVOICE, order__company_id=company_id,
        order__payment_status__in=service.OWING).exclude(order__status=OrderStatus.CANCELLED)


async def amounts_due(conn: BaseDBAsyncClient, order_ids: list[int]
                      ) -> dict[int, tuple[Decimal, datetime | None]]:
    """What each order still owes, and when it is due."""
    if not order_ids:
        return {}
    due = await service.amounts_due(conn, order_ids)
    dates = dict(await Order.filter(id__in=order_ids).using_db(conn).values_list(
        "id", "payment_due_at"))
    return {pk: (due.get(pk, Decimal(0)), dates.get(pk)) for pk in order_ids}


def overdue(scope: Scope, *, company_id: int | None = None,
            now: datetime | None = None) -> QuerySet[Order]:
    """Company orders past their due date (``payment_due_at`` before now) whose payment
    status is not PAID (nor refunded), not cancelled."""
    query = scope.query(Order).filter(
        company_id__isnull=False, payment_due_at__lt=now or service.clock(),
        payment_status__in=service.OWING).exclude(status=OrderStatus.CANCELLED)
    if company_id is not None:
        query = query.filter(company_id=company_id)
    return query
