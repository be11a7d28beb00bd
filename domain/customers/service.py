"""Finding the customer an order belongs to."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.customers.models import Customer
from domain.errors import NotFound


async def customer_for_order(
    conn: BaseDBAsyncClient, *, customer_id: int | None, email: str | None,
    name: str | None = None,
) -> Customer | None:
    """The given customer, else the one with this email, created on first order."""
    if customer_id is not None:
        customer = await Customer.get_or_none(id=customer_id, using_db=conn)
        if customer is None:
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        return customer
    if email is None:
        return None
    # Insert-or-ignore keeps two first orders of one new customer from colliding.
    await Customer.bulk_create([Customer(email=email, name=name)], ignore_conflicts=True,
                               using_db=conn)
    return await Customer.get(email=email, using_db=conn)
