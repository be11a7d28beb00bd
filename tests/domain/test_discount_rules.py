"""The discount rule on its own: allocation to the minor unit, caps, ties and stacking."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.discounts.models import DiscountKind, DiscountTarget
from domain.discounts.rules import Basket, Offer, allocate, discount_order
from domain.errors import VoucherInvalid

D = Decimal


def _basket(*amounts: str, skus: tuple[str, ...] | None = None, shipping: str = "0",
            currency: str = "EUR") -> Basket:
    return Basket(currency=currency, channel="web", customer_group=None,
                  at=datetime(2026, 1, 1, tzinfo=UTC),
                  skus=list(skus or [f"S{i}" for i in range(len(amounts))]),
                  quantities=[1] * len(amounts), amounts=[D(a) for a in amounts],
                  shipping=D(shipping))


def _offer(id: int, kind: DiscountKind, target: DiscountTarget, value: str, **more: object
           ) -> Offer:
    return Offer(id=id, name=f"P{id}", kind=kind, target=target, value=D(value),
                 **more)  # type: ignore[arg-type]


def test_an_allocation_adds_up_and_gives_the_leftover_cents_to_the_largest_lines() -> None:
    shares = allocate(D("5.00"), {0: D("10.00"), 1: D("20.00"), 2: D("3.33")}, "EUR")
    assert shares == {0: D("1.50"), 1: D("3.01"), 2: D("0.49")}
    # Three equal lines and one cent: the first line takes it.
    assert allocate(D("0.01"), {0: D("1"), 1: D("1"), 2: D("1")}, "EUR") == {0: D("0.01")}
    assert allocate(D("100"), {0: D("333"), 1: D("333"), 2: D("334")}, "JPY") == {
        0: D("33"), 1: D("33"), 2: D("34")}


def test_a_fixed_discount_never_takes_more_than_the_line_or_the_order() -> None:
    per_unit = _offer(1, DiscountKind.FIXED, DiscountTarget.LINES, "15")
    assert discount_order(_basket("10.00"), [per_unit]).lines == [D("10.00")]
    order = _offer(2, DiscountKind.FIXED, DiscountTarget.ORDER, "50")
    result = discount_order(_basket("10.00", "5.00", shipping="4.90"), [order])
    assert result.lines == [D("10.00"), D("5.00")] and result.shipping == 0


def test_the_voucher_wins_a_tie_and_a_beaten_voucher_is_refused() -> None:
    automatic = _offer(1, DiscountKind.PERCENTAGE, DiscountTarget.LINES, "10")
    same = _offer(2, DiscountKind.PERCENTAGE, DiscountTarget.LINES, "10", code="TIE")
    won = discount_order(_basket("10.00"), [automatic], same)
    assert [a.offer.code for a in won.applied] == ["TIE"]
    weaker = _offer(3, DiscountKind.PERCENTAGE, DiscountTarget.LINES, "5", code="WEAK")
    with pytest.raises(VoucherInvalid):
        discount_order(_basket("10.00"), [automatic], weaker)


def test_a_voucher_outside_its_dates_currency_or_minimum_is_refused() -> None:
    for offer, why in [
        (_offer(1, DiscountKind.PERCENTAGE, DiscountTarget.ORDER, "10", code="X",
                ends_at=datetime(2025, 1, 1, tzinfo=UTC)), "expired"),
        (_offer(1, DiscountKind.FIXED, DiscountTarget.ORDER, "1", code="X",
                currency="USD"), "USD"),
        (_offer(1, DiscountKind.FIXED, DiscountTarget.ORDER, "1", code="X", currency="EUR",
                min_subtotal=D("20")), "at least 20.00 EUR"),
    ]:
        with pytest.raises(VoucherInvalid, match=why):
            discount_order(_basket("10.00"), [], offer)
