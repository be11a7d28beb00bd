"""What we know of customers from their orders: how many, how much, since when, where.

Aggregated by the database over orders that were not cancelled; money per currency.
Lifetime value is what the customer's orders came to (their totals, shipping
included) less what refunds and exchange credits paid back of them; an exchange's
replacement order is no new order in the count (the sales report's rule).

The list sorted by a figure walks an index of the customer summaries
(``customer_summary``, ``customer_value``; ``domain.reports.summaries``), brought
up to date first; customers with no order (or none in the currency) follow as
0 in id order. ``summaries=False`` aggregates the orders instead: the reference
the summaries are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from domain.annotations.models import ObjectKind
from domain.annotations.service import normalise_tag
from domain.db import as_datetime, connection, fetch, for_reports, is_postgres
from domain.errors import InvalidInput, NotPermitted
from domain.money import quantize, validate_currency
from domain.reports import summaries as summary
from domain.reports.rollup import order_refunds

if TYPE_CHECKING:
    from domain.access import Scope


class CustomerSort(StrEnum):
    LIFETIME_VALUE = "LIFETIME_VALUE"
    LAST_ORDER = "LAST_ORDER"
    ORDER_COUNT = "ORDER_COUNT"


@dataclass
class Insight:
    customer_id: int
    order_count: int = 0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    lifetime_value: dict[str, Decimal] = field(default_factory=dict)
    preferred_channel: str | None = None

    def average_order_value(self) -> dict[str, Decimal]:
        return {c: quantize(v / self.order_count, c) for c, v in self.lifetime_value.items()} \
            if self.order_count else {}


async def insights(customer_ids: Sequence[int]) -> dict[int, Insight]:
    """One query per figure for a whole page of customers (a DataLoader batch)."""
    if not customer_ids:
        return {}
    conn = connection()
    marks = ", ".join("?" * len(customer_ids))
    live = f"o.customer_id IN ({marks}) AND o.status <> 'CANCELLED'"
    found = {cid: Insight(cid) for cid in customer_ids}
    for row in await fetch(conn, f"""
            SELECT o.customer_id AS cid,
                   SUM(CASE WHEN o.replaces_order_id IS NULL THEN 1 ELSE 0 END) AS n,
                   MIN(o.created_at) AS first,
                   MAX(o.created_at) AS last FROM orders o WHERE {live}
            GROUP BY o.customer_id""", list(customer_ids)):
        insight = found[int(row["cid"])]
        insight.order_count = int(row["n"])
        insight.first_order_at = as_datetime(row["first"])
        insight.last_order_at = as_datetime(row["last"])
    for row in await fetch(conn, f"""
            SELECT o.customer_id AS cid, o.currency AS currency,
                   SUM(o.total - {order_refunds("o.id")}) AS value
            FROM orders o WHERE {live} GROUP BY o.customer_id, o.currency""",
                           list(customer_ids)):
        currency = str(row["currency"])
        found[int(row["cid"])].lifetime_value[currency] = quantize(
            Decimal(str(row["value"] or 0)), currency)
    channels = await fetch(conn, f"""
            SELECT o.customer_id AS cid, c.code AS code, COUNT(*) AS n FROM orders o
            JOIN channel c ON c.id = o.channel_id WHERE {live}
            GROUP BY o.customer_id, c.code""", list(customer_ids))
    # The channel with most orders; ties go to the first code alphabetically.
    for row in sorted(channels, key=lambda r: (int(r["cid"]), -int(r["n"]), str(r["code"]))):
        insight = found[int(row["cid"])]
        insight.preferred_channel = insight.preferred_channel or str(row["code"])
    return found


async def customer_page(*, scope: Scope, sort: CustomerSort, currency: str | None, size: int,
                        cursor: tuple[str, int] | None, email_contains: str | None,
                        backward: bool = False, tag: str | None = None,
                        summaries: bool = True) -> list[tuple[int, str]]:
    """(customer id, sort value as text) for a page, highest first, keyset on (value, id).

    Forwards it reads after ``cursor``; ``backward`` reads the page before it instead,
    lowest first (the caller turns it round), so paging back shows the same customers in
    the same order.

    Customers without orders are listed by ORDER_COUNT and LIFETIME_VALUE (as 0),
    not by LAST_ORDER. Only the shop's staff and unlimited partners list customers.
    """
    if not scope.unlimited:
        raise NotPermitted("Customers are not listed for a limited caller")
    conn = connection()
    if sort is CustomerSort.LIFETIME_VALUE:
        if currency is None:
            raise InvalidInput("Sorting by lifetime value needs a currency", field=("currency",))
        validate_currency(currency)
    where, params = _customer_filter(email_contains, tag)
    if summaries:
        await summary.refresh()
        return await _page_from_summaries(conn, sort, currency, size, cursor, where, params,
                                          backward)
    if sort is CustomerSort.LIFETIME_VALUE:
        value = (f"COALESCE(SUM(CASE WHEN o.currency = ? THEN o.total - {order_refunds('o.id')}"
                 " END), 0)")
        value_params: list[Any] = [currency]
    elif sort is CustomerSort.ORDER_COUNT:
        value, value_params = "COUNT(CASE WHEN o.replaces_order_id IS NULL THEN o.id END)", []
    else:
        value, value_params = "MAX(o.created_at)", []
    having = "HAVING COUNT(o.id) > 0" if sort is CustomerSort.LAST_ORDER else "HAVING 1 = 1"
    having_params: list[Any] = []
    if cursor is not None:
        mark = _typed(conn, sort)
        beyond = ">" if backward else "<"
        having += f" AND ({value} {beyond} {mark} OR ({value} = {mark} AND cu.id {beyond} ?))"
        cursor_value = _cursor_value(conn, sort, cursor[0])
        having_params = [*value_params, cursor_value, *value_params, cursor_value, cursor[1]]
    order = "ASC" if backward else "DESC"
    async with for_reports() as reading:
        rows = await fetch(reading, f"""
            SELECT cu.id AS id, {value} AS v FROM customer cu
            LEFT JOIN orders o ON o.customer_id = cu.id AND o.status <> 'CANCELLED'
            WHERE {where} GROUP BY cu.id {having}
            ORDER BY v {order}, cu.id {order} LIMIT ?""",
                           [*value_params, *params, *having_params, size + 1])
    return [(int(r["id"]), str(r["v"])) for r in rows]


def _customer_filter(email_contains: str | None, tag: str | None) -> tuple[str, list[Any]]:
    """The condition on the customers (alias cu) a list is filtered by, and its parameters."""
    where, params = "1 = 1", []
    if email_contains:
        where, params = "LOWER(cu.email) LIKE ?", [f"%{email_contains.lower()}%"]
    if tag is not None:  # the customers holding the tag (the tag table's index)
        where += " AND cu.id IN (SELECT t.object_id FROM tag t WHERE t.kind = ? AND t.tag = ?)"
        params = [*params, ObjectKind.CUSTOMER.value, normalise_tag(tag, field=("filter", "tag"))]
    return where, params


async def _page_from_summaries(conn: Any, sort: CustomerSort, currency: str | None, size: int,
                               cursor: tuple[str, int] | None, where: str, params: list[Any],
                               backward: bool) -> list[tuple[int, str]]:
    """The page from the summaries: the customers with a figure (other than 0) down its
    index, and as many of the rest (0) as the page reaches down the customers' ids,
    merged."""
    if sort is CustomerSort.LIFETIME_VALUE:
        table, column, scope, scope_params = ("customer_value", "value", " AND f.currency = ?",
                                              [currency])
    else:
        column = "order_count" if sort is CustomerSort.ORDER_COUNT else "last_order_at"
        table, scope, scope_params = "customer_summary", "", []
    figure = f"f.{column} <> 0" if sort is not CustomerSort.LAST_ORDER else "1 = 1"
    beyond, order = (">", "ASC") if backward else ("<", "DESC")
    value: Any = None
    keyset, keyset_params = "", []
    if cursor is not None:
        value = _cursor_value(conn, sort, cursor[0])
        if sort is CustomerSort.LIFETIME_VALUE:  # kept in ten-thousandths: never more decimals
            value = int(Decimal(str(value)) * summary.VALUE_SCALE)
        mark = _typed(conn, sort) if sort is CustomerSort.LAST_ORDER else "?"
        keyset = f" AND (f.{column}, f.customer_id) {beyond} ({mark}, ?)"
        keyset_params = [value, cursor[1]]
    async with for_reports() as reading:
        rows = [(int(r["id"]), r["v"]) for r in await fetch(reading, f"""
            SELECT f.customer_id AS id, f.{column} AS v FROM {table} f
            JOIN customer cu ON cu.id = f.customer_id
            WHERE {figure}{scope}{keyset} AND {where}
            ORDER BY f.{column} {order}, f.customer_id {order} LIMIT ?""",
            [*scope_params, *keyset_params, *params, size + 1])]
        # The customers at 0 come after the positive figures (before them, backwards): read
        # them when the page reaches them.
        if sort is not CustomerSort.LAST_ORDER and _reaches_zero(rows, size, value, backward):
            ids, ids_params = "", []
            if value == 0 and cursor is not None:
                ids, ids_params = f" AND cu.id {beyond} ?", [cursor[1]]
            rows += [(int(r["id"]), 0) for r in await fetch(reading, f"""
                SELECT cu.id AS id FROM customer cu
                WHERE NOT EXISTS (SELECT 1 FROM {table} f WHERE f.customer_id = cu.id
                                  AND {figure}{scope}){ids} AND {where}
                ORDER BY cu.id {order} LIMIT ?""", [*scope_params, *ids_params, *params,
                                                     size + 1])]
    rows.sort(key=lambda r: (r[1], r[0]), reverse=not backward)
    if sort is CustomerSort.LIFETIME_VALUE:
        return [(i, str(Decimal(int(v)) / summary.VALUE_SCALE)) for i, v in rows[:size + 1]]
    return [(i, str(v)) for i, v in rows[:size + 1]]


def _reaches_zero(rows: list[tuple[int, Any]], size: int, start: int | None,
                  backward: bool) -> bool:
    """Whether a page of figures from ``start`` (None: the top) reaches the customers at 0."""
    if start is not None and (start > 0 if backward else start < 0):
        return False  # it starts past them
    return len(rows) <= size or (rows[-1][1] > 0 if backward else rows[-1][1] < 0)


def _typed(conn: Any, sort: CustomerSort) -> str:
    """A parameter placeholder PostgreSQL can type (SQLite compares as stored)."""
    if not is_postgres(conn):
        return "?"
    return {CustomerSort.LIFETIME_VALUE: "CAST(? AS NUMERIC)",
            CustomerSort.ORDER_COUNT: "CAST(? AS BIGINT)",
            CustomerSort.LAST_ORDER: "CAST(? AS TIMESTAMPTZ)"}[sort]


def _cursor_value(conn: Any, sort: CustomerSort, raw: str) -> Any:
    """The sort value of a cursor this list made; anything else is refused, never sent to SQL."""
    try:
        if sort is CustomerSort.ORDER_COUNT:
            count = int(raw)
            if not 0 <= count <= 2**31 - 1:
                raise ValueError(raw)
            return count
        if sort is CustomerSort.LIFETIME_VALUE:
            amount = Decimal(raw)
            if not amount.is_finite() or abs(amount) >= Decimal("1e20"):
                raise ValueError(raw)
            return amount if is_postgres(conn) else float(amount)
        moment = datetime.fromisoformat(raw)
        if not 1900 <= moment.year <= 9998:
            raise ValueError(raw)
        return moment if is_postgres(conn) else raw
    except (ValueError, ArithmeticError):
        raise InvalidInput("'after' is not a cursor from this list", field=("after",)) from None
