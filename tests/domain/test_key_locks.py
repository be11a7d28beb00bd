"""Advisory keys taken inside the statement that finds or creates an order's customer
(domain/db.py::KeyLocks): held as soon as the statement has run, and the customer's row
locked so that other orders' foreign-key checks do not wait for it."""

from __future__ import annotations

import asyncpg
import pytest

from api.settings import Settings
from domain.customers.models import Customer
from domain.customers.service import customer_for_order
from domain.db import KeyLocks, advisory_key
from domain.uow import unit_of_work


class _RolledBack(Exception):
    pass


async def _in_other_session(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    other = await asyncpg.connect(url)
    try:
        return await other.fetch(sql, *args)
    finally:
        await other.close()


async def _held_elsewhere(url: str, keys: list[int]) -> list[bool]:
    """Whether a session of its own finds each key taken (it holds none it finds free: its
    transaction ends with the check)."""
    rows = await _in_other_session(url, "SELECT k, pg_try_advisory_xact_lock(k) AS free FROM "
                                        "unnest(CAST($1 AS bigint[])) AS k", keys)
    free = {row["k"]: row["free"] for row in rows}
    return [not free[key] for key in keys]


@pytest.mark.parametrize("existing", [True, False])
async def test_the_customer_statement_holds_every_key_once_it_has_run(
    needs_postgres: None, db: None, settings: Settings, existing: bool
) -> None:
    if existing:
        await Customer.create(email="kim@example.com", name="Kim")
    locks = KeyLocks(keys=sorted([advisory_key("a"), advisory_key("b")]))
    with pytest.raises(_RolledBack):
        async with unit_of_work() as conn:
            customer, held = await customer_for_order(
                conn, customer_id=None, email="kim@example.com", name="Kim", locks=locks)
            assert customer is not None
            assert held == set(locks.keys)
            assert await _held_elsewhere(settings.database_url, [*locks.keys]) == [True, True]
            raise _RolledBack
    assert await _held_elsewhere(settings.database_url, [*locks.keys]) == [False, False]


async def test_a_customer_found_for_an_order_holds_off_no_other_order_naming_it(
    needs_postgres: None, db: None, settings: Settings,
) -> None:
    """The customer's row is locked FOR NO KEY UPDATE, not FOR UPDATE: another order's
    foreign-key check on it (FOR KEY SHARE) goes on at once. The stronger lock made a staff
    order naming the customer wait for the storefront's, which waited for its stock rows."""
    await Customer.create(email="kim@example.com", name="Kim")
    locks = KeyLocks(keys=[advisory_key("a")])
    with pytest.raises(_RolledBack):
        async with unit_of_work() as conn:
            customer, _ = await customer_for_order(
                conn, customer_id=None, email="kim@example.com", name="Kim", locks=locks)
            assert customer is not None
            rows = await _in_other_session(settings.database_url, "SELECT id FROM customer "
                                           "WHERE id = $1 FOR KEY SHARE NOWAIT", customer.id)
            assert [row["id"] for row in rows] == [customer.id]
            raise _RolledBack
