"""The carrier port: rates, tracking links, and verified tracking updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

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


class CarrierUnavailable(Exception):
    """The carrier did not answer or failed (timeout, 5xx): the call may be repeated."""


class CarrierRefused(Exception):
    """The carrier refused the request (bad address, no such service)."""


@dataclass(frozen=True)
class LabelRequest:
    reference: str  # ours, e.g. "shipment-12": the carrier keeps it with the parcel
    from_address: Mapping[str, Any]
    to_address: Mapping[str, Any]
    weight_grams: int
    service: str | None = None
    carrier_shipment: str | None = None  # the carrier's shipment, if one was created already
    currency: str = "EUR"


@dataclass(frozen=True)
class Label:
    carrier_shipment: str
    tracking_number: str
    label_url: str | None
    service: str | None
    amount: Decimal | None = None
    currency: str | None = None


class Carrier(Protocol):
    code: str
    sells_labels: bool

    def rates(self, *, service: str | None, currency: str) -> list[Rate]:
        """Prices for a parcel, cheapest first; one service when it is named."""

    def tracking_url(self, tracking_number: str) -> str | None: ...

    async def prepare_label(self, request: LabelRequest) -> str:
        """Open the carrier's shipment for a label; returns its id (kept before buying)."""

    async def quote(self, request: LabelRequest) -> list[Rate]:
        """Rates for this parcel (label sellers: of the carrier shipment already opened)."""

    async def buy_label(self, request: LabelRequest) -> Label:
        """Buy (or, if already bought, fetch) the label of the carrier's shipment."""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        """Verify a tracking webhook against the raw body and return its events.

        Raises InvalidSignature when the signature is missing, wrong or stale.
        """
