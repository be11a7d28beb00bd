"""The sales summaries always equal the sales computed from the orders themselves.

A generated year of history, then the changes a shop sees every day (orders
placed, cancelled, reserved, shipped, refunded, re-dated) while reports are
read: each time, every grouping, in time zones whose offsets are whole,
half and three-quarter hours, with and without a channel or location
filter, answers the same from the summaries as from the orders.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from api.history import seed_history
from api.seed import seed_demo_if_empty
from domain.access import ADMIN, Scope
from domain.db import connection, fetch
from domain.money import quantize
from domain.orders import lifecycle
from domain.orders.models import Order, OrderStatus
from domain.reports.rollup import refresh
from domain.reports.sales import GroupBy, SalesQuery, sales_query, zone
from tests import factories

ZONES = ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns"]


async def _assert_summaries_match(start: date, end: date) -> None:
    cases = [(group, tz, None, None) for group in GroupBy for tz in ZONES]
    cases += [(group, tz, "web", None) for group in GroupBy for tz in ("UTC", "Asia/Kathmandu")]
    cases += [(group, tz, None, "berlin-wh") for group in GroupBy
              for tz in ("UTC", "America/St_Johns")]
    for group, tz, channel, location in cases:
        summary = await sales_query(scope=Scope(ADMIN), start=start, end=end, time_zone=tz, group_by=group,
                                    channel=channel, location=location)
        orders = SalesQuery(start=start, end=end, tz=zone(tz), group_by=group, channel=channel,
                            location=location, summaries=False)
        case = (group, tz, channel, location)
        assert await summary.rows() == await orders.rows(), case
        assert await summary.totals() == await orders.totals(), case
        assert await summary.top_skus() == await orders.top_skus(), case


async def test_summaries_equal_the_orders_through_a_day_of_changes(api: object) -> None:
    await seed_demo_if_empty()
    await seed_history(250, seed=11)
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=366), today + timedelta(days=1)
    await _assert_summaries_match(start, end)
    noted = await fetch(connection(), "SELECT COUNT(*) AS n FROM report_dirty")
    assert noted[0]["n"] == 0  # every note taken by the refresh

    history = await Order.all().order_by("id")
    sold = [o for o in history if o.status is OrderStatus.COMPLETED]
    for order in sold[:4]:  # refunds, some of them partial
        await factories.refund(order, quantize(order.subtotal / (2 if order.id % 2 else 1),
                                               order.currency))
    for order in sold[4:8]:  # re-dated across quarter hours, days and months
        await Order.filter(id=order.id).update(
            created_at=order.created_at + timedelta(days=order.id % 40, minutes=37))
    for order in [o for o in history if o.status is OrderStatus.CONFIRMED][:3]:
        await lifecycle.cancel_order(order_id=order.id, reason=None, actor="test")
    placed = [await factories.place({"BOTTLE-750": 2, "TEE-MERINO-M": 1}) for _ in range(3)]
    await lifecycle.cancel_order(order_id=placed[0].id, reason=None,  # type: ignore[attr-defined]
                                 actor="test")
    await _assert_summaries_match(start, end)
    assert await refresh() == 0  # nothing left to do


async def test_a_refund_said_nothing_of_is_charged_to_the_lines_by_what_remains(
        api: object) -> None:
    await factories.shop({"SHOE": {"a": 10}, "TEE": {"a": 10}})
    order = await factories.place({"SHOE": 2, "TEE": 1})  # 20.00 + 10.00
    await factories.refund(order, "10.00")
    today = datetime.now(UTC).date()
    report = await sales_query(scope=Scope(ADMIN), start=today, end=today, time_zone="UTC",
                               group_by=GroupBy.SKU)
    assert [(r.group, r.gross, r.refunds, r.net) for r in await report.rows()] == [
        ("SHOE", Decimal("20.00"), Decimal("6.67"), Decimal("13.33")),
        ("TEE", Decimal("10.00"), Decimal("3.33"), Decimal("6.67"))]
    assert [(t.refunds, t.net) for t in await report.totals()] == [
        (Decimal("10.00"), Decimal("20.00"))]


async def test_the_background_pass_brings_the_summaries_up_to_date(api: object) -> None:
    import asyncio

    from domain.background import Periodic

    await factories.shop({"SHOE": {"a": 10}})
    await factories.place({"SHOE": 2})

    async def noted() -> int:
        return int((await fetch(connection(), "SELECT COUNT(*) AS n FROM report_dirty"))[0]["n"])

    assert await noted() > 0
    loop = Periodic("sales-summaries", refresh, interval=0.05)
    loop.start()
    try:
        for _ in range(100):
            if await noted() == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await loop.stop()
    assert await noted() == 0
    summed = await fetch(connection(), "SELECT SUM(units) AS units FROM sales_slot"
                                       " WHERE location_id = 0")
    assert int(summed[0]["units"]) == 2
