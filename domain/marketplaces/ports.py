"""The marketplace port: reading their order notifications, verified."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


class InvalidNotification(Exception):
    """A marketplace webhook whose signature does not verify."""


# A marketplace's financial status, as Shopify names them (Amazon's orders are paid).
FINANCIAL_STATUSES = ("paid", "partially_paid", "authorized", "pending", "refunded",
                      "partially_refunded", "voided")


@dataclass(frozen=True)
class MarketplaceTax:
    """One tax the marketplace charged on a line or on the shipping."""

    rate: Decimal  # percent (19 for 19 %)
    name: str | None
    amount: Decimal


@dataclass(frozen=True)
class LinePrice:
    """A line's money as the marketplace charged it: ``line_amount`` is the price times
    quantity before the discount (Amazon's ItemPrice; Shopify's price x quantity)."""

    unit_price: Decimal
    line_amount: Decimal
    discount: Decimal = Decimal(0)
    taxes: Sequence[MarketplaceTax] = ()


@dataclass(frozen=True)
class MarketplaceMoney:
    """The marketplace's own amounts for an order, kept instead of our catalogue's: one
    ``LinePrice`` per line (in the order of ``ImportedOrder.lines``), the shipping after
    its discount, the taxes as the marketplace computed them, and its total, which the
    imported order must equal to the minor unit."""

    currency: str
    total: Decimal
    taxes_included: bool
    lines: Sequence[LinePrice]
    shipping: Decimal = Decimal(0)
    shipping_taxes: Sequence[MarketplaceTax] = ()
    financial_status: str = "pending"
    # What was received of a partially paid order (the total less what is outstanding).
    paid: Decimal | None = None


@dataclass(frozen=True)
class ImportedOrder:
    external_id: str
    lines: Sequence[tuple[str, int]]
    email: str | None = None
    shipping_address: Mapping[str, Any] | None = None
    po_number: str | None = None  # the marketplace's human reference, e.g. "#1042"
    # None: a notification that carries no amounts; the order is priced like our own.
    money: MarketplaceMoney | None = None


@dataclass(frozen=True)
class Notification:
    kind: str  # order_created | order_cancelled | ignored
    delivery_id: str
    order: ImportedOrder | None = None
    external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Marketplace(Protocol):
    provider: str

    def parse_notification(self, body: bytes, headers: Mapping[str, str],
                           settings: Mapping[str, Any]) -> Notification:
        """Verify against the raw body with the channel's secret; InvalidNotification if not."""
