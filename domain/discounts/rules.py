"""The discount rule: which promotions an order gets, how much, and each line's share.

Stacking (one rule, enforced here):

- an order names at most one voucher code; automatic promotions (those without codes)
  apply with it;
- each target gets at most one promotion: every line the best line discount for it, the
  order the best order discount, the shipping the best shipping discount; "best" is the
  largest amount, a tie going to the voucher, then to the older promotion;
- an order discount is worked out on the eligible lines' amounts after their line
  discounts, so the two never discount the same money twice;
- a voucher that ends up giving nothing (no eligible line, or beaten on every target by an
  automatic promotion) is refused, not redeemed for nothing.

Amounts are rounded to the currency's minor unit (half to even). An order discount is spread
over the lines it applies to in proportion to their amounts, rounded down in minor units,
and the minor units left over go one each to the largest lines (ties: the first line), so
the shares add up to the discount exactly. Discounts are taken before tax: the tax is on
the discounted amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from domain.discounts.models import DiscountKind, DiscountTarget
from domain.errors import VoucherInvalid
from domain.money import exponent, quantize

ZERO = Decimal(0)


@dataclass(frozen=True)
class Offer:
    """A promotion as the rule sees it (kept in each process for automatic ones)."""

    id: int
    name: str
    kind: DiscountKind
    target: DiscountTarget
    value: Decimal
    currency: str | None = None
    min_subtotal: Decimal | None = None
    skus: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    customer_groups: frozenset[int] | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True
    code: str | None = None  # the voucher code it is redeemed with; None: automatic


@dataclass(frozen=True)
class Basket:
    """What is discounted: the order's lines (their amounts: price times quantity, less a
    discount they carry already), its shipping, and who buys where."""

    currency: str
    channel: str
    customer_group: int | None
    at: datetime
    skus: Sequence[str]
    quantities: Sequence[int]
    amounts: Sequence[Decimal]
    shipping: Decimal


@dataclass(frozen=True)
class Applied:
    offer: Offer
    amount: Decimal
    lines: dict[int, Decimal] = field(default_factory=dict)  # position: share


@dataclass(frozen=True)
class Discounts:
    lines: list[Decimal]  # each line's discount, by position
    shipping: Decimal
    applied: list[Applied]

    @property
    def none(self) -> bool:
        return not self.applied


def refusal(offer: Offer, basket: Basket) -> str | None:
    """Why ``offer`` does not apply to the basket at all (None: it may)."""
    if not offer.active:
        return "is not active"
    if offer.starts_at is not None and basket.at < offer.starts_at:
        return "is not valid yet"
    if offer.ends_at is not None and basket.at >= offer.ends_at:
        return "has expired"
    if offer.currency is not None and offer.currency != basket.currency:
        return f"is for orders in {offer.currency}"
    if offer.channels is not None and basket.channel not in offer.channels:
        return f"is not valid on channel {basket.channel}"
    if offer.customer_groups is not None and basket.customer_group not in offer.customer_groups:
        return "is not valid for this customer"
    if offer.min_subtotal is not None and sum(basket.amounts, ZERO) < offer.min_subtotal:
        return (f"needs a subtotal of at least {quantize(offer.min_subtotal, basket.currency)} "
                f"{basket.currency}")
    return None


def _eligible(offer: Offer, sku: str) -> bool:
    return offer.skus is None or sku in offer.skus


def _off(offer: Offer, base: Decimal, currency: str, *, units: int = 1) -> Decimal:
    """What ``offer`` takes off ``base`` (never more than it)."""
    if base <= 0:
        return ZERO
    if offer.kind is DiscountKind.PERCENTAGE:
        return min(quantize(base * offer.value / 100, currency), base)
    return min(quantize(offer.value * units, currency), base)


def allocate(amount: Decimal, bases: dict[int, Decimal], currency: str) -> dict[int, Decimal]:
    """``amount`` spread over ``bases`` (position: amount) in proportion, in minor units,
    the remainder one unit each to the largest (ties: the first), exactly adding up."""
    unit = Decimal(1).scaleb(-exponent(currency))
    whole = sum(bases.values(), ZERO)
    if amount <= 0 or whole <= 0:
        return {}
    shares = {pos: (amount * base / whole / unit).to_integral_value(ROUND_FLOOR) * unit
              for pos, base in bases.items()}
    left = int((amount - sum(shares.values(), ZERO)) / unit)
    largest = sorted(bases, key=lambda pos: (-bases[pos], pos))
    for i in range(left):
        shares[largest[i % len(largest)]] += unit
    return {pos: share for pos, share in shares.items() if share}


def _best(candidates: list[tuple[Decimal, Offer]]) -> tuple[Decimal, Offer] | None:
    """The largest amount; a tie to the voucher, then to the older promotion."""
    offered = [c for c in candidates if c[0] > 0]
    if not offered:
        return None
    return min(offered, key=lambda c: (-c[0], c[1].code is None, c[1].id))


def discount_order(basket: Basket, offers: Sequence[Offer],
                   voucher: Offer | None = None) -> Discounts:
    """The discounts of a basket by the stacking rule above, from the automatic ``offers``
    and the ``voucher``'s promotion (one code at most).

    Raises VoucherInvalid (field voucherCode) when the voucher does not apply or gives
    nothing."""
    currency = basket.currency
    if voucher is not None:
        why = refusal(voucher, basket)
        if why is not None:
            raise VoucherInvalid(voucher.code or "", f"This code {why}")
    usable = [o for o in offers if o.code is None and refusal(o, basket) is None]
    if voucher is not None:
        usable.append(voucher)
    count = len(basket.amounts)
    line_off = [ZERO] * count
    applied: dict[int, Applied] = {}

    def record(offer: Offer, amount: Decimal, shares: dict[int, Decimal]) -> None:
        key = id(offer)
        known = applied.get(key)
        if known is None:
            applied[key] = Applied(offer, amount, dict(shares))
        else:
            merged = dict(known.lines)
            for pos, share in shares.items():
                merged[pos] = merged.get(pos, ZERO) + share
            applied[key] = Applied(offer, known.amount + amount, merged)

    for pos in range(count):
        best = _best([(_off(o, basket.amounts[pos], currency, units=basket.quantities[pos]), o)
                      for o in usable if o.target is DiscountTarget.LINES
                      and _eligible(o, basket.skus[pos])])
        if best is not None:
            line_off[pos] = best[0]
            record(best[1], best[0], {pos: best[0]})
    order_candidates = []
    for o in (o for o in usable if o.target is DiscountTarget.ORDER):
        bases = {pos: basket.amounts[pos] - line_off[pos] for pos in range(count)
                 if _eligible(o, basket.skus[pos]) and basket.amounts[pos] - line_off[pos] > 0}
        order_candidates.append((_off(o, sum(bases.values(), ZERO), currency), o, bases))
    best = _best([(amount, o) for amount, o, _ in order_candidates])
    if best is not None:
        bases = next(b for amount, o, b in order_candidates if o is best[1])
        shares = allocate(best[0], bases, currency)
        for pos, share in shares.items():
            line_off[pos] += share
        record(best[1], best[0], shares)
    shipping_best = _best([(_off(o, basket.shipping, currency), o) for o in usable
                           if o.target is DiscountTarget.SHIPPING])
    shipping_off = ZERO
    if shipping_best is not None:
        shipping_off = shipping_best[0]
        record(shipping_best[1], shipping_off, {})
    if voucher is not None and id(voucher) not in applied:
        raise VoucherInvalid(voucher.code or "", "This code gives no discount on this order")
    return Discounts(line_off, shipping_off,
                     sorted(applied.values(), key=lambda a: (a.offer.target.value, a.offer.id)))
