"""The tax port: what capture, edits and drafts ask of whoever computes tax.

The built-in provider (``domain.taxes.table``) reads the merchant's own rate table; an
external tax service is another implementation of :class:`TaxProvider`, given to the
application's ``Deps``, and nothing in capture changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.taxes.models import TaxClass


@dataclass(frozen=True)
class Destination:
    """Where the goods go (the shipping address, else the pickup store's address)."""

    country: str | None
    region: str | None = None


@dataclass(frozen=True)
class TaxableLine:
    key: int  # the caller's index of the line
    tax_class: TaxClass
    amount: Decimal  # the line's price times quantity, less its discount


@dataclass(frozen=True)
class TaxRequest:
    currency: str
    destination: Destination
    prices_include_tax: bool
    exempt: bool
    lines: Sequence[TaxableLine]
    shipping: Decimal = Decimal(0)
    # The transaction the order is written in, for a provider that reads the database.
    conn: BaseDBAsyncClient | None = None


@dataclass(frozen=True)
class Tax:
    """The tax on one amount: its rate (percent) and name, how much tax it is, and what the
    customer pays for the amount (``charged``: the amount plus the tax when prices are
    without tax; the amount itself when they include it, less the tax for an exempt
    buyer)."""

    rate: Decimal = Decimal(0)
    name: str | None = None
    amount: Decimal = Decimal(0)
    charged: Decimal = Decimal(0)


@dataclass(frozen=True)
class TaxQuote:
    lines: dict[int, Tax] = field(default_factory=dict)
    shipping: Tax = field(default_factory=Tax)

    @property
    def total(self) -> Decimal:
        return sum((t.amount for t in self.lines.values()), self.shipping.amount)


class TaxProvider(Protocol):
    async def quote(self, request: TaxRequest) -> TaxQuote: ...
