"""Reading promotions for orders: the automatic ones kept in each process, a voucher code's
own, and redeeming the code in the order's transaction.

The automatic promotions (active, no code) are kept like the tax rates
(``domain.settings_cache``): every promotion change drops them here after its commit and,
through its outbox row, in every other process, so an order costs no statement for them on a
warm cache, promotions configured or not.

A code is redeemed by one guarded statement, ``UPDATE voucher SET uses = uses + 1 WHERE id
= ? AND (max_uses IS NULL OR uses < max_uses)``, its row count checked: racing orders wait
for the voucher's row, and the loser of the last use finds the guard false. The row stays
locked to the end of the order's transaction, so the per-customer count read after it sees
every redemption committed before. A cancelled order does not give its use back.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import fetch
from domain.discounts.models import DiscountKind, DiscountTarget, Promotion, Voucher
from domain.discounts.rules import Offer
from domain.errors import VoucherInvalid
from domain.settings_cache import SettingsCache


def offer_of(row: Promotion, code: str | None = None) -> Offer:
    def group(values: Any, kind: type) -> frozenset[Any] | None:
        return frozenset(kind(v) for v in values) if values is not None else None

    return Offer(id=row.id, name=row.name, kind=DiscountKind(row.kind),
                 target=DiscountTarget(row.target), value=row.value, currency=row.currency,
                 min_subtotal=row.min_subtotal, skus=group(row.skus, str),
                 channels=group(row.channels, str),
                 customer_groups=group(row.customer_groups, int), starts_at=row.starts_at,
                 ends_at=row.ends_at, active=row.active, code=code)


async def _load(conn: BaseDBAsyncClient) -> list[Offer]:
    rows = await Promotion.filter(active=True, requires_code=False).using_db(conn)
    return [offer_of(row) for row in rows]


automatic_cache: SettingsCache[list[Offer]] = SettingsCache(
    "promotions_changed", _load, metric="promotions_cache_invalidations")


def normal_code(code: str) -> str:
    return code.strip().upper()


async def voucher_offer(conn: BaseDBAsyncClient, code: str) -> tuple[Voucher, Offer]:
    """The voucher with this code (any case) and its promotion as an offer; VoucherInvalid
    when none, or when it is used up already (the guarded update decides the last use)."""
    wanted = normal_code(code)
    voucher = await Voucher.filter(code=wanted).select_related("promotion").using_db(
        conn).first() if 0 < len(wanted) <= 64 else None
    if voucher is None:
        raise VoucherInvalid(wanted, "There is no such code")
    if voucher.max_uses is not None and voucher.uses >= voucher.max_uses:
        raise VoucherInvalid(voucher.code, "This code is used up")
    return voucher, offer_of(voucher.promotion, voucher.code)


async def redeem(conn: BaseDBAsyncClient, voucher: Voucher, *, customer_id: int | None) -> None:
    """Take one use of the code in the order's transaction, or raise VoucherInvalid (used
    up, or used as often as this customer may); a rollback gives the use back."""
    taken = await fetch(conn, "UPDATE voucher SET uses = uses + 1 WHERE id = ? AND "
                              "(max_uses IS NULL OR uses < max_uses) RETURNING uses",
                        [voucher.id])
    if not taken:
        raise VoucherInvalid(voucher.code, "This code is used up")
    if voucher.per_customer_limit is not None and customer_id is not None:
        rows = await fetch(conn, "SELECT COUNT(*) AS n FROM voucher_redemption "
                                 "WHERE voucher_id = ? AND customer_id = ?",
                           [voucher.id, customer_id])
        if int(rows[0]["n"]) >= voucher.per_customer_limit:
            raise VoucherInvalid(voucher.code, "This code was used as often as one customer "
                                               "may")
