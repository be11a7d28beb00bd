"""What one orderCreate costs PostgreSQL, counted as the server receives it.

Every statement any pooled connection sends is counted at the asyncpg connection, the last
step before the wire: the transaction's BEGIN and COMMIT, every query, each row of an
executemany, and what the pool sends when a connection goes back to it. Only what is sent on
behalf of the measured request is counted (a context variable set around the call, which the
request's task inherits), so the app's background loops polling at the same moment are not.
A change that adds a statement to the order path fails here; lower the budget when a change
saves one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
import pytest

from domain.events.models import OrderEvent, OutboxMessage
from domain.events.ports import order_topic
from domain.inventory.models import StockMovement
from domain.orders.models import Allocation, Order, OrderLine
from tests import factories
from tests.support import GraphQLClient

# Statements for one new customer's two-line order, pool chatter included, once the process
# has the channel and the variants in its catalogue cache (domain/catalog/cache.py), screened
# for risk with the product's defaults (the merchant's risk settings kept in the process too,
# domain/risk/cache.py). Four for the order itself: the customer, found or created by the
# statement that first locks the buyer's keys (so parallel orders of one buyer are counted one
# after the other); the buyer's recent orders and usual spend, read by the statement that
# locks the stock rows; the reservations, the number and the order; the lines and the rest.
BUDGET = 6  # with BEGIN and COMMIT

CREATE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number status lines { sku quantity } } userErrors { code message } } }"""


_measured: ContextVar[bool] = ContextVar("measured", default=False)


class _Counter:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def record(self, *queries: str) -> None:
        if _measured.get():
            self.sent.extend(queries)

    @asynccontextmanager
    async def measuring(self) -> AsyncIterator[list[str]]:
        """Counts what the code run inside the block sends, and only that."""
        self.sent.clear()
        token = _measured.set(True)
        try:
            yield self.sent
        finally:
            _measured.reset(token)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counter]:
    counter = _Counter()
    connection = asyncpg.connection.Connection
    execute, execute_many, run = connection.execute, connection._executemany, connection._execute

    async def counted_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            counter.record(query)
        return await execute(self, query, *args, **kwargs)

    async def counted_run(self: Any, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        counter.record(query)
        return await run(self, query, args, *rest, **kwargs)

    async def counted_many(self: Any, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        args = list(args)
        counter.record(*[query] * len(args))
        return await execute_many(self, query, args, *rest, **kwargs)

    monkeypatch.setattr(connection, "execute", counted_execute)
    monkeypatch.setattr(connection, "_execute", counted_run)
    monkeypatch.setattr(connection, "_executemany", counted_many)
    yield counter


async def _warmed(api: GraphQLClient) -> dict[str, Any]:
    """A shop whose first order is placed: the counter row exists, and the catalogue cache
    holds the channel and both SKUs. Returns the input of the order to measure."""
    await factories.shop({"A": {"east": 5, "west": 5}, "B": {"east": 3}})
    warm = {"input": {"channel": "web", "email": "first@example.com",
                      "shippingAddress": factories.address(),
                      "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]}}
    assert (await api(CREATE, warm))["orderCreate"]["order"]
    return {"input": {"channel": "web", "email": "buyer@example.com",
                      "shippingAddress": factories.address(),
                      "lines": [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]}}


async def test_an_order_costs_the_database_at_most_its_budget(
    needs_postgres: None, api: GraphQLClient, local_relay_stopped: None, statements: _Counter,
    risk_screening: None,
) -> None:
    order = await _warmed(api)
    async with statements.measuring() as sent:
        result = (await api(CREATE, order))["orderCreate"]
    assert result["userErrors"] == []
    assert result["order"]["number"] == "1002"
    assert any('INSERT INTO "orders"' in sql for sql in sent), sent  # it was counted
    assert len(sent) <= BUDGET, "\n".join(sent)
    # Every write is still there: fewer statements, not fewer rows.
    placed = await Order.get(number="1002")
    lines = await OrderLine.filter(order_id=placed.id)
    assert sorted((ln.sku, ln.quantity) for ln in lines) == [("A", 2), ("B", 1)]
    allocations = await Allocation.filter(order_line__order_id=placed.id).prefetch_related(
        "order_line")
    assert sorted((a.order_line.sku, a.quantity) for a in allocations) == [("A", 2), ("B", 1)]
    assert await StockMovement.filter(reference=f"order:{placed.id}").count() == 2
    events = await OrderEvent.filter(order_id=placed.id).order_by("sequence")
    assert [(e.sequence, e.type) for e in events] == [(1, "ORDER_PLACED"),
                                                      (2, "STOCK_RESERVED")]
    assert await OutboxMessage.filter(topic=order_topic(placed.id)).count() == 2


async def test_an_idempotency_key_costs_the_order_two_statements(
    needs_postgres: None, api: GraphQLClient, local_relay_stopped: None, statements: _Counter,
    risk_screening: None,
) -> None:
    """The key is claimed in the order's transaction and its result written there: nothing
    is read before, and a retry reads the stored answer without placing anything."""
    order = await _warmed(api)
    order["input"]["idempotencyKey"] = "cart-1"
    async with statements.measuring() as sent:
        placed = (await api(CREATE, order))["orderCreate"]
    assert placed["userErrors"] == [] and placed["order"]["number"] == "1002"
    assert len([sql for sql in sent if "idempotency_record" in sql]) == 2, sent
    assert len(sent) <= BUDGET + 2, "\n".join(sent)
    async with statements.measuring() as again:
        retried = (await api(CREATE, order))["orderCreate"]
    assert retried["order"] == placed["order"]
    assert not any('INTO "orders"' in sql or "stock_level" in sql for sql in again), again
    assert await Order.all().count() == 2


async def test_a_checkout_with_a_payment_reads_the_order_no_more_after_the_payment(
    needs_postgres: None, api: GraphQLClient, local_relay_stopped: None, statements: _Counter,
) -> None:
    """A payment waiting for the money (cash on delivery) changes nothing of the order: the
    answer shows the order as placed, not read again once the payment is open."""
    await factories.shop({"A": {"east": 5}})
    query = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
        order { number paymentStatus } payment { status } userErrors { code } } }"""
    variables = {"input": {"channel": "web", "email": "buyer@example.com",
                           "shippingAddress": factories.address(),
                           "lines": [{"sku": "A", "quantity": 1}],
                           "payment": {"provider": "manual", "method": "cash_on_delivery"}}}
    async with statements.measuring() as sent:
        placed = (await api(query, variables))["orderCreate"]
    assert placed["userErrors"] == [] and placed["payment"] == {"status": "PENDING"}
    assert placed["order"]["paymentStatus"] == "UNPAID"
    last_payment = max(i for i, sql in enumerate(sent) if "payment_operation" in sql)
    after = [sql for sql in sent[last_payment + 1:] if '"orders"' in sql or " orders " in sql]
    assert after == [], after


async def test_orders_of_any_size_lock_and_reserve_with_the_same_statements(
    needs_postgres: None, api: GraphQLClient, local_relay_stopped: None, statements: _Counter,
    risk_screening: None,
) -> None:
    """The stock rows' lock and the guarded reservation take their rows as array
    parameters: one statement text however many lines, which each connection prepares once
    (a text per size was parsed, planned and prepared again, a round trip more, for every
    new size on every connection)."""
    await factories.shop({"A": {"east": 9, "west": 9}, "B": {"east": 9}, "C": {"west": 9}})
    sent_by_size = []
    for n, skus in enumerate((["A"], ["A", "B", "C"])):
        variables = {"input": {"channel": "web", "email": f"buyer{n}@example.com",
                               "shippingAddress": factories.address(),
                               "lines": [{"sku": sku, "quantity": 1} for sku in skus]}}
        async with statements.measuring() as sent:
            assert (await api(CREATE, variables))["orderCreate"]["userErrors"] == []
        sent_by_size.append([sql for sql in sent if "FOR UPDATE" in sql
                             or "UPDATE stock_level" in sql])
    assert len(sent_by_size[0]) == 2, sent_by_size[0]  # the lock, the reservation
    assert sent_by_size[0] == sent_by_size[1]
