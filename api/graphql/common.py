"""Types shared by every area: Money, Address and the enums of the domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import strawberry

from domain.catalog.lifecycle import UNSET
from domain.catalog.models import BackorderPolicy, ChannelKind, LocationKind
from domain.money import quantize
from domain.orders.models import FulfillmentStatus, HoldKind, OrderStatus, PaymentStatus
from domain.taxes.models import TaxClass

# The domain's enums are the API's enums, by the same names and values.
for _enum in (ChannelKind, LocationKind, BackorderPolicy, OrderStatus, PaymentStatus,
              FulfillmentStatus, HoldKind, TaxClass):
    strawberry.enum(_enum)

__all__ = ["BackorderPolicy", "ChannelKind", "FulfillmentStatus", "HoldKind", "LocationKind",
           "OrderStatus", "PaymentStatus", "TaxClass"]


T = TypeVar("T")


def given(value: Any) -> Any:
    """A field left out of an update input (strawberry's UNSET) is the domain's UNSET: it
    changes nothing; ``null`` clears."""
    return UNSET if value is strawberry.UNSET else value


async def run(call: Callable[[], Awaitable[T]]) -> T:
    """Parse the input and call the service inside ``attempt``: a global ID that names
    nothing is a userError like any other."""
    return await call()


@strawberry.type(description="An amount in a currency; amount is a decimal string, never a float.")
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=quantize(Decimal(amount), currency), currency=currency)


@strawberry.type
class Address:
    name: str | None
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    phone: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Address | None:
        if not data:
            return None
        return cls(
            name=data.get("name"), line1=data.get("line1"), line2=data.get("line2"),
            city=data.get("city"), region=data.get("region"),
            postal_code=data.get("postalCode"), country=data.get("country"),
            phone=data.get("phone"),
        )


@strawberry.input
class AddressInput:
    name: str
    line1: str
    city: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2")
    line2: str | None = None
    region: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    latitude: float | None = strawberry.field(
        default=None, description="With longitude, lets routing pick the nearest location."
    )
    longitude: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "line1": self.line1, "line2": self.line2, "city": self.city,
            "region": self.region, "postalCode": self.postal_code, "country": self.country,
            "phone": self.phone, "latitude": self.latitude, "longitude": self.longitude,
        }
