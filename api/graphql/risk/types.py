"""GraphQL types of risk screening."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from domain.risk.settings import RiskSettings as RiskSettingsModel


@strawberry.type(description="One rule that fired when the order was placed.")
class RiskReason:
    rule: str = strawberry.field(description="VELOCITY, HIGH_VALUE, COUNTRY_MISMATCH, "
                                             "NEW_CUSTOMER_EXPRESS, BLOCKLIST, "
                                             "ADDRESS_UNVERIFIED, or an external provider's")
    score: int
    message: str


@strawberry.type(description="The risk screening of an order at placement.")
class RiskAssessment:
    score: int
    reasons: list[RiskReason]

    @classmethod
    def of(cls, score: int | None, reasons: Any) -> RiskAssessment | None:
        if score is None:
            return None
        return cls(score=score, reasons=[
            RiskReason(rule=str(r.get("rule")), score=int(r.get("score") or 0),
                       message=str(r.get("message") or "")) for r in (reasons or [])])


@strawberry.type(description="The rules new orders are screened with, and when they are "
                             "held (score at or above holdThreshold).")
class RiskSettings:
    enabled: bool
    hold_threshold: int
    velocity_limit: int = strawberry.field(
        description="Orders already placed by one email, customer, IP address, card or "
                    "shipping address within the window that hold the next ones.")
    velocity_window_minutes: int
    velocity_score: int
    value_multiple: Decimal
    value_min_history: int
    value_score: int
    country_mismatch_score: int
    new_customer_high_value: Decimal
    express_methods: list[str]
    new_customer_express_score: int
    address_doubt_score: int
    blocklist_score: int
    blocked_emails: list[str] = strawberry.field(
        description="Addresses, or \"@domain\" for a whole domain.")
    blocked_addresses: list[str] = strawberry.field(
        description="\"line1|postal code|country\", lower case (e.g. \"1 main st|10115|de\").")
    blocked_ips: list[str]
    blocked_cards: list[str]

    @classmethod
    def from_model(cls, m: RiskSettingsModel) -> RiskSettings:
        values: dict[str, Any] = {
            key: (list(value) if isinstance(value, tuple) else value)
            for key, value in m.__dict__.items()}
        return cls(**values)


@strawberry.input(description="Changes to the risk settings; fields left out stay as they are.")
class RiskSettingsInput:
    enabled: bool | None = None
    hold_threshold: int | None = None
    velocity_limit: int | None = None
    velocity_window_minutes: int | None = None
    velocity_score: int | None = None
    value_multiple: Decimal | None = None
    value_min_history: int | None = None
    value_score: int | None = None
    country_mismatch_score: int | None = None
    new_customer_high_value: Decimal | None = None
    express_methods: list[str] | None = None
    new_customer_express_score: int | None = None
    address_doubt_score: int | None = None
    blocklist_score: int | None = None
    blocked_emails: list[str] | None = None
    blocked_addresses: list[str] | None = None
    blocked_ips: list[str] | None = None
    blocked_cards: list[str] | None = None
