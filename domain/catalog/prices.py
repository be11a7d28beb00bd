"""The one rule that decides what a unit costs on an order line.

``resolve_price`` is used by every path that prices a line from the catalogue: placing an
order (capture), a draft's catalogue-priced lines, a line an order edit adds, and the
``Variant.channelPrice`` read. It reads only what the catalogue cache holds (the channel's
price lists and the variant's entries), so pricing an order costs no statement on a warm
cache. A test keeps every other module of ``domain/`` from reading a variant's own price
for an order.

Among the channel's lists that apply (active, in the currency, within their dates, for
everyone or for the buyer's group, or the buyer's company's list), the company's list
wins, then a list for the buyer's group over one for everyone, then the higher priority,
then the older list. A company's list applies to its contacts whatever group it names (a
list made for companies only names a group nobody is in). The first of them holding a tier
for the variant at that quantity prices it, at its highest tier whose minimum quantity
the line reaches. With none, the variant's own price applies when it is in the currency;
otherwise the SKU has no price there (NoPrice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.access import Permission, Scope
from domain.catalog.cache import ChannelRoute, OrderableVariant, catalogue_cache
from domain.catalog.models import PriceList
from domain.customers.models import CustomerGroup
from domain.customers.service import customer_group_of
from domain.errors import NoPrice, NotPermitted
from domain.money import quantize


@dataclass(frozen=True)
class Buyer:
    """Who a line is priced for: the customer's group, and the price list of the company
    they buy for (B2B, ranked above the group's in ``_rank``)."""

    customer_group_id: int | None = None
    company_price_list_id: int | None = None


ANYONE = Buyer()


@dataclass(frozen=True)
class Price:
    """A unit price and where it came from (no list: the variant's own price)."""

    amount: Decimal
    currency: str
    price_list_id: int | None = None
    price_list_code: str | None = None


def applies(price_list: PriceList, *, currency: str, buyer: Buyer, at: datetime) -> bool:
    """Whether a list may price a line in ``currency`` for ``buyer`` at ``at``."""
    return (price_list.active and price_list.currency == currency
            and (price_list.starts_at is None or price_list.starts_at <= at)
            and (price_list.ends_at is None or at < price_list.ends_at)
            and (price_list.customer_group_id is None
                 or price_list.customer_group_id == buyer.customer_group_id
                 or price_list.id == buyer.company_price_list_id))


def _rank(price_list: PriceList, buyer: Buyer) -> tuple[int, int, int]:
    """Sorts the preferred list first: the company's, the group's, then higher priority,
    then older."""
    kind = 0 if price_list.id == buyer.company_price_list_id else (
        1 if price_list.customer_group_id is not None else 2)
    return (kind, -price_list.priority, price_list.id)


def candidate_lists(channel: ChannelRoute, *, currency: str, buyer: Buyer,
                    at: datetime) -> list[PriceList]:
    """The channel's lists that apply, the preferred first."""
    return sorted((pl for pl in channel.price_lists
                   if applies(pl, currency=currency, buyer=buyer, at=at)),
                  key=lambda pl: _rank(pl, buyer))


def resolve_price(*, channel: ChannelRoute, currency: str, buyer: Buyer,
                  variant: OrderableVariant, quantity: int, at: datetime,
                  field: Iterable[str] | None = None) -> Price:
    """The unit price of ``quantity`` units of ``variant`` on ``channel`` for ``buyer`` at
    ``at``, rounded to the currency's minor unit. Raises NoPrice (naming the SKU) when no
    list prices it and the variant's own price is in another currency."""
    entries = variant.entries
    for price_list in candidate_lists(channel, currency=currency, buyer=buyer, at=at):
        tiers = [e for e in entries
                 if e.price_list_id == price_list.id and e.min_quantity <= quantity]
        if tiers:
            best = max(tiers, key=lambda e: e.min_quantity)
            return Price(quantize(best.amount, currency), currency, price_list.id,
                         price_list.code)
    own = variant.variant
    if own.currency == currency:
        return Price(quantize(own.price, currency), currency)
    raise NoPrice(own.sku, channel.channel.code, currency,
                  field=tuple(field) if field is not None else None)


async def price_of(conn: BaseDBAsyncClient, *, channel: str, sku: str, quantity: int,
                   customer_group: str | None = None, customer_id: int | None = None,
                   group_id: int | None = None, at: datetime | None = None,
                   scope: Scope | None = None) -> Price | None:
    """The price ``resolve_price`` gives now for a member of ``customer_group`` (a code),
    else of the group ``group_id`` (a signed-in customer's, read once by the caller), else
    for the customer ``customer_id`` (their group's), else for anyone, read through the
    catalogue cache. None: an unknown channel, SKU or group, or no price there.

    A group's prices are the shop's to read (``catalog:write``: NotPermitted otherwise),
    and a caller limited to channels reads only its own channels' (None for another)."""
    if customer_group is not None and scope is not None:
        if not scope.allows(Permission.CATALOG_WRITE):
            raise NotPermitted(f"Missing permission {Permission.CATALOG_WRITE.value}")
        channels = scope.principal.channels if scope.principal is not None else None
        if channels is not None and channel not in channels:
            return None
    buyer = ANYONE
    if group_id is not None:
        buyer = Buyer(group_id)
    elif customer_group is None and customer_id is not None:
        buyer = Buyer(await customer_group_of(conn, customer_id))
    if customer_group is not None:
        found_group = await CustomerGroup.get_or_none(code=customer_group, using_db=conn)
        if found_group is None:
            return None
        buyer = Buyer(found_group.id)
    route = await catalogue_cache.channel(conn, channel)
    found = (await catalogue_cache.variants(conn, [sku])).get(sku)
    if route is None or found is None:
        return None
    try:
        return resolve_price(channel=route, currency=route.channel.currency, buyer=buyer,
                             variant=found, quantity=quantity, at=at or datetime.now(UTC))
    except NoPrice:
        return None
