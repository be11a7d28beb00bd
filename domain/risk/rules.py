"""The built-in risk rules: what is known of a new order and its history -> scored reasons.

Pure functions: the facts are gathered by ``domain.risk.screening`` inside the order's
transaction, so the rules themselves are tested without a database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.risk.settings import RiskSettings

_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


@dataclass(frozen=True)
class RiskReason:
    rule: str  # VELOCITY, HIGH_VALUE, COUNTRY_MISMATCH, NEW_CUSTOMER_EXPRESS, BLOCKLIST, ...
    score: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "score": self.score, "message": self.message}


@dataclass(frozen=True)
class RiskFacts:
    """What is known of the order being placed."""

    email: str | None
    customer_id: int | None
    ip_address: str | None
    card_fingerprint: str | None
    shipping_address: Mapping[str, Any] | None
    billing_address: Mapping[str, Any] | None
    shipping_method: str | None
    total: Decimal | None  # None before pricing (what an external provider sees)
    currency: str | None
    channel: str


@dataclass(frozen=True)
class History:
    """What the shop already holds about the same buyer, read in the order's transaction."""

    recent: Mapping[str, int] = field(default_factory=dict)  # key kind -> orders in window
    customer_orders: int = 0
    customer_average: Decimal | None = None
    shop_orders: int = 0
    shop_average: Decimal | None = None


@dataclass(frozen=True)
class Assessment:
    score: int
    reasons: tuple[RiskReason, ...]
    held: bool

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "held": self.held,
                "reasons": [reason.to_json() for reason in self.reasons]}


def address_match(address: Mapping[str, Any] | None) -> str | None:
    """The comparable form of an address: "line1|postal code|country", lower case, runs
    of spaces and punctuation folded. Block lists hold addresses in this form."""
    if not address or not address.get("line1"):
        return None
    parts = [address.get("line1"), address.get("postalCode"), address.get("country")]
    return "|".join(" ".join(re.sub(r"[.,;#]", " ", str(p or "")).lower().split())
                    for p in parts)


def address_key(address: Mapping[str, Any] | None) -> str | None:
    """What the order stores to count orders to one address (a digest, not the address)."""
    match = address_match(address)
    return hashlib.sha256(match.encode()).hexdigest()[:40] if match else None


def _blocked_email(email: str | None, blocked: Sequence[str]) -> bool:
    if not email:
        return False
    lowered = email.lower()
    domain = "@" + lowered.rpartition("@")[2]
    return lowered in blocked or domain in blocked


def address_doubts(address: Mapping[str, Any] | None) -> list[str]:
    """What the address rule accepted but could not confirm (kept as written)."""
    if not address:
        return []
    doubts = []
    region = address.get("region")
    if region is not None and not _SUBDIVISION.match(str(region)):
        doubts.append(f"region {region!r} is no ISO 3166-2 subdivision")
    if not address.get("postalCode"):
        doubts.append("no postal code")
    return doubts


VELOCITY_COUNT_CAP = 100  # orders per key counted at most (enough to decide, and cheap)


def velocity_cap(settings: RiskSettings) -> int:
    """How far the orders of one key are counted: past the limit, never past what tells
    staff the size of a burst, so a busy key costs each order the same few index reads."""
    return max(VELOCITY_COUNT_CAP, settings.velocity_limit)


KEY_NAMES = {"email": "email", "customer": "customer", "ip": "IP address",
             "card": "card", "address": "shipping address"}


def evaluate(facts: RiskFacts, history: History, settings: RiskSettings) -> list[RiskReason]:
    """Every rule that fires, with its score and a sentence staff can act on."""
    s = settings
    reasons: list[RiskReason] = []
    window = s.velocity_window_minutes
    for kind, count in sorted(history.recent.items()):
        if count >= s.velocity_limit:
            counted = f"{count} or more" if count >= velocity_cap(s) else str(count)
            reasons.append(RiskReason(
                "VELOCITY", s.velocity_score,
                f"{counted} orders from this {KEY_NAMES.get(kind, kind)} in the last "
                f"{window} minutes (limit {s.velocity_limit})"))
    total = facts.total
    if total is not None:
        multiple = s.value_multiple
        for whose, average, orders in (
                ("customer's", history.customer_average, history.customer_orders),
                ("shop's", history.shop_average, history.shop_orders)):
            if average and orders >= s.value_min_history and total > average * multiple:
                reasons.append(RiskReason(
                    "HIGH_VALUE", s.value_score,
                    f"Total {total} {facts.currency} is over {multiple} times the {whose} "
                    f"average of {average:.2f}"))
                break
        method = (facts.shipping_method or "").lower()
        if (history.customer_orders == 0 and method in s.express_methods
                and total >= s.new_customer_high_value):
            reasons.append(RiskReason(
                "NEW_CUSTOMER_EXPRESS", s.new_customer_express_score,
                f"First order of this customer, {method} shipping, total {total} "
                f"{facts.currency}"))
    ship, bill = facts.shipping_address, facts.billing_address
    if ship and bill and ship.get("country") != bill.get("country"):
        reasons.append(RiskReason(
            "COUNTRY_MISMATCH", s.country_mismatch_score,
            f"Billing country {bill.get('country')} differs from shipping country "
            f"{ship.get('country')}"))
    blocked: list[str] = []
    if _blocked_email(facts.email, s.blocked_emails):
        blocked.append(f"email {facts.email}")
    for label, address in (("shipping", ship), ("billing", bill)):
        match = address_match(address)
        if match is not None and match in s.blocked_addresses:
            blocked.append(f"{label} address {match}")
    if facts.ip_address and facts.ip_address.lower() in s.blocked_ips:
        blocked.append(f"IP address {facts.ip_address}")
    if facts.card_fingerprint and facts.card_fingerprint.lower() in s.blocked_cards:
        blocked.append("card")
    if blocked:
        reasons.append(RiskReason("BLOCKLIST", s.blocklist_score,
                                  "On the block list: " + ", ".join(blocked)))
    doubts = address_doubts(ship)
    if doubts:
        reasons.append(RiskReason("ADDRESS_UNVERIFIED", s.address_doubt_score,
                                  "Shipping address not verified: " + "; ".join(doubts)))
    return reasons


def assess(reasons: Sequence[RiskReason], settings: RiskSettings) -> Assessment:
    score = sum(reason.score for reason in reasons)
    return Assessment(score, tuple(reasons), score >= settings.hold_threshold)
