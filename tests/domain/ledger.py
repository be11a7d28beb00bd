"""The ledger check: every stock row equals the sums of its ledger rows."""

from __future__ import annotations

from tortoise.functions import Sum

from domain.inventory.models import StockLevel, StockMovement


async def assert_ledger_matches() -> None:
    sums = {
        row["stock_level_id"]: (row["on_hand"] or 0, row["reserved"] or 0)
        for row in await StockMovement.all()
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
        .group_by("stock_level_id")
        .values("stock_level_id", "on_hand", "reserved")
    }
    for level in await StockLevel.all():
        assert sums.get(level.id, (0, 0)) == (level.on_hand, level.reserved), (
            f"stock row {level.id}: on hand {level.on_hand}, reserved {level.reserved}, "
            f"ledger says {sums.get(level.id)}"
        )
