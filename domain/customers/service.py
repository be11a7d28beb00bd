"""Finding the customer an order belongs to."""

from __future__ import annotations

from typing import NamedTuple

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.customers.models import Customer
from domain.db import KeyLocks, fetch, insert_sql
from domain.errors import NotFound


class OrderCustomer(NamedTuple):
    """Who an order is for: all an order keeps of its customer."""

    id: int
    email: str
    customer_group_id: int | None = None  # whose price lists the order is priced at
    tax_exempt: bool = False
    tax_number: str | None = None


async def customer_for_order(
    conn: BaseDBAsyncClient, *, customer_id: int | None, email: str | None,
    name: str | None = None, locks: KeyLocks | None = None,
) -> tuple[OrderCustomer | None, frozenset[int]]:
    """The given customer, else the one with this email, created on first order; and the
    advisory keys it locked (``locks``: taken, before the customer's row is, by the statement
    that finds the customer by email; none otherwise)."""
    if customer_id is not None:
        customer = await Customer.get_or_none(id=customer_id, using_db=conn)
        if customer is None:
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        return OrderCustomer(customer.id, customer.email, customer.customer_group_id,
                             customer.tax_exempt, customer.tax_number), frozenset()
    if email is None:
        return None, frozenset()
    # One statement whoever wins a race of two first orders: the new row, or the existing
    # one through an update that changes nothing and returns it; with ``locks``, taken first.
    # The update sets a column no unique index covers, so the row is locked FOR NO KEY
    # UPDATE: other orders' foreign-key checks on it (FOR KEY SHARE) do not wait for it.
    with_locks, lock_params = locks.cte() if locks is not None else ("", [])
    sql, params = insert_sql(conn, [Customer(email=email, name=name)],
                             source="l" if locks is not None else None)
    rows = await fetch(conn, f"{with_locks}{sql} ON CONFLICT (email) DO UPDATE SET "
                             "name = customer.name RETURNING id, email, customer_group_id, "
                             "tax_exempt, tax_number", [*lock_params, *params])
    group = rows[0]["customer_group_id"]
    buyer = OrderCustomer(int(rows[0]["id"]), str(rows[0]["email"]),
                          int(group) if group is not None else None,
                          bool(rows[0]["tax_exempt"]), rows[0]["tax_number"])
    return buyer, frozenset(locks.keys if locks is not None else ())


async def customer_group_of(conn: BaseDBAsyncClient, customer_id: int | None) -> int | None:
    """The group a customer buys in (None: none, or no customer)."""
    if customer_id is None:
        return None
    found = await Customer.filter(id=customer_id).using_db(conn).first()
    return found.customer_group_id if found is not None else None
