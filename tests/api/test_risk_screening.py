"""Risky orders wait for a person: screened when placed, held with their reasons, released
or cancelled by staff; the merchant changes the rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from domain.access import Scope
from domain.access.principal import ADMIN
from domain.companies.service import CompanySpec, add_contact, create_company
from domain.customers.models import Customer
from domain.events.models import OrderEvent, OutboxMessage
from domain.events.ports import order_topic
from domain.inventory.models import StockLevel
from domain.orders.capture import LineRequest, OrderRequest, create_order
from domain.orders.models import Order, OrderStatus
from domain.risk import rules
from domain.risk.screening import Screening
from domain.risk.settings import RiskSettings
from domain.staff.models import StaffMember
from tests import factories
from tests.api.test_customers_and_guests import bearer
from tests.api.test_staff import staff
from tests.domain.ledger import assert_ledger_matches
from tests.support import GraphQLClient, codes

ORDER = """id number status holdKind holdReason paymentStatus
  risk { score reasons { rule score message } }
  lines { quantityAllocated } payments { status capturedAmount { amount } }
  events { type message }"""
CREATE = f"""mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{
  order {{ {ORDER} }} userErrors {{ field code message }} }} }}"""
RELEASE = f"mutation($id: ID!) {{ orderRelease(id: $id) {{ order {{ {ORDER} }} userErrors {{ code }} }} }}"
CONFIRM = f"mutation($id: ID!) {{ orderConfirm(id: $id) {{ order {{ {ORDER} }} userErrors {{ code }} }} }}"
CANCEL = f"mutation($id: ID!) {{ orderCancel(id: $id) {{ order {{ {ORDER} }} userErrors {{ code }} }} }}"
CAPTURE = """mutation($p: ID!) { paymentCapture(input: {paymentId: $p}) {
  payment { status } userErrors { code message } } }"""
SETTINGS = """mutation($input: RiskSettingsInput!) { riskSettingsUpdate(input: $input) {
  riskSettings { enabled holdThreshold velocityLimit velocityWindowMinutes blockedEmails
                 blockedAddresses }
  userErrors { field code message } } }"""


def _input(email: str = "ann@example.com", *, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"input": {"channel": "web", "email": email, "shippingAddress": factories.address(),
                      "lines": [{"sku": "SHOE", "quantity": quantity}],
                      "payment": {"provider": "manual", "method": "invoice"}, **extra}}


async def _place(api: GraphQLClient, variables: dict[str, Any]) -> dict[str, Any]:
    result = (await api(CREATE, variables))["orderCreate"]
    assert result["userErrors"] == [], result
    order: dict[str, Any] = result["order"]
    return order


def _rules(order: dict[str, Any]) -> list[str]:
    return [reason["rule"] for reason in order["risk"]["reasons"]]


async def test_the_sixth_order_from_one_email_in_ten_minutes_is_held_and_released_by_staff(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    first = [await _place(api, _input()) for _ in range(5)]
    assert [o["status"] for o in first] == ["PENDING"] * 5
    assert all(o["risk"]["score"] < 70 for o in first)
    held = await _place(api, _input())
    assert (held["status"], held["holdKind"]) == ("ON_HOLD", "RISK")
    assert held["holdReason"] == "Held for risk review"
    assert held["risk"]["score"] >= 70
    velocity = [r for r in held["risk"]["reasons"] if r["rule"] == "VELOCITY"]
    assert "5 orders from this email in the last 10 minutes (limit 5)" in [
        r["message"] for r in velocity]
    # Its stock stays reserved and its payment open, not captured (staff cannot either).
    assert held["lines"] == [{"quantityAllocated": 1}]
    assert held["payments"][0]["capturedAmount"]["amount"] == "0.00"
    payment = (await api("query($id: ID!) { order(id: $id) { payments { id } } }",
                         {"id": held["id"]}))["order"]["payments"][0]["id"]
    early = (await api(CAPTURE, {"p": payment}))["paymentCapture"]
    assert codes(early) == ["INVALID_TRANSITION"]
    assert "on a risk hold" in early["userErrors"][0]["message"]
    assert [e["type"] for e in held["events"]][:3] == [
        "ORDER_PLACED", "STOCK_RESERVED", "ORDER_ON_HOLD"]
    assert held["events"][2]["message"] == f"Order {held['number']} held for risk review"
    # Nothing of it ships while it waits.
    shipped = (await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                         "{ userErrors { code message } } }", {"o": held["id"]}))
    assert codes(shipped["shipmentCreate"]) == ["INVALID_TRANSITION"]
    # Staff approve it: released, confirmed, its payment captured.
    released = (await api(RELEASE, {"id": held["id"]}))["orderRelease"]["order"]
    assert (released["status"], released["holdKind"]) == ("PENDING", None)
    confirmed = (await api(CONFIRM, {"id": held["id"]}))["orderConfirm"]["order"]
    assert confirmed["status"] == "CONFIRMED"
    captured = (await api(CAPTURE, {"p": payment}))["paymentCapture"]
    assert (captured["userErrors"], captured["payment"]["status"]) == ([], "CAPTURED")
    assert confirmed["risk"] == held["risk"]  # the assessment stays on the order
    made = (await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                      "{ shipment { id } userErrors { code } } }", {"o": held["id"]}))
    assert made["shipmentCreate"]["userErrors"] == []


async def test_a_burst_is_counted_up_to_the_cap_and_named_as_at_least_that(
    api: GraphQLClient, risk_screening: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key with many recent orders costs each new order the same few index reads: its
    orders are counted only as far as the cap (100 by default; 3 here)."""
    monkeypatch.setattr(rules, "VELOCITY_COUNT_CAP", 3)
    await factories.shop({"SHOE": {"berlin": 20}})
    assert (await _settings(api, {"velocityLimit": 2}))["riskSettings"]["velocityLimit"] == 2
    placed = [await _place(api, _input("eve@example.com")) for _ in range(6)]
    messages = [[r["message"] for r in o["risk"]["reasons"]
                 if r["rule"] == "VELOCITY" and "this email" in r["message"]] for o in placed]
    email = "orders from this email in the last 10 minutes (limit 2)"
    assert messages == [[], [], [f"2 {email}"], [f"3 or more {email}"],
                        [f"3 or more {email}"], [f"3 or more {email}"]]


async def test_a_held_order_cancelled_by_staff_gives_its_stock_back(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    await _settings(api, {"blockedEmails": ["@fraud.example"]})
    held = await _place(api, _input("mallory@fraud.example", quantity=3))
    assert (held["status"], _rules(held)) == ("ON_HOLD", ["BLOCKLIST"])
    assert (await StockLevel.get()).reserved == 3
    cancelled = (await api(CANCEL, {"id": held["id"]}))["orderCancel"]["order"]
    assert (cancelled["status"], cancelled["holdKind"]) == ("CANCELLED", None)
    assert cancelled["payments"][0]["status"] == "VOIDED"
    assert (await StockLevel.get()).reserved == 0
    await assert_ledger_matches()


async def _settings(api: GraphQLClient, changes: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await api(SETTINGS, {"input": changes}))["riskSettingsUpdate"]
    return result


async def test_the_block_list_holds_emails_domains_and_addresses(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    changed = await _settings(api, {"blockedEmails": ["Eve@Example.com"],
                                    "blockedAddresses": ["13 Dark Alley|10115|DE"]})
    assert changed["userErrors"] == []
    assert changed["riskSettings"]["blockedEmails"] == ["eve@example.com"]
    eve = await _place(api, _input("eve@example.com"))
    assert eve["status"] == "ON_HOLD"
    assert eve["risk"]["reasons"][0]["message"] == "On the block list: email eve@example.com"
    alley = _input("bob@example.com")
    alley["input"]["shippingAddress"] = factories.address(line1="13, Dark  Alley")
    held = await _place(api, alley)
    assert (held["status"], _rules(held)) == ("ON_HOLD", ["BLOCKLIST"])
    assert "shipping address 13 dark alley|10115|de" in held["risk"]["reasons"][0]["message"]
    clean = await _place(api, _input("carol@example.com"))
    assert (clean["status"], clean["risk"]) == ("PENDING", {"score": 0, "reasons": []})


async def test_changed_settings_apply_to_the_next_order_and_bad_ones_change_nothing(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    refused = await _settings(api, {"velocityLimit": 0, "holdThreshold": 10})
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("INVALID_INPUT", ["velocityLimit"])]
    current = (await api("{ riskSettings { velocityLimit holdThreshold } }"))["riskSettings"]
    assert current == {"velocityLimit": 5, "holdThreshold": 70}  # the defaults, untouched
    assert (await _settings(api, {"velocityLimit": 2}))["riskSettings"]["velocityLimit"] == 2
    placed = [await _place(api, _input("dan@example.com")) for _ in range(3)]
    assert [o["status"] for o in placed] == ["PENDING", "PENDING", "ON_HOLD"]
    off = await _settings(api, {"enabled": False})
    assert off["riskSettings"]["enabled"] is False
    unscreened = await _place(api, _input("dan@example.com"))
    assert (unscreened["status"], unscreened["risk"]) == ("PENDING", None)


async def test_several_rules_add_up_to_a_hold(api: GraphQLClient, risk_screening: None) -> None:
    """A first order, shipped express, billed in another country, far above the shop's usual."""
    await factories.shop({"SHOE": {"berlin": 80}})
    for n in range(3):
        await _place(api, _input(f"regular{n}@example.com"))
    risky = _input("new@example.com", quantity=60, shippingMethod="express",
                   billingAddress=factories.address("US"))
    held = await _place(api, risky)
    assert held["status"] == "ON_HOLD", held["risk"]
    assert sorted(_rules(held)) == ["COUNTRY_MISMATCH", "HIGH_VALUE", "NEW_CUSTOMER_EXPRESS"]
    assert held["risk"]["score"] == 25 + 40 + 40
    one_rule = await _place(api, _input("other@example.com",
                                        billingAddress=factories.address("US")))
    assert (one_rule["status"], one_rule["risk"]["score"]) == ("PENDING", 25)


async def test_orders_from_one_ip_address_relayed_by_a_partner_are_counted(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    signals = {"ipAddress": "203.0.113.7"}
    statuses = []
    for n in range(6):
        order = await _place(api, {"input": {**_input(f"buyer{n}@example.com")["input"],
                                             "shippingAddress": factories.address(
                                                 line1=f"{n} Side St"),
                                             "riskSignals": signals}})
        statuses.append(order["status"])
    assert statuses == ["PENDING"] * 5 + ["ON_HOLD"]
    bad = (await api(CREATE, {"input": {**_input()["input"],
                                        "riskSignals": {"ipAddress": "not-an-ip"}}}))
    assert [(e["code"], e["field"]) for e in bad["orderCreate"]["userErrors"]] == [
        ("INVALID_INPUT", ["riskSignals", "ipAddress"])]
    assert await Order.all().count() == 6  # the refused one wrote nothing


async def test_the_assessment_is_in_the_webhook_payloads(
    api: GraphQLClient, risk_screening: None, local_relay_stopped: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    await _settings(api, {"blockedEmails": ["eve@example.com"]})
    held = await _place(api, _input("eve@example.com"))
    order = await Order.get(number=held["number"])
    payloads = [m.payload for m in await OutboxMessage.filter(topic=order_topic(order.id))
                .order_by("id")]
    placed = next(p for p in payloads if p["type"] == "ORDER_PLACED")
    hold = next(p for p in payloads if p["type"] == "ORDER_ON_HOLD")
    assert placed["data"]["risk"]["score"] == 100
    assert hold["data"]["holdKind"] == "RISK"
    assert [r["rule"] for r in hold["data"]["risk"]["reasons"]] == ["BLOCKLIST"]


async def test_only_staff_read_the_assessment_and_the_settings(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    key = (await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))[
        "storefrontKeyCreate"]["key"]
    storefront = bearer(key)
    placed = await api(
        "mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } "
        "orderAccessToken } }", _input("guest@example.com"), admin=False, headers=storefront)
    gid = placed["orderCreate"]["order"]["id"]
    guest = bearer(placed["orderCreate"]["orderAccessToken"])
    errors = await api.errors("query($id: ID!) { order(id: $id) { risk { score } } }",
                              {"id": gid}, admin=False, headers=guest)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    mine = await api("query($id: ID!) { order(id: $id) { status holdKind } }", {"id": gid},
                     admin=False, headers=guest)
    assert mine["order"]["status"] == "PENDING"
    for who in (guest, storefront):
        denied = await api.errors("{ riskSettings { enabled } }", admin=False, headers=who)
        assert denied[0]["extensions"]["code"] == "FORBIDDEN"
    staff = await api("query($id: ID!) { order(id: $id) { number risk { score } } }",
                      {"id": gid})
    assert staff["order"]["risk"]["score"] >= 0
    # the storefront's caller was screened by its own address
    assert (await Order.get(number=staff["order"]["number"])).client_ip is not None


async def test_parallel_orders_from_one_email_hold_all_but_the_first_five(
    needs_postgres: None, api: GraphQLClient, risk_screening: None,
) -> None:
    """Ten simultaneous orders from one buyer, each in its own transaction and connection:
    the buyer's keys are locked for the order's transaction, so each counts the ones
    committed before it and exactly five go through."""
    await factories.shop({"SHOE": {"berlin": 50}})
    results = await asyncio.gather(*(api(CREATE, _input("rush@example.com"))
                                     for _ in range(10)))
    statuses = sorted(r["orderCreate"]["order"]["status"] for r in results)
    assert statuses == ["ON_HOLD"] * 5 + ["PENDING"] * 5
    orders = await Order.all().order_by("number")
    # In the order they committed: the first five pass, the rest are held.
    assert [o.status for o in orders] == [OrderStatus.PENDING] * 5 + [OrderStatus.ON_HOLD] * 5
    assert (await StockLevel.get()).reserved == 10


async def test_parallel_orders_of_one_customer_by_email_and_by_id_are_counted_in_turn(
    needs_postgres: None, db: None,
) -> None:
    """Ten simultaneous orders of one customer: five from the storefront, found by their
    email, five placed by staff naming the customer with another email each, every one to
    an address of its own and from no known IP address. Only the customer's key is common
    to all ten; the storefront's orders lock it in the statement that finds the customer,
    so each order counts the ones committed before it and exactly five are within the
    velocity limit."""
    await factories.shop({"SHOE": {"berlin": 50}})
    customer = await Customer.create(email="kim@example.com", name="Kim")

    def request(i: int) -> OrderRequest:
        by_email = i % 2 == 0
        return OrderRequest(
            channel="web", lines=[LineRequest("SHOE", 1)],
            email="kim@example.com" if by_email else f"desk{i}@example.com",
            customer_id=None if by_email else customer.id,
            shipping_address=factories.address(line1=f"{i} Main St"))

    placed = await asyncio.gather(*(create_order(
        request=request(i), actor="test", screening=Screening(defaults=RiskSettings()))
        for i in range(10)))
    assert {order.customer_id for order in placed} == {customer.id}
    velocity = [any(reason["rule"] == "VELOCITY" for reason in order.risk_reasons or [])
                for order in await Order.all().order_by("number")]
    # In the order they committed: the first five are within the limit, the rest are not.
    assert velocity == [False] * 5 + [True] * 5


async def test_parallel_orders_of_one_company_by_email_and_by_id_do_not_deadlock(
    needs_postgres: None, db: None,
) -> None:
    """A company's contact orders for it at once through two doors: found by email (a
    partner's order), and named by id with another email (staff's). They share the delivery
    address, so their buyer's keys meet, and each locks the company's row: every order
    takes the keys before the company's row (and the stock's), so they wait for each other
    in turn. On the order of the keys after the company, one of them deadlocked."""
    await factories.shop({"SHOE": {"berlin": 50}})
    customer = await Customer.create(email="kim@example.com", name="Kim")
    company = await create_company(spec=CompanySpec(code="ACME", name="Acme"), scope=Scope(ADMIN))
    await add_contact(company_id=company.id, customer_id=customer.id, role=None,
                      scope=Scope(ADMIN))

    def request(i: int) -> OrderRequest:
        by_email = i % 2 == 0
        return OrderRequest(
            channel="web", lines=[LineRequest("SHOE", 1)], company_id=company.id,
            email="kim@example.com" if by_email else f"desk{i}@example.com",
            customer_id=None if by_email else customer.id,
            shipping_address=factories.address(line1="1 Works Road"))

    placed = await asyncio.gather(*(create_order(
        request=request(i), actor="test", screening=Screening(defaults=RiskSettings()))
        for i in range(10)))
    assert {order.company_id for order in placed} == {company.id}
    assert (await StockLevel.get()).reserved == 10


async def test_a_customer_service_member_reviews_and_releases_a_risk_hold(
    api: GraphQLClient, risk_screening: None,
) -> None:
    await factories.shop({"SHOE": {"berlin": 20}})
    for _ in range(5):
        await _place(api, _input())
    held = await _place(api, _input())
    assert (held["status"], held["holdKind"]) == ("ON_HOLD", "RISK")
    agent = await staff(api, "cs@shop.test", "customer_service")
    packer = await staff(api, "wh@shop.test", "warehouse")
    risk = "query($id: ID!) { order(id: $id) { risk { reasons { rule } } } }"
    seen = (await api(risk, {"id": held["id"]}, admin=False, headers=agent))["order"]["risk"]
    assert "VELOCITY" in [reason["rule"] for reason in seen["reasons"]]
    assert [e["extensions"]["code"] for e in await api.errors(
        risk, {"id": held["id"]}, admin=False, headers=packer)] == ["FORBIDDEN"]
    assert [e["extensions"]["code"] for e in await api.errors(
        RELEASE, {"id": held["id"]}, admin=False, headers=packer)] == ["FORBIDDEN"]
    order = await Order.get(number=held["number"])
    assert order.status is OrderStatus.ON_HOLD  # the warehouse's attempt changed nothing
    released = (await api(RELEASE, {"id": held["id"]}, admin=False, headers=agent))[
        "orderRelease"]["order"]
    assert (released["status"], released["holdKind"]) == ("PENDING", None)
    member = await StaffMember.get(email="cs@shop.test")
    event = await OrderEvent.get(order_id=order.id, type="ORDER_RELEASED")
    assert event.actor_staff_id == member.id  # who approved it is on the timeline
