"""Rows nobody needs the ids of go in multi-row statements, never one statement a row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.db import ROWS_PER_STATEMENT, atomic, insert_many
from domain.notifications.models import Channel, Notification


def _rows(events: range) -> list[Notification]:
    now = datetime.now(UTC)
    return [Notification(event_id=n, channel=Channel.EMAIL, kind="order_placed",
                         audience="customer", payload={"n": n}, next_attempt_at=now)
            for n in events]


async def test_rows_go_in_statements_of_many_and_known_ones_are_skipped(
    db: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[str] = []
    async with atomic() as conn:
        original = conn.execute_query

        async def counted(sql: str, values: Any = None) -> Any:
            sent.append(sql)
            return await original(sql, values)

        monkeypatch.setattr(conn, "execute_query", counted)
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
