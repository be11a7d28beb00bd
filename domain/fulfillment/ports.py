"""The carrier port: rates, tracking links, and verified tracking updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from domain.fulfillment.models import ShipmentStatus


@dataclass(frozen=True)
class Rate:
    carrier: str
    service: str
    amount: Decimal
    currency: str
    delivery_days: int | None = None


@dataclass(frozen=True)
class CarrierEvent:
    """One tracking update, already normalised to our statuses."""

    tracking_number: str
    status: ShipmentStatus
    occurred_at: datetime
    external_id: str | None = None
    description: str | None = None
    location: str | None = None


class InvalidSignature(Exception):
    """An inbound carrier webhook whose signature does not verify, or is stale."""


class Carrier(Protocol):
    code: str

    def rates(self, *, service: str | None, currency: str) -> list[Rate]:
        """Prices for a parcel, cheapest first; one service when it is named."""

    def tracking_url(self, tracking_number: str) -> str | None: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        """Verify a tracking webhook against the raw body and return its events.

        Raises InvalidSignature when the signature is missing, wrong or stale.
        """
