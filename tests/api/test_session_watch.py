"""One watch per process for every websocket session whose token can end: revocation looked
up once per interval for all of them, each session ended at its own expiry."""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from api import sessions
from api.sessions import SessionWatch
from domain.access import Kind, Principal
from domain.customers.models import Customer
from tests.support import GraphQLClient


def _customer(customer_id: int, *, issued_at: int, expires_at: int) -> Principal:
    return Principal(client=f"customer:{customer_id}", actor=f"customer:{customer_id}",
                     permissions=frozenset(), kind=Kind.CUSTOMER, customer_id=customer_id,
                     issued_at=issued_at, expires_at=expires_at)


async def test_revocation_is_looked_up_once_per_check_for_all_the_sessions(
    api: GraphQLClient, monkeypatch: Any,
) -> None:
    customers = [await Customer.create(email=f"c{n}@example.com", name=f"C {n}")
                 for n in range(3)]
    issued, expires = int(time.time()) - 60, int(time.time()) + 3600
    looked_up: list[set[tuple[int, float]]] = []
    real = sessions.revoked_sessions

    async def counted(tokens: Any) -> set[tuple[int, float]]:
        looked_up.append(set(tokens))
        return await real(tokens)

    monkeypatch.setattr(sessions, "revoked_sessions", counted)
    watch = SessionWatch(check_every=0.1)
    ended: dict[int, str] = {}
    all_ended = asyncio.Event()

    def ender(n: int) -> Any:
        async def end(reason: str) -> None:
            ended[n] = reason
            if len(ended) == 10:
                all_ended.set()
        return end

    try:
        for n in range(30):  # ten connections for each of three customers
            watch.watch(_customer(customers[n % 3].id, issued_at=issued, expires_at=expires),
                        ender(n))
        await Customer.filter(id=customers[0].id).update(sessions_revoked_at=datetime.now(UTC))
        await asyncio.wait_for(all_ended.wait(), 10)
    finally:
        await watch.close()
    assert ended == dict.fromkeys(range(0, 30, 3), "Token revoked")
    assert len(watch) == 20  # the other customers' sessions hold
    # each check looked up every customer's token at once, not one per connection
    everyone = {(c.id, issued) for c in customers}
    assert looked_up[0] == everyone
    assert all(tokens <= everyone for tokens in looked_up)


async def test_each_session_ends_at_its_own_expiry_unless_it_left_first(
    api: GraphQLClient,
) -> None:
    customer = await Customer.create(email="exp@example.com", name="Exp")
    now = int(time.time())
    watch = SessionWatch(check_every=3600)  # only expiries during this test
    ended: list[tuple[str, str]] = []
    first = asyncio.Event()

    def ender(name: str) -> Any:
        async def end(reason: str) -> None:
            ended.append((name, reason))
            first.set()
        return end

    try:
        # the watch sleeps towards the far expiry; a nearer one added later wakes it
        watch.watch(_customer(customer.id, issued_at=now, expires_at=now + 3600), ender("far"))
        await asyncio.sleep(0.05)
        leave = watch.watch(_customer(customer.id, issued_at=now, expires_at=now + 1),
                            ender("left"))
        watch.watch(_customer(customer.id, issued_at=now, expires_at=now + 1), ender("near"))
        leave()  # its connection closed before the token expired
        await asyncio.wait_for(first.wait(), 5)
        await asyncio.sleep(0.1)
    finally:
        await watch.close()
    assert ended == [("near", "Token expired")]
    assert len(watch) == 1


async def test_a_slow_revocation_check_holds_up_no_expiry(
    api: GraphQLClient, monkeypatch: Any,
) -> None:
    async def slow(found: Any) -> list[Any]:  # the database takes its time
        await asyncio.sleep(5)
        return []

    monkeypatch.setattr(sessions, "_revoked", slow)
    customer = await Customer.create(email="slow@example.com", name="Slow")
    now = int(time.time())
    watch = SessionWatch(check_every=0.05)
    expired = asyncio.Event()

    async def end(reason: str) -> None:
        expired.set()

    try:
        watch.watch(_customer(customer.id, issued_at=now, expires_at=now + 1), end)
        await asyncio.wait_for(expired.wait(), 2.5)  # on time, the check still running
    finally:
        await watch.close()


WHO: ContextVar[str] = ContextVar("who", default="nobody")


async def test_each_session_ends_in_its_own_connections_context(api: GraphQLClient) -> None:
    customer = await Customer.create(email="ctx@example.com", name="Ctx")
    now = int(time.time())
    watch = SessionWatch(check_every=3600)
    seen: dict[str, str] = {}
    both = asyncio.Event()

    async def connection(name: str) -> None:  # each websocket's task has its own context
        WHO.set(name)

        async def end(reason: str) -> None:
            seen[name] = WHO.get()
            if len(seen) == 2:
                both.set()

        watch.watch(_customer(customer.id, issued_at=now, expires_at=now + 1), end)

    try:
        await asyncio.gather(asyncio.create_task(connection("first")),
                             asyncio.create_task(connection("second")))
        await asyncio.wait_for(both.wait(), 5)
    finally:
        await watch.close()
    assert seen == {"first": "first", "second": "second"}
