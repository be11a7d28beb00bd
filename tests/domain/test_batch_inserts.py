"""Rows nobody needs the ids of go in multi-row statements, never one statement a row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.db import ROWS_PER_STATEMENT, Writes, atomic, connection, insert_many
from domain.marketplaces.models import MarketplaceListing
from domain.marketplaces.sync import dirty_marks
from domain.notifications.models import Channel, Notification


def _rows(events: range) -> list[Notification]:
    now = datetime.now(UTC)
    return [Notification(event_id=n, channel=Channel.EMAIL, kind="order_placed",
                         audience="customer", payload={"n": n}, next_attempt_at=now)
            for n in events]


def _counted(conn: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements ``conn`` sends from now on."""
    sent: list[str] = []
    original = conn.execute_query

    async def counted(sql: str, values: Any = None) -> Any:
        sent.append(sql)
        return await original(sql, values)

    monkeypatch.setattr(conn, "execute_query", counted)
    return sent


async def test_rows_go_in_statements_of_many_and_known_ones_are_skipped(
    db: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with atomic() as conn:
        sent = _counted(conn, monkeypatch)
        await insert_many(conn, _rows(range(2 * ROWS_PER_STATEMENT + 1)))
        assert len(sent) == 3
        sent.clear()
        # the first half again, and as many new ones: the known ones are left as they were
        await insert_many(conn, _rows(range(ROWS_PER_STATEMENT, 3 * ROWS_PER_STATEMENT)),
                          skip_existing=True)
        assert len(sent) == 2
    assert await Notification.all().count() == 3 * ROWS_PER_STATEMENT
    assert sorted(await Notification.all().values_list("event_id", flat=True)) == list(
        range(3 * ROWS_PER_STATEMENT))
    with pytest.raises(Exception):  # noqa: B017 - the database's own duplicate-key error
        async with atomic() as conn:
            await insert_many(conn, _rows(range(1)))


async def test_writes_owed_together_go_in_one_statement_on_postgresql(
    db: None, monkeypatch: pytest.MonkeyPatch, is_postgres: bool,
) -> None:
    """What a relay pass owes (notifications, deliveries, listings to push) is sent as one
    statement on PostgreSQL, as many as its parameters need when they are many."""
    await insert_many(connection(), _rows(range(1)))
    async with atomic() as conn:
        sent = _counted(conn, monkeypatch)
        writes = Writes()
        writes.insert(conn, _rows(range(1, 4)))
        writes.insert(conn, _rows(range(0, 1)), skip_existing=True)  # there already: left out
        marks = dirty_marks(["SHOE", "TEE"])
        assert marks is not None
        writes.add(*marks)  # no marketplace is connected: nothing to mark
        await writes.send(conn)
        assert len(sent) == (1 if is_postgres else 3)
        sent.clear()
        many = 5 * ROWS_PER_STATEMENT  # 15 parameters a row: more than one statement holds
        writes.insert(conn, _rows(range(10, 10 + many)))
        await writes.send(conn)
        assert len(sent) == (2 if is_postgres else 5)
    assert await Notification.all().count() == 4 + many
    assert await MarketplaceListing.all().count() == 0
