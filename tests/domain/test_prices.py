"""The pricing rule on its own: which list wins, which tier, when lists apply, and when a
SKU has no price (domain/catalog/prices.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.catalog.cache import ChannelRoute, OrderableVariant
from domain.catalog.models import Channel, PriceList, PriceListEntry, Variant
from domain.catalog.prices import ANYONE, Buyer, resolve_price
from domain.errors import NoPrice

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CHANNEL = Channel(id=1, code="us", name="US", kind="WEB", currency="USD")


def _list(pk: int, *, group: int | None = None, priority: int = 0, currency: str = "USD",
          active: bool = True, starts_at: datetime | None = None,
          ends_at: datetime | None = None) -> PriceList:
    return PriceList(id=pk, code=f"list-{pk}", name="L", channel_id=1, currency=currency,
                     customer_group_id=group, priority=priority, active=active,
                     starts_at=starts_at, ends_at=ends_at)


def _variant(*tiers: tuple[int, int, str], price: str = "10.00",
             currency: str = "EUR") -> OrderableVariant:
    variant = Variant(id=7, sku="MUG", name="Mug", price=Decimal(price), currency=currency,
                      product_id=1)
    return OrderableVariant(variant, False, tuple(
        PriceListEntry(price_list_id=pk, variant_id=7, min_quantity=q, amount=Decimal(a))
        for pk, q, a in tiers))


def _price(lists: list[PriceList], variant: OrderableVariant, *, quantity: int = 1,
           buyer: Buyer = ANYONE, at: datetime = NOW) -> tuple[str, str | None]:
    found = resolve_price(channel=ChannelRoute(CHANNEL, (), tuple(lists)), currency="USD",
                          buyer=buyer, variant=variant, quantity=quantity, at=at)
    return f"{found.amount} {found.currency}", found.price_list_code


def test_between_equal_lists_the_older_wins(db: None) -> None:
    mug = _variant((1, 1, "12.5000"), (2, 1, "11.00"))
    assert _price([_list(2), _list(1)], mug) == ("12.50 USD", "list-1")
    assert _price([_list(2, priority=1), _list(1)], mug) == ("11.00 USD", "list-2")


def test_another_groups_list_and_another_currencys_are_ignored(db: None) -> None:
    mug = _variant((1, 1, "12.00"), (2, 1, "8.00"), (3, 1, "7.00"))
    lists = [_list(1), _list(2, group=5), _list(3, currency="CAD", priority=9)]
    assert _price(lists, mug) == ("12.00 USD", "list-1")
    assert _price(lists, mug, buyer=Buyer(6)) == ("12.00 USD", "list-1")
    assert _price(lists, mug, buyer=Buyer(5)) == ("8.00 USD", "list-2")


def test_a_list_starts_at_its_start_and_ends_before_its_end(db: None) -> None:
    mug = _variant((1, 1, "12.00"), (2, 1, "5.00"))
    sale = _list(2, priority=1, starts_at=NOW, ends_at=NOW + timedelta(hours=1))
    assert _price([_list(1), sale], mug, at=NOW) == ("5.00 USD", "list-2")
    assert _price([_list(1), sale], mug, at=NOW - timedelta(seconds=1)) == ("12.00 USD", "list-1")
    assert _price([_list(1), sale], mug, at=NOW + timedelta(hours=1)) == ("12.00 USD", "list-1")


def test_the_highest_tier_reached_prices_the_line(db: None) -> None:
    mug = _variant((1, 1, "12.00"), (1, 10, "11.00"), (1, 100, "9.00"))
    assert [_price([_list(1)], mug, quantity=q)[0] for q in (1, 9, 10, 99, 100, 5000)] == [
        "12.00 USD", "12.00 USD", "11.00 USD", "11.00 USD", "9.00 USD", "9.00 USD"]


def test_without_a_list_the_own_price_in_the_currency_else_no_price(db: None) -> None:
    assert _price([], _variant(price="9.5", currency="USD")) == ("9.50 USD", None)
    assert _price([_list(1, active=False)], _variant((1, 1, "3.00"), currency="USD")) == (
        "10.00 USD", None)
    with pytest.raises(NoPrice) as refused:
        _price([], _variant())
    assert (refused.value.sku, refused.value.channel, refused.value.currency) == (
        "MUG", "us", "USD")
