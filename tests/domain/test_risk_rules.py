"""The built-in risk rules, each on its own: what fires, with what score and sentence."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.errors import DomainErrors
from domain.risk.rules import History, RiskFacts, address_match, assess, evaluate
from domain.risk.settings import RiskSettings, clean_changes, effective

DEFAULTS = RiskSettings()
HOME = {"name": "Ann", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115",
        "country": "DE"}


def _facts(**changes: object) -> RiskFacts:
    base = RiskFacts(email="ann@example.com", customer_id=7, ip_address=None,
                     card_fingerprint=None, shipping_address=HOME, billing_address=HOME,
                     shipping_method="standard", total=Decimal("50.00"), currency="EUR",
                     channel="web")
    return replace(base, **changes)  # type: ignore[arg-type]


def _rules(facts: RiskFacts, history: History | None = None,
           settings: RiskSettings = DEFAULTS) -> list[tuple[str, int]]:
    return [(r.rule, r.score) for r in evaluate(facts, history or History(customer_orders=1),
                                                 settings)]


def test_a_usual_order_scores_nothing() -> None:
    assert _rules(_facts()) == []
    assert assess([], DEFAULTS).held is False


def test_velocity_fires_from_the_limit_on() -> None:
    assert _rules(_facts(), History(recent={"email": 4}, customer_orders=4)) == []
    fired = evaluate(_facts(), History(recent={"email": 5, "ip": 2}, customer_orders=5),
                     DEFAULTS)
    assert [(r.rule, r.message) for r in fired] == [
        ("VELOCITY", "5 orders from this email in the last 10 minutes (limit 5)")]
    assert assess(fired, DEFAULTS).held is True


def test_value_is_compared_with_the_customers_usual_else_the_shops() -> None:
    regular = History(customer_orders=4, customer_average=Decimal("20"), shop_orders=100,
                      shop_average=Decimal("200"))
    assert _rules(_facts(total=Decimal("101")), regular) == [("HIGH_VALUE", 40)]
    assert _rules(_facts(total=Decimal("99")), regular) == []
    newcomer = History(customer_orders=0, shop_orders=100, shop_average=Decimal("20"))
    assert _rules(_facts(total=Decimal("101")), newcomer) == [("HIGH_VALUE", 40)]
    both = History(customer_orders=4, customer_average=Decimal("20"), shop_orders=100,
                   shop_average=Decimal("20"))
    [reason] = evaluate(_facts(total=Decimal("101")), both, DEFAULTS)  # counted once
    assert "the customer's average of 20.00" in reason.message
    [reason] = evaluate(_facts(total=Decimal("101")), newcomer, DEFAULTS)
    assert "the shop's average of 20.00" in reason.message
    too_little = History(customer_orders=1, shop_orders=2, shop_average=Decimal("1"))
    assert _rules(_facts(total=Decimal("101")), too_little) == []  # no usual yet


def test_a_first_order_with_express_shipping_and_a_high_value() -> None:
    first = History(customer_orders=0)
    assert _rules(_facts(shipping_method="express", total=Decimal("500")), first) == [
        ("NEW_CUSTOMER_EXPRESS", 40)]
    assert _rules(_facts(shipping_method="standard", total=Decimal("900")), first) == []
    assert _rules(_facts(shipping_method="express", total=Decimal("499")), first) == []
    assert _rules(_facts(shipping_method="express", total=Decimal("900")),
                  History(customer_orders=3)) == []


def test_billing_and_shipping_countries_differ() -> None:
    fired = evaluate(_facts(billing_address={**HOME, "country": "US"}), History(), DEFAULTS)
    assert [(r.rule, r.message) for r in fired] == [
        ("COUNTRY_MISMATCH", "Billing country US differs from shipping country DE")]


def test_block_lists_match_emails_domains_addresses_ips_and_cards() -> None:
    blocked = replace(DEFAULTS, blocked_emails=("@fraud.example",),
                      blocked_addresses=(address_match(HOME) or "",),
                      blocked_ips=("203.0.113.7",), blocked_cards=("fp_1",))
    reasons = evaluate(_facts(email="X@Fraud.Example", ip_address="203.0.113.7",
                              card_fingerprint="FP_1"), History(customer_orders=1), blocked)
    assert [(r.rule, r.message) for r in reasons] == [(
        "BLOCKLIST", "On the block list: email X@Fraud.Example, shipping address "
                     "1 main st|10115|de, billing address 1 main st|10115|de, IP address "
                     "203.0.113.7, card")]
    assert address_match({"line1": " 1  Main St. ", "postalCode": "10115",
                          "country": "DE"}) == "1 main st|10115|de"


def test_an_address_the_rule_kept_as_written_is_a_doubt() -> None:
    free_text = {**HOME, "region": "Greater Berlin"}
    fired = evaluate(_facts(shipping_address=free_text, billing_address=free_text),
                     History(customer_orders=1), DEFAULTS)
    assert [(r.rule, r.score) for r in fired] == [("ADDRESS_UNVERIFIED", 25)]
    assert "region 'Greater Berlin' is no ISO 3166-2 subdivision" in fired[0].message
    assert _rules(_facts(shipping_address={**HOME, "region": "DE-BE"},
                         billing_address={**HOME, "region": "DE-BE"})) == []


def test_the_merchants_changes_are_checked_and_override_the_defaults() -> None:
    stored = clean_changes({"velocity_limit": 3, "blocked_emails": [" Eve@Example.com "],
                            "value_multiple": "2.5", "hold_threshold": None})
    assert stored == {"velocity_limit": 3, "blocked_emails": ["eve@example.com"],
                      "value_multiple": "2.5"}
    merged = effective(replace(DEFAULTS, hold_threshold=90), stored)
    assert (merged.velocity_limit, merged.hold_threshold, merged.value_multiple,
            merged.blocked_emails) == (3, 90, Decimal("2.5"), ("eve@example.com",))
    with pytest.raises(DomainErrors) as refused:
        clean_changes({"velocity_window_minutes": 0, "new_customer_high_value": "-1"})
    fields = sorted(tuple(e.field or ()) for e in refused.value.errors)
    assert fields == [("newCustomerHighValue",), ("velocityWindowMinutes",)]
