"""The built-in carrier of the embedded default: flat rates, tracking entered by hand or pushed.

Partners (a 3PL, a local courier) push tracking updates to
``POST /webhooks/carriers/builtin`` with a signature header

    X-OMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">

keyed with ``OMS_CARRIER_WEBHOOK_SECRET``. The body is JSON:
``{"events": [{"trackingNumber", "status", "occurredAt", "id"?, "description"?,
"location"?}]}``; statuses use our names or common carrier words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.fulfillment.ports import (
    CarrierEvent,
    CarrierRefused,
    InvalidSignature,
    Label,
    LabelRequest,
    Rate,
)
from domain.fulfillment.states import normalise_status
from domain.webhooks.signing import signature_header, verify
from integrations.payloads import (
    UnreadablePayload,
    items,
    json_object,
    mapping,
    optional_text,
    text,
)

SIGNATURE_HEADER = "x-oms-signature"
sign = signature_header  # what partners compute to call us


class BuiltinCarrier:
    """Prices from a table; labels come from elsewhere (tracking numbers are given)."""

    code = "builtin"
    sells_labels = False

    def __init__(
        self, *, rates: Mapping[str, Mapping[str, Decimal]],
        delivery_days: Mapping[str, int] | None = None, webhook_secret: str | None = None,
        tracking_url_template: str | None = None, tolerance_seconds: int = 300,
    ) -> None:
        self._rates = rates
        self._days = delivery_days or {}
        self._secret = webhook_secret
        self._template = tracking_url_template
        self._tolerance = tolerance_seconds

    def rates(self, *, service: str | None, currency: str) -> list[Rate]:
        found = [
            Rate(self.code, name, prices[currency], currency, self._days.get(name))
            for name, prices in self._rates.items()
            if currency in prices and (service is None or name == service)
        ]
        return sorted(found, key=lambda r: r.amount)

    def tracking_url(self, tracking_number: str) -> str | None:
        return self._template.format(tracking_number=tracking_number) if self._template else None

    async def quote(self, request: LabelRequest) -> list[Rate]:
        return self.rates(service=None, currency=request.currency)

    async def prepare_label(self, request: LabelRequest) -> str:
        raise CarrierRefused("the built-in carrier sells no labels: give a tracking number")

    async def buy_label(self, request: LabelRequest) -> Label:
        raise CarrierRefused("the built-in carrier sells no labels: give a tracking number")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        self._verify(body, headers.get(SIGNATURE_HEADER, ""))
        payload = json_object(body, "the tracking update")
        return [self._event(mapping(raw, "an event"))
                for raw in items(payload.get("events"), "events")]

    def _verify(self, body: bytes, header: str) -> None:
        if not self._secret:
            raise InvalidSignature("webhooks are off: OMS_CARRIER_WEBHOOK_SECRET is not set")
        problem = verify(body, header, self._secret, tolerance=self._tolerance)
        if problem is not None:
            raise InvalidSignature(problem)

    @staticmethod
    def _event(raw: dict[str, Any]) -> CarrierEvent:
        word = text(raw.get("status"), "status", max_length=64)
        status = normalise_status(word)
        if status is None:
            raise UnreadablePayload(f"unknown status {word!r}")
        given = text(raw.get("occurredAt"), "occurredAt", max_length=64)
        try:
            occurred = datetime.fromisoformat(given.replace("Z", "+00:00"))
        except ValueError:
            raise UnreadablePayload(f"occurredAt {given!r} is not an ISO 8601 time") from None
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        return CarrierEvent(
            tracking_number=text(raw.get("trackingNumber"), "trackingNumber", max_length=64),
            status=status, occurred_at=occurred,
            external_id=optional_text(raw.get("id"), "id", max_length=128),
            description=optional_text(raw.get("description"), "description", max_length=500),
            location=optional_text(raw.get("location"), "location", max_length=200),
        )
