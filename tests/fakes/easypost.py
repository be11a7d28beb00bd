"""A small EasyPost API: shipments with rates, buying labels, trackers and signed events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import unicodedata
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import LocalServer

API_KEY = "EZTK_test_oms"
WEBHOOK_SECRET = "easypost-webhook-secret"


class FakeEasyPost:
    def __init__(self) -> None:
        self.shipments: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()
        self.fail_next: list[int] = []  # statuses to answer with before working again
        self.lose_next_purchase = False  # buy the label, then answer 500 as if it got lost
        self._server = LocalServer(Starlette(routes=[
            Route("/v2/shipments", self.create, methods=["POST"]),
            Route("/v2/shipments/{id}", self.get, methods=["GET"]),
            Route("/v2/shipments/{id}/buy", self.buy, methods=["POST"]),
        ]))
        self.url = self._server.url

    def _refused(self, request: Request) -> JSONResponse | None:
        expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": {"code": "APIKEY.INVALID",
                                           "message": "Invalid API key"}}, status_code=401)
        if self.fail_next:
            return JSONResponse({"error": {"code": "INTERNAL", "message": "try again"}},
                                status_code=self.fail_next.pop(0))
        return None

    async def create(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        body = (await request.json())["shipment"]
        if not body["to_address"].get("street1"):
            return JSONResponse({"error": {"code": "ADDRESS.VERIFY.FAILURE",
                                           "message": "to_address street1 is required"}},
                                status_code=422)
        sid = f"shp_{secrets.token_hex(8)}"
        self.shipments[sid] = {
            "id": sid, "object": "Shipment", "reference": body.get("reference"),
            "to_address": body["to_address"], "parcel": body["parcel"],
            "rates": [
                {"id": f"rate_{secrets.token_hex(6)}", "carrier": "DHLExpress",
                 "service": "Express", "rate": "24.10", "currency": "EUR", "delivery_days": 1},
                {"id": f"rate_{secrets.token_hex(6)}", "carrier": "DHLExpress",
                 "service": "Standard", "rate": "7.35", "currency": "EUR", "delivery_days": 3},
            ],
            "postage_label": None, "tracking_code": None, "selected_rate": None,
        }
        self.calls["create"] += 1
        return JSONResponse(self.shipments[sid], status_code=201)

    async def get(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        return JSONResponse(self.shipments[request.path_params["id"]])

    async def buy(self, request: Request) -> JSONResponse:
        if (refused := self._refused(request)) is not None:
            return refused
        shipment = self.shipments[request.path_params["id"]]
        if shipment["postage_label"]:
            return JSONResponse({"error": {"code": "SHIPMENT.POSTAGE.EXISTS",
                                           "message": "postage already exists"}},
                                status_code=422)
        rate_id = (await request.json())["rate"]["id"]
        rate = next(r for r in shipment["rates"] if r["id"] == rate_id)
        shipment.update(selected_rate=rate, tracking_code=f"EZ{secrets.randbelow(10**9):09d}",
                        postage_label={"label_url": f"https://labels.example/{shipment['id']}.png"},
                        tracker={"id": f"trk_{shipment['id'][4:]}"})
        self.calls["buy"] += 1
        if self.lose_next_purchase:
            self.lose_next_purchase = False
            return JSONResponse({"error": {"code": "INTERNAL", "message": "lost"}},
                                status_code=500)
        return JSONResponse(shipment)

    def tracker_updated(self, tracking_code: str, *details: tuple[str, str, str]
                        ) -> tuple[bytes, dict[str, str]]:
        """A signed tracker.updated event with (status, ISO datetime, city) details."""
        event = {"id": f"evt_{secrets.token_hex(8)}", "object": "Event",
                 "description": "tracker.updated", "result": {
                     "object": "Tracker", "id": f"trk_{tracking_code}",
                     "tracking_code": tracking_code, "status": details[-1][0],
                     "tracking_details": [
                         {"status": s, "datetime": at, "message": f"{s} in {city}",
                          "tracking_location": {"city": city, "country": "DE"}}
                         for s, at, city in details]}}
        body = json.dumps(event).encode()
        return body, {"X-Hmac-Signature": webhook_signature(body, WEBHOOK_SECRET),
                      "Content-Type": "application/json"}

    async def __aenter__(self) -> FakeEasyPost:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._server.stop()


def webhook_signature(body: bytes, secret: str) -> str:
    """EasyPost's documented scheme, written here rather than taken from the adapter:
    HMAC-SHA256 of the raw body keyed by the NFKD-normalised secret, as hex."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
