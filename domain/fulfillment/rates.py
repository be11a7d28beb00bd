"""Pricing an order's shipping method from the configured carriers' rates."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from domain.errors import InvalidInput
from domain.fulfillment.ports import Carrier, Rate


def quote_shipping(
    carriers: Mapping[str, Carrier], method: str | None, currency: str, *, pickup: bool
) -> Rate | None:
    """The cheapest rate for ``service`` or ``carrier:service``; None when nothing ships.

    Click-and-collect orders ship nothing; their method may only be empty or 'pickup'.
    """
    if pickup:
        if method not in (None, "pickup"):
            raise InvalidInput("A click-and-collect order has no shipping method",
                               field=("shippingMethod",))
        return None
    if method is None:
        return None
    carrier_code, _, service = method.rpartition(":")
    if carrier_code and carrier_code not in carriers:
        raise InvalidInput(f"Unknown carrier {carrier_code!r}", field=("shippingMethod",))
    pool = [carriers[carrier_code]] if carrier_code else list(carriers.values())
    rates = sorted((rate for carrier in pool
                    for rate in carrier.rates(service=service, currency=currency)),
                   key=lambda r: r.amount)
    if not rates:
        raise InvalidInput(f"No shipping method {method!r} ships in {currency}",
                           field=("shippingMethod",))
    return rates[0]


def shipping_amount(rate: Rate | None) -> Decimal:
    return rate.amount if rate else Decimal(0)
