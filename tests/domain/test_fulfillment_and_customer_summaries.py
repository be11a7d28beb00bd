"""The fulfilment report and the customers list answer from their summaries exactly as
from the orders and parcels themselves.

A generated year of history, then the changes a shop sees (parcels shipped and
delivered, at times whose hours fall on a rounding tie or a promise's edge, carriers
changed, parcels and orders cancelled, orders held, refunded, re-dated and moved to
another customer, new orders): each time, in time zones whose offsets are whole, half
and three-quarter hours, with and without a channel or location and for two promises,
the report is the same from the summaries as from the orders; and every customers list
walked page by page, forwards and back, holds the same customers with the same figures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from api.history import seed_history
from api.seed import seed_demo_if_empty
from domain.access import ADMIN, Scope
from domain.annotations.models import ObjectKind, Tag
from domain.customers.models import Customer
from domain.db import connection, fetch
from domain.fulfillment.models import Shipment, ShipmentStatus
from domain.money import quantize
from domain.orders import lifecycle
from domain.orders.models import Order, OrderStatus
from domain.reports import summaries
from domain.reports.customers import CustomerSort, customer_page
from domain.reports.fulfillment import FulfillmentReport, fulfillment_report
from tests import factories

ZONES = ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns"]
FILTERS = [(None, None), ("web", None), (None, "berlin-wh"), ("app", "paris-wh")]


async def _reports(start: date, end: date, *, summaries: bool) -> list[FulfillmentReport]:
    return [await fulfillment_report(scope=Scope(ADMIN), start=start, end=end, time_zone=tz,
                                     channel=channel, location=location,
                                     promise_hours=promise, summaries=summaries)
            for tz in ZONES for channel, location in FILTERS for promise in (48, 13)]


async def _walk(sort: CustomerSort, *, summaries: bool, tag: str | None = None,
                email: str | None = None) -> list[tuple[int, str]]:
    """Every customer of the list, page by page, and again backwards from its end."""
    def page(cursor: tuple[str, int] | None, backward: bool = False) -> Any:
        return customer_page(scope=Scope(ADMIN), sort=sort, currency="EUR", size=17,
                             cursor=cursor, email_contains=email, backward=backward, tag=tag,
                             summaries=summaries)

    walked: list[tuple[int, str]] = []
    cursor = None
    while True:
        rows = await page(cursor)
        walked += rows[:17]
        if len(rows) <= 17:
            break
        cursor = (rows[16][1], rows[16][0])
    back: list[tuple[int, str]] = []
    cursor = (walked[-1][1], walked[-1][0]) if walked else None
    while cursor is not None:
        rows = await page(cursor, backward=True)
        back = list(reversed(rows[:17])) + back
        cursor = (rows[16][1], rows[16][0]) if len(rows) > 17 else None
    assert back + walked[-1:] == walked
    return walked


def _value(sort: CustomerSort, text: str) -> Any:
    if sort is CustomerSort.LIFETIME_VALUE:  # SQLite adds up amounts in floating point
        return Decimal(text).quantize(Decimal("0.0001"))
    if sort is CustomerSort.ORDER_COUNT:
        return int(text)
    return datetime.fromisoformat(text).astimezone(UTC)


async def _assert_summaries_match(start: date, end: date, *, whole_history: bool = True) -> None:
    reports = await _reports(start, end, summaries=True)
    assert reports == await _reports(start, end, summaries=False)
    # The whole year holds every kind of row; what a narrower window holds depends on the day
    # the suite runs, so there only the parcels are sure to be there.
    assert reports[0].rows
    if whole_history:
        assert reports[0].split_orders and reports[0].cancelled and reports[0].on_hold
    for sort in CustomerSort:
        for tag, email in ((None, None), ("vip", None), (None, "1")):
            listed = [(_value(sort, v), i) for i, v in await _walk(
                sort, summaries=True, tag=tag, email=email)]
            orders = [(_value(sort, v), i) for i, v in await _walk(
                sort, summaries=False, tag=tag, email=email)]
            # Best first, ties by id; the same customers with the same figures as the orders'
            # (whose floating-point sums on SQLite may order near-equal values otherwise).
            assert listed == sorted(listed, key=lambda p: (p[0], p[1]), reverse=True)
            assert listed == sorted(orders, key=lambda p: (p[0], p[1]), reverse=True), (
                sort, tag, email)


async def _changes() -> None:
    """A day of the changes the summaries are made of."""
    history = await Order.all().order_by("id")
    shipped = await Shipment.filter(shipped_at__not_isnull=True).order_by("id")
    start = datetime.now(UTC) - timedelta(days=3)
    for i, order in enumerate(history[:6]):  # new parcels: rounding ties, a promise's edge
        placed = order.created_at
        await Shipment.create(
            order_id=order.id, location_id=shipped[i].location_id, carrier=[None, "ups"][i % 2],
            status=ShipmentStatus.IN_TRANSIT,
            shipped_at=placed + [timedelta(minutes=33), timedelta(minutes=39),
                                 timedelta(hours=13), timedelta(hours=13, microseconds=1),
                                 timedelta(seconds=1980.5), timedelta(minutes=-3)][i],
            delivered_at=placed + timedelta(hours=20 + i, minutes=9) if i % 3 else None)
    for parcel in shipped[6:12]:  # delivered, or delivered again later
        await Shipment.filter(id=parcel.id).update(
            delivered_at=(parcel.shipped_at or start) + timedelta(hours=parcel.id % 50,
                                                                  minutes=3))
    await Shipment.filter(id=shipped[12].id).update(carrier="dpd-express")
    await Shipment.filter(id=shipped[13].id).update(status=ShipmentStatus.CANCELLED)
    await Shipment.filter(id=shipped[14].id).delete()
    sold = [o for o in history if o.status is OrderStatus.COMPLETED]
    for order in sold[:4]:  # refunds, some of them partial
        await factories.refund(order, quantize(order.subtotal / (2 if order.id % 2 else 1),
                                               order.currency))
    for order in sold[4:8]:  # re-dated across quarter hours, days and months
        await Order.filter(id=order.id).update(
            created_at=order.created_at + timedelta(days=order.id % 40, minutes=37))
    known = [o for o in history if o.customer_id is not None]
    await Order.filter(id=known[0].id).update(customer_id=known[-1].customer_id)
    confirmed = [o for o in history[6:] if o.status is OrderStatus.CONFIRMED]
    for order in confirmed[:3]:
        await lifecycle.cancel_order(order_id=order.id, reason="late", actor="test")
    await Order.filter(id=confirmed[3].id).update(status=OrderStatus.ON_HOLD,
                                                  hold_reason="address check")
    # Each column the summaries read, changed alone: a hold's reason, a cancellation's
    # reason, an order's total.
    held = await Order.filter(status=OrderStatus.ON_HOLD).exclude(id=confirmed[3].id).first()
    assert held is not None
    await Order.filter(id=held.id).update(hold_reason="fraud review")
    gone = await Order.filter(status=OrderStatus.CANCELLED).order_by("id").first()
    assert gone is not None
    await Order.filter(id=gone.id).update(cancel_reason="changed mind")
    valued = next(o for o in reversed(history) if o.customer_id is not None
                  and o.status is OrderStatus.COMPLETED)
    await Order.filter(id=valued.id).update(total=valued.total + 17)
    placed = [await factories.place({"BOTTLE-750": 2, "TEE-MERINO-M": 1},
                                    email="new1@example.com") for _ in range(3)]
    await lifecycle.cancel_order(order_id=placed[0].id, reason=None,  # type: ignore[attr-defined]
                                 actor="test")


async def _tag_some() -> None:
    for customer in (await Customer.all().order_by("id"))[::5]:
        await Tag.create(kind=ObjectKind.CUSTOMER.value, object_id=customer.id, tag="vip")


async def test_the_summaries_equal_the_orders_through_a_day_of_changes(api: object) -> None:
    await seed_demo_if_empty()
    await seed_history(300, seed=5)
    await _tag_some()
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=366), today + timedelta(days=1)
    await _assert_summaries_match(start, end)
    assert (await fetch(connection(), "SELECT COUNT(*) AS n FROM summary_dirty"))[0]["n"] == 0
    await _changes()
    await _assert_summaries_match(start, end)
    await _assert_summaries_match(today - timedelta(days=40), today - timedelta(days=2),
                                  whole_history=False)
    assert await summaries.refresh() == 0  # nothing left to do


async def test_without_the_refresh_the_summaries_fall_behind(
        api: object, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_demo_if_empty()
    await seed_history(120, seed=7)
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=366), today + timedelta(days=1)
    await _assert_summaries_match(start, end)

    async def skipped() -> int:
        return 0

    monkeypatch.setattr(summaries, "refresh", skipped)
    await _changes()
    assert await _reports(start, end, summaries=True) != await _reports(start, end,
                                                                        summaries=False)
    listed = await _walk(CustomerSort.ORDER_COUNT, summaries=True)
    assert listed != await _walk(CustomerSort.ORDER_COUNT, summaries=False)
    monkeypatch.undo()
    await _assert_summaries_match(start, end)
