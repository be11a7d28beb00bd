"""EasyPost: labels bought through its REST API, tracking pushed by signed webhooks.

Requests use HTTP Basic with the API key. Webhooks carry
``X-Hmac-Signature: hmac-sha256-hex=<hex>``, the HMAC-SHA256 of the raw body
keyed with the webhook secret (NFKD-normalised), as EasyPost's clients check.
Order shipping prices come from the flat-rate table; EasyPost's rates choose
the label (the cheapest for the shipment's service).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from domain.fulfillment.ports import (
    CarrierEvent,
    CarrierRefused,
    CarrierUnavailable,
    InvalidSignature,
    Label,
    LabelRequest,
    Rate,
)
from domain.fulfillment.states import normalise_status
from integrations.payloads import (
    UnreadablePayload,
    items,
    json_object,
    mapping,
    optional_mapping,
    optional_text,
    text,
)

API_BASE = "https://api.easypost.com"
GRAMS_PER_OUNCE = Decimal("28.3495")


def _address(address: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": address.get("name"), "street1": address.get("line1"),
            "street2": address.get("line2"), "city": address.get("city"),
            "state": address.get("region"), "zip": address.get("postalCode"),
            "country": address.get("country"), "phone": address.get("phone")}


def signature(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class EasyPostCarrier:
    code = "easypost"
    sells_labels = True

    def __init__(self, *, api_key: str, webhook_secret: str | None, api_base: str | None = None,
                 timeout: float = 20.0, tracking_url_template: str | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=api_base or API_BASE, auth=(api_key, ""),
                                         timeout=timeout)
        self._secret = webhook_secret
        self._template = tracking_url_template

    def rates(self, *, service: str | None, currency: str) -> list[Rate]:
        return []  # orders are priced from the flat-rate table; see the module docstring

    def tracking_url(self, tracking_number: str) -> str | None:
        """EasyPost's labels carry no page of ours: OMS_TRACKING_URL_TEMPLATE, when set."""
        return self._template.format(tracking_number=tracking_number) if self._template else None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise CarrierUnavailable(f"{type(error).__name__}: {error}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise CarrierUnavailable(f"HTTP {response.status_code}")
        data: dict[str, Any] = response.json()
        if response.status_code >= 400:
            raise CarrierRefused(data.get("error", {}).get("message")
                                 or f"HTTP {response.status_code}")
        return data

    async def prepare_label(self, request: LabelRequest) -> str:
        ounces = (Decimal(request.weight_grams) / GRAMS_PER_OUNCE).quantize(Decimal("0.1"))
        created = await self._call("POST", "/v2/shipments", {"shipment": {
            "reference": request.reference, "to_address": _address(request.to_address),
            "from_address": _address(request.from_address),
            "parcel": {"weight": float(ounces)}}})
        return str(created["id"])

    async def quote(self, request: LabelRequest) -> list[Rate]:
        shipment = await self._call("GET", f"/v2/shipments/{request.carrier_shipment}")
        return [Rate(self.code, str(r["service"]), Decimal(str(r["rate"])), str(r["currency"]),
                     r.get("delivery_days")) for r in shipment.get("rates", [])]

    async def buy_label(self, request: LabelRequest) -> Label:
        path = f"/v2/shipments/{request.carrier_shipment}"
        shipment = await self._call("GET", path)
        if not shipment.get("postage_label"):  # not bought yet (or the answer was lost)
            rates = [r for r in shipment.get("rates", [])
                     if request.service is None or r.get("service") == request.service]
            if not rates:
                raise CarrierRefused(f"no rate for service {request.service!r}")
            cheapest = min(rates, key=lambda r: Decimal(str(r["rate"])))
            shipment = await self._call("POST", f"{path}/buy", {"rate": {"id": cheapest["id"]}})
        chosen = shipment.get("selected_rate") or {}
        return Label(
            carrier_shipment=str(shipment["id"]), tracking_number=str(shipment["tracking_code"]),
            label_url=(shipment.get("postage_label") or {}).get("label_url"),
            service=chosen.get("service"),
            amount=Decimal(str(chosen["rate"])) if chosen.get("rate") else None,
            currency=chosen.get("currency"))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[CarrierEvent]:
        if not self._secret:
            raise InvalidSignature("OMS_EASYPOST_WEBHOOK_SECRET is not set")
        if not hmac.compare_digest(signature(body, self._secret).encode(),
                                   headers.get("x-hmac-signature", "").encode()):
            raise InvalidSignature("X-Hmac-Signature does not match the body")
        event = json_object(body, "the EasyPost event")
        if event.get("description") != "tracker.updated":
            return []
        tracker = mapping(event.get("result"), "result")
        details = items(tracker.get("tracking_details") or [], "tracking_details")
        return [e for e in (self._event(tracker, mapping(d, "a tracking detail"))
                            for d in details) if e is not None]

    @staticmethod
    def _event(tracker: dict[str, Any], detail: dict[str, Any]) -> CarrierEvent | None:
        word = text(detail.get("status") or "unknown", "status", max_length=40)
        status = normalise_status(word)
        if status is None:
            return None  # "unknown": nothing to tell
        at = text(detail.get("datetime"), "datetime", max_length=40)
        try:
            occurred = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise UnreadablePayload(f"datetime {at!r} is not an ISO 8601 time") from None
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        where = optional_mapping(detail.get("tracking_location"), "tracking_location")
        place = ", ".join(text(where[k], k) for k in ("city", "state", "country") if where.get(k))
        tracker_id = optional_text(tracker.get("id"), "result.id", max_length=40)
        return CarrierEvent(
            tracking_number=text(tracker.get("tracking_code"), "tracking_code", max_length=64),
            status=status, occurred_at=occurred,
            external_id=f"{tracker_id}:{at}:{word}",  # at most 122 characters
            description=optional_text(detail.get("message"), "message", max_length=500),
            location=place[:200] or None)

    async def close(self) -> None:
        await self._client.aclose()
