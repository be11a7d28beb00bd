"""Reserving and releasing units for orders: guarded statements, each row's result checked
(DESIGN rule 1); an order's reservations go in one statement (``reserve_many``), or ride in
the statement that writes the order (``guarded_reservation``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import metrics
from domain.db import execute, fetch, is_postgres
from domain.inventory.models import MovementKind, StockLevel, StockMovement

_RELEASE = (
    "UPDATE stock_level SET reserved = reserved - ?, updated_at = ? WHERE id = ? AND reserved >= ?"
)


async def lock_levels(
    conn: BaseDBAsyncClient, variant_ids: Iterable[int], location_ids: Iterable[int]
) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock rows of these variants at these locations, in primary-key order.

    Every writer locks in the same order, so concurrent orders over the same
    SKUs wait for each other instead of deadlocking.
    """
    rows = await (
        StockLevel.filter(variant_id__in=list(variant_ids), location_id__in=list(location_ids))
        .order_by("id").select_for_update().using_db(conn)
    )
    return {(row.variant_id, row.location_id): row for row in rows}


def locking_levels(variant_ids: Sequence[int], location_ids: Sequence[int]
                   ) -> tuple[str, list[object]] | None:
    """``lock_levels``' query on PostgreSQL, for a caller's own statement (None: no rows to
    lock); its rows become stock rows through ``levels_of``. The ids are array parameters:
    one statement text however many there are, prepared once per connection."""
    if not variant_ids or not location_ids:
        return None
    columns = ", ".join(f'"{column}"' for column in StockLevel._meta.fields_db_projection.values())
    return (f"SELECT {columns} FROM stock_level WHERE variant_id = ANY(CAST(? AS BIGINT[])) "
            "AND location_id = ANY(CAST(? AS BIGINT[])) ORDER BY id FOR UPDATE",
            [list(variant_ids), list(location_ids)])


def levels_of(rows: Iterable[dict[str, object]]) -> dict[tuple[int, int], StockLevel]:
    """The stock rows ``locking_levels`` read (rows without an id skipped: none found)."""
    levels = [StockLevel._init_from_db(**row) for row in rows if row.get("id") is not None]
    return {(level.variant_id, level.location_id): level for level in levels}


async def ensure_levels(
    conn: BaseDBAsyncClient, pairs: Iterable[tuple[int, int]]
) -> None:
    """Create empty stock rows for (variant, location) pairs that have none."""
    await StockLevel.bulk_create(
        [StockLevel(variant_id=v, location_id=loc) for v, loc in pairs],
        ignore_conflicts=True, using_db=conn,
    )


@dataclass(frozen=True)
class Hold:
    """Units to reserve on one stock row; ``allow_negative`` for backorderable variants."""

    level: StockLevel
    quantity: int
    allow_negative: bool = False


@dataclass(frozen=True)
class GuardedReservation:
    """``reserve_many``'s one guarded UPDATE, built but not sent: sent alone, or carried in
    a caller's own statement as a CTE (an order's reservations ride in the statement that
    writes the order), then settled with the ids of the rows it changed."""

    holds: Sequence[Hold]
    sql: str  # UPDATE ... RETURNING stock_level.id, with ? placeholders
    params: list[object]

    def settle(self, done: Iterable[int]) -> set[int]:
        """The ids of the rows that refused (those changed nothing, the others did: the
        caller rolls back on a refusal); the holds' rows updated for those that did."""
        reserved = set(done)
        refused = {hold.level.id for hold in self.holds} - reserved
        if refused:
            metrics.count("reservation_conflicts")
        for hold in self.holds:
            if hold.level.id in reserved:
                hold.level.reserved += hold.quantity
        return refused


def guarded_reservation(holds: Sequence[Hold], *,
                        arrays: bool = False) -> GuardedReservation | None:
    """The guarded statement of these holds (None: nothing to reserve).

    Each row's own guard (available units, ``on_hand - reserved - safety_stock``, cover
    the hold) is checked in the statement, and each row's result is read back through
    RETURNING. Holds on the same row (one variant at one location: the same policy) are
    summed. With ``arrays`` (PostgreSQL) the rows are three array parameters: one
    statement text however many rows, prepared once per connection.
    """
    merged: dict[int, list[int]] = {}
    for hold in holds:
        entry = merged.setdefault(hold.level.id, [0, 0])
        entry[0] += hold.quantity
        entry[1] |= int(hold.allow_negative)
    if not merged:
        return None
    params: list[object] = [datetime.now(UTC)]
    if arrays:
        rows = ("unnest(CAST(? AS BIGINT[]), CAST(? AS INTEGER[]), CAST(? AS INTEGER[])) "
                "AS w(column1, column2, column3)")
        params += [list(merged), [q for q, _ in merged.values()], [u for _, u in merged.values()]]
    else:
        rows = "(VALUES {}) AS w".format(", ".join(
            ["(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS INTEGER))"] * len(merged)))
        for level_id, (quantity, unguarded) in merged.items():
            params += [level_id, quantity, unguarded]
    sql = ("UPDATE stock_level SET reserved = stock_level.reserved + w.column2, updated_at = ? "
           f"FROM {rows} WHERE stock_level.id = w.column1 AND (w.column3 = 1 "
           "OR stock_level.on_hand - stock_level.reserved - stock_level.safety_stock "
           ">= w.column2) RETURNING stock_level.id")
    return GuardedReservation(holds, sql, params)


async def reserve_many(conn: BaseDBAsyncClient, holds: Sequence[Hold]) -> set[int]:
    """Reserve on many rows in one guarded statement (``guarded_reservation``); return the
    ids of the rows that could not."""
    reservation = guarded_reservation(holds, arrays=is_postgres(conn))
    if reservation is None:
        return set()
    rows = await fetch(conn, reservation.sql, reservation.params)
    return reservation.settle(int(row["id"]) for row in rows)


def reservation_movement(hold: Hold, *, reference: str, actor: str) -> StockMovement:
    """The ledger row of a hold ``reserve_many`` took, for the caller's batch insert."""
    return StockMovement(stock_level_id=hold.level.id, kind=MovementKind.RESERVATION,
                         reserved_delta=hold.quantity, reference=reference, actor=actor)


async def release(
    conn: BaseDBAsyncClient, stock_level_id: int, quantity: int, *, reference: str, actor: str,
    reason: str | None = None,
) -> None:
    """Give reserved units back to sale; the row must hold at least that many reserved."""
    changed = await execute(conn, _RELEASE, [quantity, datetime.now(UTC), stock_level_id, quantity])
    if changed != 1:
        raise RuntimeError(f"stock row {stock_level_id} holds fewer than {quantity} reserved units")
    await StockMovement.create(
        stock_level_id=stock_level_id, kind=MovementKind.RELEASE, reserved_delta=-quantity,
        reference=reference, actor=actor, reason=reason, using_db=conn,
    )


_SHIP = (
    "UPDATE stock_level SET on_hand = on_hand - ?, reserved = reserved - ?, updated_at = ? "
    "WHERE id = ? AND on_hand >= ? AND reserved >= ?"
)
_UNSHIP = (
    "UPDATE stock_level SET on_hand = on_hand + ?, reserved = reserved + ?, updated_at = ? "
    "WHERE id = ?"
)


async def ship_units(
    conn: BaseDBAsyncClient, stock_level_id: int, quantity: int, *, reference: str, actor: str
) -> bool:
    """Reserved units leave the shelf: on hand and reserved both drop. False if not on hand."""
    now = datetime.now(UTC)
    params = [quantity, quantity, now, stock_level_id, quantity, quantity]
    if await execute(conn, _SHIP, params) != 1:
        return False
    await StockMovement.create(
        stock_level_id=stock_level_id, kind=MovementKind.SHIPMENT, on_hand_delta=-quantity,
        reserved_delta=-quantity, reference=reference, actor=actor, using_db=conn,
    )
    return True


async def unship_units(
    conn: BaseDBAsyncClient, stock_level_id: int, quantity: int, *, reference: str, actor: str
) -> None:
    """Undo a dispatch that never left: the units are back on hand, reserved for the order."""
    await execute(conn, _UNSHIP, [quantity, quantity, datetime.now(UTC), stock_level_id])
    await StockMovement.create(
        stock_level_id=stock_level_id, kind=MovementKind.SHIPMENT, on_hand_delta=quantity,
        reserved_delta=quantity, reference=reference, actor=actor,
        reason="shipment cancelled before it left", using_db=conn,
    )
