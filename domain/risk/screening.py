"""Screening an order inside its capture transaction: the merchant's settings, the buyer's
recent orders and usual spend, read in as few statements as the rules allow.

On PostgreSQL the buyer's keys (email, customer, IP address, card, shipping address) are
locked first (``pg_advisory_xact_lock``, in sorted order, held to the end of the order's
transaction), so parallel orders from one buyer are counted one after the other: the sixth
of ten simultaneous orders sees the five before it. SQLite runs one write transaction at a
time, which gives the same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import fetch, is_postgres
from domain.risk.cache import stored_settings_cache
from domain.risk.rules import (
    Assessment,
    History,
    RiskFacts,
    RiskReason,
    address_key,
    assess,
    evaluate,
    velocity_cap,
)
from domain.risk.settings import RiskSettings, effective

SHOP_SAMPLE = 200  # the shop's usual order: the average of its latest orders
CUSTOMER_SAMPLE = 50


@dataclass(frozen=True)
class Screening:
    """What ``create_order`` needs to screen an order: the deployment's default settings
    and what was learned before the transaction (the buyer's address and card, and the
    reasons of external providers)."""

    defaults: RiskSettings
    ip_address: str | None = None
    card_fingerprint: str | None = None
    provider_reasons: Sequence[RiskReason] = field(default_factory=tuple)


@dataclass(frozen=True)
class Keys:
    email: str | None
    customer_id: int | None
    ip_address: str | None
    card_fingerprint: str | None
    address_key: str | None

    def named(self) -> dict[str, str]:
        pairs = {"email": self.email, "customer": self.customer_id, "ip": self.ip_address,
                 "card": self.card_fingerprint, "address": self.address_key}
        return {kind: str(value).lower() for kind, value in pairs.items() if value is not None}


def keys_of(facts: RiskFacts) -> Keys:
    return Keys(facts.email.lower() if facts.email else None, facts.customer_id,
                facts.ip_address, facts.card_fingerprint, address_key(facts.shipping_address))


async def stored_settings(conn: BaseDBAsyncClient, defaults: RiskSettings) -> RiskSettings:
    """The defaults and the merchant's changes (kept in this process: domain/risk/cache.py)."""
    return effective(defaults, await stored_settings_cache.get(conn))


def _lock_id(kind: str, value: str) -> int:
    digest = hashlib.sha256(f"oms:risk:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_COLUMNS = {"email": "lower(email)", "customer": "customer_id", "ip": "client_ip",
            "card": "card_fingerprint", "address": "address_key"}


async def _history(conn: BaseDBAsyncClient, keys: Keys, settings: RiskSettings, *,
                   channel_id: int, currency: str) -> History:
    since = datetime.now(UTC) - timedelta(minutes=settings.velocity_window_minutes)
    named = keys.named()
    selects: list[str] = []
    params: list[Any] = []
    cap = velocity_cap(settings)
    for kind, value in named.items():
        selects.append(f"(SELECT count(*) FROM (SELECT 1 AS one FROM orders WHERE "
                       f"{_COLUMNS[kind]} = ? AND created_at >= ? LIMIT {cap}) r) "
                       f"AS recent_{kind}")
        params += [int(value) if kind == "customer" else value, since]
    customer = keys.customer_id if keys.customer_id is not None else -1
    # Enough of the customer's orders to tell a first order and a history from each other.
    selects.append(f"(SELECT count(*) FROM (SELECT 1 AS one FROM orders WHERE customer_id = ? "
                   f"LIMIT {max(cap, settings.value_min_history)}) o) AS customer_orders")
    selects.append(f"(SELECT avg(total) FROM (SELECT total FROM orders WHERE customer_id = ? "
                   f"AND currency = ? AND status <> 'CANCELLED' ORDER BY id DESC "
                   f"LIMIT {CUSTOMER_SAMPLE}) c) AS customer_average")
    selects.append(f"(SELECT count(*) FROM (SELECT id FROM orders WHERE customer_id = ? "
                   f"AND currency = ? AND status <> 'CANCELLED' ORDER BY id DESC "
                   f"LIMIT {CUSTOMER_SAMPLE}) c) AS customer_sample")
    selects.append(f"(SELECT avg(total) FROM (SELECT total FROM orders WHERE channel_id = ? "
                   f"AND status <> 'CANCELLED' ORDER BY id DESC LIMIT {SHOP_SAMPLE}) s) "
                   f"AS shop_average")
    selects.append(f"(SELECT count(*) FROM (SELECT id FROM orders WHERE channel_id = ? "
                   f"AND status <> 'CANCELLED' ORDER BY id DESC LIMIT {SHOP_SAMPLE}) s) "
                   f"AS shop_orders")
    params += [customer, customer, currency, customer, currency, channel_id, channel_id]
    row = (await fetch(conn, "SELECT " + ", ".join(selects), params))[0]

    def amount(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return History(
        recent={kind: int(row[f"recent_{kind}"]) for kind in named},
        customer_orders=int(row["customer_orders"]),
        customer_average=amount(row["customer_average"]) if row["customer_sample"] else None,
        shop_orders=int(row["shop_orders"]), shop_average=amount(row["shop_average"]),
    )


async def screen(conn: BaseDBAsyncClient, screening: Screening, facts: RiskFacts, *,
                 channel_id: int) -> tuple[Assessment | None, Keys]:
    """Score the order about to be written (None when screening is off)."""
    keys = keys_of(facts)
    settings = await stored_settings(conn, screening.defaults)
    if not settings.enabled:
        return None, keys
    if is_postgres(conn):
        ids = sorted({_lock_id(kind, value) for kind, value in keys.named().items()})
        if ids:
            await fetch(conn, "SELECT count(pg_advisory_xact_lock(k)) AS locked FROM "
                              "(SELECT unnest(CAST(? AS bigint[])) AS k ORDER BY 1) AS ks",
                        [ids])
    history = await _history(conn, keys, settings, channel_id=channel_id,
                             currency=facts.currency or "")
    reasons = [*screening.provider_reasons, *evaluate(facts, history, settings)]
    return assess(reasons, settings), keys
