"""Document numbers: gapless per series and year, e.g. INV-2026-000001.

The next number is one UPDATE of the series' counter row (``counter`` named
``invoice:<series>:<year>``) in the transaction that inserts the document: the row stays
locked until that transaction ends, so numbers are taken one after another, and a
rollback gives its number back with everything else.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import fetch
from domain.orders.models import Counter

_TAKE = "UPDATE counter SET value = value + 1 WHERE name = ? RETURNING value"


def counter_name(series: str, year: int) -> str:
    return f"invoice:{series}:{year}"


def format_number(series: str, year: int, sequence: int) -> str:
    return f"{series}-{year}-{sequence:06d}"


async def take_number(conn: BaseDBAsyncClient, series: str, year: int) -> int:
    """The series' next number this year, taken inside the caller's transaction."""
    name = counter_name(series, year)
    rows = await fetch(conn, _TAKE, [name])
    if not rows:  # the series' first document this year
        # Two first documents at once: the second insert waits for the first to commit,
        # inserts nothing, and its UPDATE then reads the committed row.
        await Counter.bulk_create([Counter(name=name, value=0)], ignore_conflicts=True,
                                  using_db=conn)
        rows = await fetch(conn, _TAKE, [name])
    return int(rows[0]["value"])
