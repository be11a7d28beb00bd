"""Advisory keys taken inside the statement that writes a row (domain/db.py::KeyLocks): the
keys PostgreSQL computes are the ones Python computes, and they are held, the row's own
among them when the row was there before, as soon as the statement has run."""

from __future__ import annotations

import asyncpg
import pytest

from api.settings import Settings
from domain.customers.models import Customer
from domain.customers.service import customer_for_order
from domain.db import KeyLocks, advisory_key, advisory_key_sql, connection, fetch
from domain.uow import unit_of_work


class _RolledBack(Exception):
    pass


@pytest.mark.parametrize("name", ["oms:risk:customer:42", "oms:risk:email:zoë@example.com",
                                  "oms:risk:address:1 rue de l'église|75001|fr", ""])
async def test_postgresql_computes_the_keys_python_computes(
    needs_postgres: None, db: None, name: str
) -> None:
    rows = await fetch(connection(), f"SELECT {advisory_key_sql('CAST(? AS TEXT)')} AS k",
                       [name])
    assert rows[0]["k"] == advisory_key(name)


async def _held_elsewhere(url: str, keys: list[int]) -> list[bool]:
    """Whether a session of its own finds each key taken (it holds none it finds free: its
    transaction ends with the check)."""
    other = await asyncpg.connect(url)
    try:
        rows = await other.fetch("SELECT k, pg_try_advisory_xact_lock(k) AS free FROM "
                                 "unnest(CAST($1 AS bigint[])) AS k", keys)
    finally:
        await other.close()
    free = {row["k"]: row["free"] for row in rows}
    return [not free[key] for key in keys]


@pytest.mark.parametrize("existing", [True, False])
async def test_the_customer_statement_holds_every_key_once_it_has_run(
    needs_postgres: None, db: None, settings: Settings, existing: bool
) -> None:
    if existing:
        await Customer.create(email="kim@example.com", name="Kim")
    locks = KeyLocks(keys=sorted([advisory_key("a"), advisory_key("b")]), per_id="test:")
    with pytest.raises(_RolledBack):
        async with unit_of_work() as conn:
            customer, covered = await customer_for_order(
                conn, customer_id=None, email="kim@example.com", name="Kim", locks=locks)
            assert customer is not None
            own = advisory_key(f"test:{customer.id}")
            assert covered == {*locks.keys, own}
            # A new customer's own key needs no lock: nobody names a row not committed.
            assert await _held_elsewhere(settings.database_url, [*locks.keys, own]) == [
                True, True, existing]
            raise _RolledBack
    assert await _held_elsewhere(settings.database_url, [*locks.keys]) == [False, False]


def test_a_rows_own_key_counts_as_held_when_it_was_found_or_inserted() -> None:
    locks = KeyLocks(keys=[1, 2], per_id="test:")
    own = advisory_key("test:7")
    assert locks.covered(7, 7, inserted=False) == {1, 2, own}  # found, and locked
    assert locks.covered(None, 7, inserted=True) == {1, 2, own}  # new: nobody names it
    # committed by another transaction while the statement waited: the caller locks it
    assert locks.covered(None, 7, inserted=False) == {1, 2}


async def test_a_customer_found_for_an_order_holds_off_no_other_order_naming_it(
    needs_postgres: None, db: None, settings: Settings,
) -> None:
    """The customer's row is locked FOR NO KEY UPDATE, not FOR UPDATE: another order's
    foreign-key check on it (FOR KEY SHARE) goes on at once. The stronger lock made a staff
    order naming the customer wait for the storefront's, which waited for its stock rows."""
    await Customer.create(email="kim@example.com", name="Kim")
    locks = KeyLocks(keys=[advisory_key("a")], per_id="test:")
    with pytest.raises(_RolledBack):
        async with unit_of_work() as conn:
            customer, _ = await customer_for_order(
                conn, customer_id=None, email="kim@example.com", name="Kim", locks=locks)
            assert customer is not None
            other = await asyncpg.connect(settings.database_url)
            try:
                rows = await other.fetch("SELECT id FROM customer WHERE id = $1 "
                                         "FOR KEY SHARE NOWAIT", customer.id)
            finally:
                await other.close()
            assert [row["id"] for row in rows] == [customer.id]
            raise _RolledBack
