"""The merchant's risk settings: thresholds, rule scores and block lists.

The defaults come from the environment (``OMS_RISK_*``, read by api/settings.py); the
merchant's changes (``riskSettingsUpdate``) are stored in one row and override them field
by field, so a deployment's defaults still apply to everything the merchant left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import DomainError, InvalidInput, raise_all


@dataclass(frozen=True)
class RiskSettings:
    enabled: bool = True
    # An order whose score reaches this is placed ON_HOLD with a risk hold.
    hold_threshold: int = 70
    # Velocity: this many orders already placed by one email, customer, IP address, card
    # or shipping address within the window hold the next ones.
    velocity_limit: int = 5
    velocity_window_minutes: int = 10
    velocity_score: int = 100
    # Value: above this multiple of the customer's (or the shop's) average order.
    value_multiple: Decimal = Decimal(5)
    value_min_history: int = 3  # orders needed before an average is "usual"
    value_score: int = 40
    country_mismatch_score: int = 25
    # A first order with express shipping and at least this total.
    new_customer_high_value: Decimal = Decimal(500)
    express_methods: tuple[str, ...] = ("express", "overnight", "next_day")
    new_customer_express_score: int = 40
    address_doubt_score: int = 25
    blocklist_score: int = 100
    # Emails ("someone@example.com", or "@example.com" for a whole domain), shipping or
    # billing addresses ("line1|postal code|country", see ``rules.address_match``), IP
    # addresses and card fingerprints.
    blocked_emails: tuple[str, ...] = ()
    blocked_addresses: tuple[str, ...] = ()
    blocked_ips: tuple[str, ...] = ()
    blocked_cards: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {key: (str(value) if isinstance(value, Decimal) else
                      list(value) if isinstance(value, tuple) else value)
                for key, value in asdict(self).items()}


NAMES = frozenset(f.name for f in fields(RiskSettings))
_LISTS = {"blocked_emails", "blocked_addresses", "blocked_ips", "blocked_cards",
          "express_methods"}
_DECIMALS = {"value_multiple", "new_customer_high_value"}
MAX_LIST = 1000


def _field(name: str) -> tuple[str, ...]:
    head, *rest = name.split("_")
    return (head + "".join(part.title() for part in rest),)


def clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check a merchant's changes (snake_case names; None leaves a setting as it is) and
    return them in their stored form; every problem is reported at once."""
    errors: list[DomainError] = []
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in NAMES:
            errors.append(InvalidInput(f"Unknown risk setting {name}", field=_field(name)))
            continue
        if value is None:
            continue
        if name == "enabled":
            out[name] = bool(value)
        elif name in _LISTS:
            items = [" ".join(str(item).split()).lower() for item in value]
            if len(items) > MAX_LIST or any(not item or len(item) > 300 for item in items):
                errors.append(InvalidInput(f"At most {MAX_LIST} entries of 1 to 300 characters",
                                           field=_field(name)))
                continue
            out[name] = sorted(set(items))
        elif name in _DECIMALS:
            try:
                amount = Decimal(str(value))
            except InvalidOperation:
                amount = Decimal(-1)
            if not amount.is_finite() or amount <= 0 or amount > 10**12:
                errors.append(InvalidInput("A positive amount", field=_field(name)))
                continue
            out[name] = str(amount)
        else:
            number = int(value)
            low = 1 if name in ("velocity_limit", "velocity_window_minutes",
                                "hold_threshold") else 0
            if not low <= number <= 100_000:
                errors.append(InvalidInput(f"Between {low} and 100000", field=_field(name)))
                continue
            out[name] = number
    raise_all(errors)
    return out


def effective(defaults: RiskSettings, stored: Mapping[str, Any] | None) -> RiskSettings:
    """The defaults with the merchant's stored changes applied (unknown keys ignored)."""
    if not stored:
        return defaults
    changes: dict[str, Any] = {}
    for name, value in stored.items():
        if name not in NAMES:
            continue
        if name in _LISTS:
            changes[name] = tuple(value)
        elif name in _DECIMALS:
            changes[name] = Decimal(str(value))
        else:
            changes[name] = value
    return replace(defaults, **changes)
