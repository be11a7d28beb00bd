"""An order's reservations go in one statement: each row's guard holds on its own, a row
that cannot is refused and named, and the caller's rollback leaves every row as it was."""

from __future__ import annotations

import pytest

from domain.catalog.models import Location
from domain.inventory.models import StockLevel, StockMovement
from domain.inventory.reservation import Hold, reserve_many
from domain.uow import unit_of_work
from tests import factories


class _RolledBack(Exception):
    pass


async def _level(sku: str, code: str) -> StockLevel:
    location = await Location.get(code=code)
    return await StockLevel.get(variant__sku=sku, location_id=location.id)


async def test_each_row_is_guarded_and_a_refusal_rolls_back_every_row(db: None) -> None:
    await factories.shop({"FITS": {"a": 5}, "SHORT": {"a": 2}, "BACK": {"a": 0}})
    fits, short, back = [await _level(sku, "a") for sku in ("FITS", "SHORT", "BACK")]
    movements = await StockMovement.all().count()
    with pytest.raises(_RolledBack):
        async with unit_of_work() as conn:
            refused = await reserve_many(conn, [
                Hold(fits, 3), Hold(fits, 2),  # 5 of 5 on one row: fits, summed
                Hold(short, 3),  # 3 of 2: refused
                Hold(back, 10, allow_negative=True),  # a backorder: no guard
            ])
            assert refused == {short.id}
            inside = {row.id: row.reserved for row in await StockLevel.filter(
                id__in=[fits.id, short.id, back.id]).using_db(conn)}
            assert inside == {fits.id: 5, short.id: 0, back.id: 10}
            raise _RolledBack  # what the order's capture does on any refusal
    after = {row.id: row.reserved for row in await StockLevel.all()}
    assert after[fits.id] == after[short.id] == after[back.id] == 0
    assert await StockMovement.all().count() == movements


async def test_a_row_whose_safety_stock_would_be_reached_is_refused(db: None) -> None:
    await factories.shop({"SAFE": {"a": 5}})
    level = await _level("SAFE", "a")
    await StockLevel.filter(id=level.id).update(safety_stock=2)
    async with unit_of_work() as conn:
        assert await reserve_many(conn, [Hold(level, 4)]) == {level.id}
        assert await reserve_many(conn, [Hold(level, 3)]) == set()
    assert (await StockLevel.get(id=level.id)).reserved == 3
