"""The sales report over a small hand-computed history: time zones, currencies, refunds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.orders import lifecycle
from domain.orders.models import Order, OrderLine
from tests import factories
from tests.support import GraphQLClient

REPORT = """query($from: Date!, $to: Date!, $by: SalesGroupBy!, $tz: String!, $ch: String,
               $loc: String) {
  salesReport(from: $from, to: $to, groupBy: $by, timeZone: $tz, channel: $ch, location: $loc) {
    rows { group currency orders units grossSales { amount } refunds { amount }
           netSales { amount } }
    totals { currency orders units grossSales { amount } refunds { amount } netSales { amount }
             averageOrderValue { amount } }
    topSkus { group units } } }"""


async def _history() -> None:
    await factories.shop({"SHOE": {"a": 50}, "TEE": {"a": 50}})
    await factories.channel("us", currency="USD", locations=["a"])
    await factories.product("HAT", price="5.00", currency="USD")
    await factories.stock("HAT", {"a": 50})

    async def at(when: str, lines: dict[str, int], channel: str = "web") -> Any:
        order = await factories.place(lines, channel=channel)
        stamp = datetime.fromisoformat(when).replace(tzinfo=UTC)
        await Order.filter(id=order.id).update(created_at=stamp)  # type: ignore[attr-defined]
        return order

    await at("2099-03-01T22:30:00", {"SHOE": 2})  # Berlin: 1 March; Tokyo: 2 March
    await at("2099-03-01T23:30:00", {"TEE": 1})  # Berlin: 2 March
    cancelled = await at("2099-03-02T10:00:00", {"SHOE": 1})
    await lifecycle.cancel_order(order_id=cancelled.id, reason=None, actor="test")
    await at("2099-03-02T12:00:00", {"HAT": 3}, channel="us")
    refunded = await at("2099-03-03T09:00:00", {"SHOE": 1})
    await factories.refund(refunded, "10.00")


async def _report(api: GraphQLClient, by: str, tz: str = "UTC", **extra: Any) -> dict[str, Any]:
    variables = {"from": "2099-03-01", "to": "2099-03-03", "by": by, "tz": tz, **extra}
    return (await api(REPORT, variables))["salesReport"]


def _rows(report: dict[str, Any]) -> list[tuple[str, str, int, int, str, str]]:
    return [(r["group"], r["currency"], r["orders"], r["units"], r["grossSales"]["amount"],
             r["netSales"]["amount"]) for r in report["rows"]]


async def test_sales_by_day_in_utc_and_in_berlin(api: GraphQLClient) -> None:
    await _history()
    utc = await _report(api, "DAY")
    assert _rows(utc) == [
        ("2099-03-01", "EUR", 2, 3, "30.00", "30.00"),
        ("2099-03-02", "USD", 1, 3, "15.00", "15.00"),
        ("2099-03-03", "EUR", 1, 1, "10.00", "0.00"),
    ]
    assert [(t["currency"], t["orders"], t["units"], t["grossSales"]["amount"],
             t["refunds"]["amount"], t["netSales"]["amount"], t["averageOrderValue"]["amount"])
            for t in utc["totals"]] == [
        ("EUR", 3, 4, "40.00", "10.00", "30.00", "13.33"),
        ("USD", 1, 3, "15.00", "0.00", "15.00", "15.00"),
    ]
    berlin = await _report(api, "DAY", tz="Europe/Berlin")
    assert _rows(berlin) == [
        ("2099-03-01", "EUR", 1, 2, "20.00", "20.00"),
        ("2099-03-02", "EUR", 1, 1, "10.00", "10.00"),
        ("2099-03-02", "USD", 1, 3, "15.00", "15.00"),
        ("2099-03-03", "EUR", 1, 1, "10.00", "0.00"),
    ]


async def test_sales_by_month_channel_and_sku(api: GraphQLClient) -> None:
    await _history()
    assert _rows(await _report(api, "MONTH")) == [
        ("2099-03", "EUR", 3, 4, "40.00", "30.00"), ("2099-03", "USD", 1, 3, "15.00", "15.00")]
    assert _rows(await _report(api, "CHANNEL")) == [
        ("us", "USD", 1, 3, "15.00", "15.00"), ("web", "EUR", 3, 4, "40.00", "30.00")]
    by_sku = await _report(api, "SKU", ch="web")
    assert [(r["group"], r["orders"], r["units"], r["grossSales"]["amount"])
            for r in by_sku["rows"]] == [("SHOE", 2, 3, "30.00"), ("TEE", 1, 1, "10.00")]
    assert [(t["group"], t["units"]) for t in (await _report(api, "DAY"))["topSkus"]] == [
        ("HAT", 3), ("SHOE", 3), ("TEE", 1)]


async def test_sales_by_location_and_at_one_location(api: GraphQLClient, app: Any) -> None:
    from domain.catalog.models import Location
    from domain.fulfillment import service as fulfillment

    await factories.shop({"SHOE": {"a": 2, "b": 1}, "TEE": {"a": 10}})
    await factories.product("HAT", track_inventory=False)
    split = await factories.place({"SHOE": 3})  # two units reserved at a, one at b
    await factories.place({"TEE": 2})  # reserved at a
    await factories.place({"HAT": 1})  # untracked: reserved nowhere, not shipped yet
    cancelled = await factories.place({"TEE": 1})
    await lifecycle.cancel_order(order_id=cancelled.id, reason=None, actor="test")  # type: ignore[attr-defined]
    await lifecycle.confirm_order(order_id=split.id, actor="test")  # type: ignore[attr-defined]
    carriers = app.state.services.carriers
    a = await Location.get(code="a")
    shipment = await fulfillment.create_shipment(order_id=split.id,  # type: ignore[attr-defined]
                                                 location_id=a.id, carriers=carriers, actor="test")
    await fulfillment.ship_shipment(shipment_id=shipment.id, carriers=carriers, actor="test")
    await factories.refund(split, "6.00")  # 4.00 of it on a's 20.00, 2.00 on b's 10.00
    today = datetime.now(UTC).date().isoformat()
    variables = {"from": today, "to": today, "tz": "UTC"}

    report = (await api(REPORT, {**variables, "by": "LOCATION"}))["salesReport"]
    assert [(r["group"], r["orders"], r["units"], r["grossSales"]["amount"],
             r["refunds"]["amount"], r["netSales"]["amount"]) for r in report["rows"]] == [
        ("UNASSIGNED", 1, 1, "10.00", "0.00", "10.00"),
        ("a", 2, 4, "40.00", "4.00", "36.00"),  # two shipped, two reserved
        ("b", 1, 1, "10.00", "2.00", "8.00"),
    ]
    assert [(t["orders"], t["units"], t["grossSales"]["amount"], t["refunds"]["amount"])
            for t in report["totals"]] == [(3, 6, "60.00", "6.00")]
    at_a = (await api(REPORT, {**variables, "by": "SKU", "loc": "a"}))["salesReport"]
    assert [(r["group"], r["orders"], r["units"], r["grossSales"]["amount"],
             r["refunds"]["amount"]) for r in at_a["rows"]] == [
        ("SHOE", 1, 2, "20.00", "4.00"), ("TEE", 1, 2, "20.00", "0.00")]
    assert [(t["orders"], t["units"], t["grossSales"]["amount"], t["refunds"]["amount"])
            for t in at_a["totals"]] == [(2, 4, "40.00", "4.00")]
    by_sku = (await api(REPORT, {**variables, "by": "SKU"}))["salesReport"]
    assert [(r["group"], r["units"], r["refunds"]["amount"]) for r in by_sku["rows"]] == [
        ("HAT", 1, "0.00"), ("SHOE", 3, "6.00"), ("TEE", 2, "0.00")]
    top = await api("""query($d: Date!) { salesReport(from: $d, to: $d) {
        topSkus(first: 1) { group units } } }""", {"d": today})
    assert top["salesReport"]["topSkus"] == [{"group": "SHOE", "units": 3}]

    for extra in ({"loc": "nowhere"}, {"ch": "nowhere"}):
        errors = await api.errors(REPORT, {**variables, "by": "DAY", **extra})
        assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
        assert "nowhere" in errors[0]["message"]
    errors = await api.errors("""query($d: Date!) { salesReport(from: $d, to: $d) {
        topSkus(first: 0) { group } } }""", {"d": today})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    response = await api.http.get(
        f"/reports/sales.csv?from={today}&to={today}&groupBy=LOCATION&location=b",
        headers={"Authorization": "Bearer test-admin-token"})
    assert response.text.splitlines()[1:] == ["b,EUR,1,1,10.00,0.00,2.00,8.00,10.00",
                                              "TOTAL,EUR,1,1,10.00,0.00,2.00,8.00,10.00"]


async def test_bad_report_arguments_are_refused(api: GraphQLClient) -> None:
    errors = await api.errors(REPORT, {"from": "2099-03-01", "to": "2099-03-03", "by": "DAY",
                                       "tz": "Mars/Olympus"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    errors = await api.errors(REPORT, {"from": "2099-03-05", "to": "2099-03-03", "by": "DAY",
                                       "tz": "UTC"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    errors = await api.errors(REPORT, {"from": "2099-03-01", "to": "2099-03-03", "by": "DAY",
                                       "tz": "UTC"}, admin=False)
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_sales_report_as_csv(api: GraphQLClient) -> None:
    await _history()
    url = "/reports/sales.csv?from=2099-03-01&to=2099-03-03&groupBy=CHANNEL"
    response = await api.http.get(url, headers={"Authorization": "Bearer test-admin-token"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "group,currency,orders,units,gross_sales,discounts,refunds,net_sales,average_order_value",
        "us,USD,1,3,15.00,0.00,0.00,15.00,15.00",
        "web,EUR,3,4,40.00,0.00,10.00,30.00,13.33",
        "TOTAL,EUR,3,4,40.00,0.00,10.00,30.00,13.33",
        "TOTAL,USD,1,3,15.00,0.00,0.00,15.00,15.00",
    ]
    assert (await api.http.get(url)).status_code == 401
    bad = await api.http.get("/reports/sales.csv?from=x&to=y",
                             headers={"Authorization": "Bearer test-admin-token"})
    assert bad.status_code == 400


async def test_the_returns_report(api: GraphQLClient, app: Any) -> None:
    from domain.fulfillment import service as fulfillment
    from domain.orders.models import OrderLine
    from domain.returns import service as returns

    await factories.shop({"SHOE": {"a": 50}, "TEE": {"a": 50}})
    order = await factories.place({"SHOE": 4, "TEE": 2})
    await lifecycle.confirm_order(order_id=order.id, actor="test")  # type: ignore[attr-defined]
    carriers = app.state.services.carriers
    shipment = await fulfillment.create_shipment(order_id=order.id,  # type: ignore[attr-defined]
                                                 carriers=carriers, actor="test")
    await fulfillment.ship_shipment(shipment_id=shipment.id, carriers=carriers, actor="test")
    shoe = await OrderLine.get(order_id=order.id, sku="SHOE")  # type: ignore[attr-defined]
    location = (await api("{ locations { id } }"))["locations"][0]["id"]
    from api.graphql.relay import from_global_id

    location_pk = from_global_id(location)[1]  # type: ignore[index]
    for reason, restock in (("too small", True), ("damaged", False)):
        asked = await returns.request_return(
            order_id=order.id, actor="test",  # type: ignore[attr-defined]
            lines=[returns.ReturnLineRequest(shoe.id, 1, reason)])
        await returns.approve_return(return_id=asked.id, actor="test")
        await returns.receive_return(return_id=asked.id, location_id=location_pk, actor="test",
                                     lines=[returns.ReceivedLine(shoe.id, 1, restock)])
        await factories.pay(order)
        await returns.refund_return(return_id=asked.id, gateways=factories.gateways(),  # type: ignore[arg-type]
                                    actor="test")
    today = datetime.now(UTC).date().isoformat()
    report = (await api("""query($d: Date!) { returnsReport(from: $d, to: $d) {
        skus { sku unitsSold unitsReturned returnRate restocked writtenOff }
        reasons { reason units } refunds { amount currency } } }""", {"d": today}))[
        "returnsReport"]
    assert report["skus"] == [
        {"sku": "SHOE", "unitsSold": 4, "unitsReturned": 2, "returnRate": "0.5000",
         "restocked": 1, "writtenOff": 1},
        {"sku": "TEE", "unitsSold": 2, "unitsReturned": 0, "returnRate": "0.0000",
         "restocked": 0, "writtenOff": 0},
    ]
    assert report["reasons"] == [{"reason": "damaged", "units": 1},
                                 {"reason": "too small", "units": 1}]
    assert report["refunds"] == [{"amount": "20.00", "currency": "EUR"}]
    response = await api.http.get(f"/reports/returns.csv?from={today}&to={today}",
                                  headers={"Authorization": "Bearer test-admin-token"})
    assert response.text.splitlines() == [
        "sku,units_sold,units_returned,return_rate,restocked,written_off",
        "SHOE,4,2,0.5000,1,1", "TEE,2,0,0.0000,0,0"]

    at = """query($d: Date!, $at: String!) { returnsReport(from: $d, to: $d, location: $at) {
        skus { sku unitsSold unitsReturned returnRate restocked writtenOff }
        reasons { reason units } refunds { amount currency } } }"""
    assert (await api(at, {"d": today, "at": "a"}))["returnsReport"] == report  # all from a
    await factories.location("b")
    assert (await api(at, {"d": today, "at": "b"}))["returnsReport"] == {
        "skus": [], "reasons": [], "refunds": []}
    errors = await api.errors(at, {"d": today, "at": "nowhere"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


CUSTOMERS = """query($by: CustomerSort!, $cur: String, $after: String) {
  customers(first: 2, sortBy: $by, currency: $cur, after: $after) {
    edges { node { email orderCount lifetimeValue { amount currency }
      averageOrderValue { amount } preferredChannel firstOrderAt lastOrderAt } }
    pageInfo { hasNextPage endCursor } } }"""


async def test_customers_with_what_their_orders_tell(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 50}})
    await factories.channel("app", locations=["a"])
    await factories.place({"SHOE": 3}, email="big@example.com")  # 30.00
    await factories.place({"SHOE": 1}, email="big@example.com", channel="app")  # 10.00
    await factories.place({"SHOE": 1}, email="big@example.com", channel="app")  # 10.00
    await factories.place({"SHOE": 2}, email="mid@example.com")  # 20.00
    small = await factories.place({"SHOE": 5}, email="small@example.com")
    await lifecycle.cancel_order(order_id=small.id, reason=None, actor="test")  # type: ignore[attr-defined]
    await factories.place({"SHOE": 1}, email="small@example.com")  # 10.00

    first = (await api(CUSTOMERS, {"by": "LIFETIME_VALUE", "cur": "EUR"}))["customers"]
    nodes = [e["node"] for e in first["edges"]]
    assert [(n["email"], n["orderCount"], n["lifetimeValue"], n["averageOrderValue"],
             n["preferredChannel"]) for n in nodes] == [
        ("big@example.com", 3, [{"amount": "50.00", "currency": "EUR"}],
         [{"amount": "16.67"}], "app"),
        ("mid@example.com", 1, [{"amount": "20.00", "currency": "EUR"}],
         [{"amount": "20.00"}], "web"),
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = (await api(CUSTOMERS, {"by": "LIFETIME_VALUE", "cur": "EUR",
                                  "after": first["pageInfo"]["endCursor"]}))["customers"]
    assert [e["node"]["email"] for e in rest["edges"]] == ["small@example.com"]
    by_count = (await api(CUSTOMERS, {"by": "ORDER_COUNT"}))["customers"]
    assert [e["node"]["email"] for e in by_count["edges"]] == [
        "big@example.com", "small@example.com"]
    by_last = (await api(CUSTOMERS, {"by": "LAST_ORDER"}))["customers"]
    assert [e["node"]["email"] for e in by_last["edges"]] == [
        "small@example.com", "mid@example.com"]
    errors = await api.errors(CUSTOMERS, {"by": "LIFETIME_VALUE"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


INVENTORY = """query($from: Date!, $to: Date!, $loc: String, $only: Boolean!) {
  inventoryReport(from: $from, to: $to, location: $loc, noSaleDays: 30, attentionOnly: $only) {
    rows { sku location onHand reserved available unitsSold turnover daysOfCover
           oldestUnsoldDays lastSaleAt belowThreshold noRecentSale }
    belowThreshold noRecentSale } }"""


async def test_the_inventory_report(api: GraphQLClient) -> None:
    from datetime import timedelta

    from domain.inventory.models import MovementKind, StockLevel, StockMovement
    from tests.domain.ledger import assert_ledger_matches

    await factories.shop({"SHOE": {"a": 0}, "TEE": {"a": 0, "b": 0}})
    await StockMovement.all().delete()
    now = datetime.now(UTC)
    shoe = await StockLevel.get(variant__sku="SHOE", location__code="a")
    tee = await StockLevel.get(variant__sku="TEE", location__code="a")
    history = [  # (level, kind, on hand, reserved, days ago)
        (shoe, MovementKind.COUNT, 10, 0, 100),
        (shoe, MovementKind.SHIPMENT, -6, 0, 60),
        (shoe, MovementKind.RECEIPT, 20, 0, 40),
        (shoe, MovementKind.RESERVATION, 0, 11, 4),
        (shoe, MovementKind.SHIPMENT, -5, -5, 3),  # sold in the period
        (shoe, MovementKind.SHIPMENT, -2, -2, 2),
        (shoe, MovementKind.SHIPMENT, 1, 1, 2),  # a dispatch undone: nets to one sold
        (tee, MovementKind.COUNT, 5, 0, 200),
    ]
    for level, kind, on_hand, reserved, days in history:
        await StockMovement.create(stock_level_id=level.id, kind=kind, on_hand_delta=on_hand,
                                   reserved_delta=reserved,
                                   created_at=now - timedelta(days=days))
    await StockLevel.filter(id=shoe.id).update(on_hand=18, reserved=5, low_stock_threshold=15)
    await StockLevel.filter(id=tee.id).update(on_hand=5, reserved=0)
    await assert_ledger_matches()

    period = {"from": (now - timedelta(days=9)).date().isoformat(), "to": now.date().isoformat()}
    report = (await api(INVENTORY, {**period, "only": False}))["inventoryReport"]
    last_sale = report["rows"][0].pop("lastSaleAt")
    assert datetime.fromisoformat(last_sale) == now - timedelta(days=2)
    assert report["rows"] == [
        # 18 on hand are the 20 received 40 days ago (first in, first out), 6 sold in 10
        # days: 13 available last 13 / 0.6 = 21.7 days.
        {"sku": "SHOE", "location": "a", "onHand": 18, "reserved": 5, "available": 13,
         "unitsSold": 6, "turnover": "0.33", "daysOfCover": "21.7", "oldestUnsoldDays": 40,
         "belowThreshold": True, "noRecentSale": False},
        {"sku": "TEE", "location": "a", "onHand": 5, "reserved": 0, "available": 5,
         "unitsSold": 0, "turnover": "0.00", "daysOfCover": None, "oldestUnsoldDays": 200,
         "lastSaleAt": None, "belowThreshold": False, "noRecentSale": True},
        {"sku": "TEE", "location": "b", "onHand": 0, "reserved": 0, "available": 0,
         "unitsSold": 0, "turnover": None, "daysOfCover": None, "oldestUnsoldDays": None,
         "lastSaleAt": None, "belowThreshold": False, "noRecentSale": True},
    ]
    assert (report["belowThreshold"], report["noRecentSale"]) == (1, 2)

    url = f"/reports/inventory.csv?from={period['from']}&to={period['to']}&noSaleDays=30"
    response = await api.http.get(url, headers={"Authorization": "Bearer test-admin-token"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("sku,location,on_hand,reserved,available,units_sold,turnover")
    assert lines[1].startswith("SHOE,a,18,5,13,6,0.33,21.7,40,")
    assert lines[2:] == ["TEE,a,5,0,5,0,0.00,,200,,False,True", "TEE,b,0,0,0,0,,,,,False,True"]
    assert (await api.http.get(url)).status_code == 401
    bad = await api.http.get(url.removesuffix("30") + "0",
                             headers={"Authorization": "Bearer test-admin-token"})
    assert bad.status_code == 400

    only_b = (await api(INVENTORY, {**period, "loc": "b", "only": False}))["inventoryReport"]
    assert [(r["sku"], r["location"]) for r in only_b["rows"]] == [("TEE", "b")]
    await StockLevel.filter(id=shoe.id).update(low_stock_threshold=None)
    attention = (await api(INVENTORY, {**period, "only": True}))["inventoryReport"]
    assert [(r["sku"], r["location"]) for r in attention["rows"]] == [("TEE", "a"), ("TEE", "b")]
    errors = await api.errors("""{ inventoryReport(from: "2099-01-01", to: "2099-01-02",
                                   noSaleDays: 0) { belowThreshold } }""")
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    errors = await api.errors(INVENTORY, {**period, "loc": "nowhere", "only": False})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST" and "nowhere" in errors[0]["message"]


async def test_the_inventory_report_for_one_channel(api: GraphQLClient, app: Any) -> None:
    from domain.fulfillment import service as fulfillment

    await factories.shop({"SHOE": {"a": 10, "b": 10}})  # web: from a and b
    await factories.channel("shop-a", locations=["a"])
    carriers = app.state.services.carriers
    for channel, units in (("shop-a", 2), ("web", 1)):
        order = await factories.place({"SHOE": units}, channel=channel)
        await lifecycle.confirm_order(order_id=order.id, actor="test")  # type: ignore[attr-defined]
        parcel = await fulfillment.create_shipment(
            order_id=order.id, carriers=carriers, actor="test")  # type: ignore[attr-defined]
        await fulfillment.ship_shipment(shipment_id=parcel.id, carriers=carriers, actor="test")
    today = datetime.now(UTC).date().isoformat()
    query = """query($d: Date!, $ch: String) { inventoryReport(from: $d, to: $d, channel: $ch) {
        rows { sku location onHand unitsSold lastSaleAt } } }"""
    own = (await api(query, {"d": today, "ch": "shop-a"}))["inventoryReport"]["rows"]
    assert [(r["sku"], r["location"], r["unitsSold"]) for r in own] == [("SHOE", "a", 2)]
    assert own[0]["lastSaleAt"] is not None
    web = (await api(query, {"d": today, "ch": "web"}))["inventoryReport"]["rows"]
    assert [r["location"] for r in web] == ["a", "b"] and sum(r["unitsSold"] for r in web) == 1
    every = (await api(query, {"d": today}))["inventoryReport"]["rows"]
    assert sum(r["unitsSold"] for r in every) == 3
    errors = await api.errors(query, {"d": today, "ch": "nowhere"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


async def test_the_fulfillment_report(api: GraphQLClient) -> None:
    from datetime import timedelta

    from domain.catalog.models import Location
    from domain.fulfillment.models import Shipment, ShipmentStatus
    from domain.orders.models import OrderStatus

    await factories.shop({"SHOE": {"a": 50}})
    a = await Location.get(code="a")
    start = datetime(2099, 3, 1, tzinfo=UTC)
    hours = [timedelta(hours=h) for h in range(100)]
    orders = []
    for i in range(5):
        order = await factories.place({"SHOE": 1})
        await Order.filter(id=order.id).update(created_at=start + hours[i])
        orders.append(order)
    parcels = [  # (order, carrier, hours to ship, hours to deliver)
        (0, "dhl", 10, 34), (0, "dhl", 60, None), (1, "ups", 20, 44), (2, "dhl", 30, 70)]
    for i, carrier, ship, deliver in parcels:
        placed = start + hours[i]
        await Shipment.create(order_id=orders[i].id, location_id=a.id, carrier=carrier,
                              status=ShipmentStatus.IN_TRANSIT, shipped_at=placed + hours[ship],
                              delivered_at=placed + hours[deliver] if deliver else None)
    await Order.filter(id=orders[3].id).update(status=OrderStatus.ON_HOLD,
                                               hold_reason="fraud check")
    await lifecycle.cancel_order(order_id=orders[4].id, reason="changed mind", actor="test")

    report = (await api("""{ fulfillmentReport(from: "2099-03-01", to: "2099-03-01") {
        rows { location carrier shipments hoursToShipMedian hoursToShipP90
               hoursToDeliverMedian hoursToDeliverP90 shippedWithinPromise }
        orders splitShipmentRate onHoldRate cancelledRate
        onHold { reason orders } cancelled { reason orders } } }"""))["fulfillmentReport"]
    assert report["rows"] == [
        # dhl: shipped after 10, 30 and 60 hours (one late), delivered after 34 and 70.
        {"location": "a", "carrier": "dhl", "shipments": 3, "hoursToShipMedian": "30.0",
         "hoursToShipP90": "60.0", "hoursToDeliverMedian": "34.0", "hoursToDeliverP90": "70.0",
         "shippedWithinPromise": "0.6667"},
        {"location": "a", "carrier": "ups", "shipments": 1, "hoursToShipMedian": "20.0",
         "hoursToShipP90": "20.0", "hoursToDeliverMedian": "44.0", "hoursToDeliverP90": "44.0",
         "shippedWithinPromise": "1.0000"},
    ]
    assert (report["orders"], report["splitShipmentRate"], report["onHoldRate"],
            report["cancelledRate"]) == (5, "0.2000", "0.2000", "0.2000")
    assert report["onHold"] == [{"reason": "fraud check", "orders": 1}]
    assert report["cancelled"] == [{"reason": "changed mind", "orders": 1}]
    response = await api.http.get("/reports/fulfillment.csv?from=2099-03-01&to=2099-03-01",
                                  headers={"Authorization": "Bearer test-admin-token"})
    assert response.text.splitlines()[1:] == ["a,dhl,3,30.0,60.0,34.0,70.0,0.6667",
                                              "a,ups,1,20.0,20.0,44.0,44.0,1.0000"]
    strict = (await api("""{ fulfillmentReport(from: "2099-03-01", to: "2099-03-01",
        promiseHours: 12) { rows { shippedWithinPromise } } }"""))["fulfillmentReport"]
    assert [r["shippedWithinPromise"] for r in strict["rows"]] == ["0.3333", "0.0000"]
    errors = await api.errors("""{ fulfillmentReport(from: "2099-03-01", to: "2099-03-01",
                                   promiseHours: 0) { orders } }""")
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"

    # At one location: its parcels, and the orders that shipped or reserved units there.
    b = await factories.location("b")
    elsewhere = await factories.place({"SHOE": 1})
    await Order.filter(id=elsewhere.id).update(created_at=start)  # type: ignore[attr-defined]
    await Shipment.create(order_id=elsewhere.id, location_id=b.id, carrier="ups",  # type: ignore[attr-defined]
                          status=ShipmentStatus.IN_TRANSIT, shipped_at=start + hours[5])
    at = """query($at: String!) { fulfillmentReport(from: "2099-03-01", to: "2099-03-01",
        location: $at) { orders cancelledRate rows { location carrier shipments } } }"""
    at_b = (await api(at, {"at": "b"}))["fulfillmentReport"]
    assert at_b == {"orders": 1, "cancelledRate": "0.0000",
                    "rows": [{"location": "b", "carrier": "ups", "shipments": 1}]}
    at_a = (await api(at, {"at": "a"}))["fulfillmentReport"]  # all six reserved there
    assert (at_a["orders"], at_a["cancelledRate"]) == (6, "0.1667")
    assert [r["shipments"] for r in at_a["rows"]] == [3, 1]
    errors = await api.errors(at, {"at": "nowhere"})
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_generated_history_feeds_every_report(api: GraphQLClient) -> None:
    from datetime import timedelta

    from api.history import seed_history
    from api.seed import seed_demo_if_empty
    from domain.fulfillment.models import Shipment, ShipmentLine
    from domain.inventory.models import StockMovement
    from domain.orders.models import OrderStatus
    from tests.domain.ledger import assert_ledger_matches

    await seed_demo_if_empty()
    await seed_history(300, seed=1)
    await assert_ledger_matches()
    now = datetime.now(UTC)  # history: nothing shipped, delivered or moved after now
    assert not await Shipment.filter(delivered_at__gt=now).exists()
    assert not await StockMovement.filter(created_at__gt=now).exists()
    today = now.date()
    period = {"from": (today - timedelta(days=366)).isoformat(), "to": today.isoformat()}
    placed = await Order.all().count()
    sold = await Order.exclude(status=OrderStatus.CANCELLED).count()
    report = (await api("""query($from: Date!, $to: Date!) {
        salesReport(from: $from, to: $to, groupBy: MONTH) { totals { orders } }
        fulfillmentReport(from: $from, to: $to) { orders rows { shipments } }
        inventoryReport(from: $from, to: $to) { rows { unitsSold } } }""", period))
    assert placed == 300
    assert report["salesReport"]["totals"] == [{"orders": sold}]
    assert report["fulfillmentReport"]["orders"] == placed
    assert sum(r["shipments"] for r in report["fulfillmentReport"]["rows"]) \
        == await Shipment.all().count()
    shipped = sum(line.quantity for line in await ShipmentLine.all())
    assert sum(r["unitsSold"] for r in report["inventoryReport"]["rows"]) == shipped
    best = (await api("""{ customers(first: 1, sortBy: ORDER_COUNT) {
        edges { node { email orderCount } } } }"""))["customers"]["edges"][0]["node"]
    assert best["orderCount"] == await Order.filter(
        customer__email=best["email"]).exclude(status=OrderStatus.CANCELLED).count() > 1
    assert await Order.filter(customer_id=None).count() > 0  # and some guests
    after = await factories.place({"BOTTLE-750": 1})  # keys carry on after the bulk insert
    assert after.id > placed


async def test_history_follows_each_channels_currency(api: GraphQLClient) -> None:
    from api.history import seed_history

    await factories.shop({"SHOE": {"a": 50}})
    await factories.channel("us", currency="USD", locations=["a"])
    await factories.product("HAT", price="5.00", currency="USD")
    await factories.stock("HAT", {"a": 50})
    await seed_history(60, seed=3)
    lines = await OrderLine.all().prefetch_related("order__channel")
    assert {(line.sku, line.order.currency, line.order.channel.code) for line in lines} == {
        ("SHOE", "EUR", "web"), ("HAT", "USD", "us")}
