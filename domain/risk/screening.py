"""Screening an order inside its capture transaction: the merchant's settings, the buyer's
recent orders and usual spend, read in as few statements as the rules allow.

On PostgreSQL the buyer's keys (email, customer, IP address, card, shipping address) are
locked first (``pg_advisory_xact_lock``, in sorted order, held to the end of the order's
transaction), so parallel orders from one buyer are counted one after the other: the sixth
of ten simultaneous orders sees the five before it. Every path takes them all at once,
right after the customer is known and before any other row (``buyer_locks``, in the
statement that finds the customer by email; ``lock_buyer``). SQLite runs one write
transaction at a time, which gives the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import LOCK_KEYS, KeyLocks, advisory_key, fetch, is_postgres
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
    return advisory_key(f"oms:risk:{kind}:{value}")


def _lock_ids(screening: Screening, *, email: str | None, customer_email: str | None,
              shipping_address: dict[str, Any] | None) -> list[int]:
    """The buyer's keys to lock: the customer's is its email's, so that an order finding
    the customer by email takes it before that customer's id is known (one naming the
    customer by id, with another email, takes the customer's email too)."""
    named = Keys(email.lower() if email else None, None, screening.ip_address,
                 screening.card_fingerprint, address_key(shipping_address)).named()
    ids = {_lock_id(kind, value) for kind, value in named.items()}
    if customer_email:
        ids.add(_lock_id("email", customer_email.lower()))
    return sorted(ids)


async def _locking(conn: BaseDBAsyncClient, screening: Screening) -> bool:
    return is_postgres(conn) and (await stored_settings(conn, screening.defaults)).enabled


async def buyer_locks(conn: BaseDBAsyncClient, screening: Screening, *, email: str,
                      shipping_address: dict[str, Any] | None) -> KeyLocks | None:
    """The buyer's keys for the statement that finds or creates the customer by ``email``
    to lock before that row (PostgreSQL, screening on): all of them, the customer's being
    its email's. ``lock_buyer`` then locks nothing more, and the order saves the round
    trip."""
    if not await _locking(conn, screening):
        return None
    return KeyLocks(_lock_ids(screening, email=email, customer_email=email,
                              shipping_address=shipping_address))


async def lock_buyer(conn: BaseDBAsyncClient, screening: Screening, *, email: str | None,
                     customer_email: str | None, shipping_address: dict[str, Any] | None,
                     held: frozenset[int]) -> None:
    """Lock the buyer's keys not ``held`` yet (PostgreSQL, screening on), right after the
    customer is known and before the order takes any other row (a company's, the stock's):
    every path takes them all at once in sorted order, before those rows, so none waits
    for another in a cycle. ``screen`` counts the buyer's orders under them."""
    if not await _locking(conn, screening):
        return
    ids = _lock_ids(screening, email=email, customer_email=customer_email,
                    shipping_address=shipping_address)
    if not held.issuperset(ids):
        await fetch(conn, LOCK_KEYS, [ids])


_COLUMNS = {"email": "lower(email)", "customer": "customer_id", "ip": "client_ip",
            "card": "card_fingerprint", "address": "address_key"}


async def _history(conn: BaseDBAsyncClient, keys: Keys, settings: RiskSettings, *,
                   channel_id: int, currency: str,
                   beside: tuple[str, list[Any]] | None) -> tuple[History, list[dict[str, Any]]]:
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
    sql = "SELECT " + ", ".join(selects)
    if beside is not None:  # its rows, each beside the history's columns
        sql = f"WITH m AS MATERIALIZED ({beside[0]}) SELECT h.*, m.* FROM ({sql}) AS h " \
              "LEFT JOIN m ON true"
        params = [*beside[1], *params]
    rows = await fetch(conn, sql, params)
    row = rows[0]

    def amount(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return History(
        recent={kind: int(row[f"recent_{kind}"]) for kind in named},
        customer_orders=int(row["customer_orders"]),
        customer_average=amount(row["customer_average"]) if row["customer_sample"] else None,
        shop_orders=int(row["shop_orders"]), shop_average=amount(row["shop_average"]),
    ), rows


@dataclass(frozen=True)
class Screened:
    assessment: Assessment | None  # None: screening is off
    keys: Keys
    beside: list[dict[str, Any]] | None  # the rows of the query read with the history


async def screen(conn: BaseDBAsyncClient, screening: Screening, facts: RiskFacts, *,
                 channel_id: int, beside: tuple[str, list[Any]] | None = None) -> Screened:
    """Score the order about to be written, its buyer's keys locked by the caller first
    (``buyer_locks``, ``lock_buyer``). ``beside`` (PostgreSQL: a query of rows, say of rows
    to lock, sharing no column name with the history's) is read in the history's statement:
    its rows (None when screening is off, and nothing was read)."""
    keys = keys_of(facts)
    settings = await stored_settings(conn, screening.defaults)
    if not settings.enabled:
        return Screened(None, keys, None)
    beside = beside if is_postgres(conn) else None
    history, rows = await _history(conn, keys, settings, channel_id=channel_id,
                                   currency=facts.currency or "", beside=beside)
    reasons = [*screening.provider_reasons, *evaluate(facts, history, settings)]
    return Screened(assess(reasons, settings), keys, rows if beside is not None else None)
