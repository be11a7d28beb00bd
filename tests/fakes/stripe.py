"""A small Stripe API for tests: the REST shapes our adapter uses, with Stripe's rules.

Form-encoded requests, bearer secret keys, ``Idempotency-Key`` replay (the
same key and body replays the first response; another body is an
``idempotency_error``), PaymentIntents with manual or automatic capture,
refunds, and signed webhook events built from its own state.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from typing import Any

import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import LocalServer

API_KEY = "sk_test_oms"
WEBHOOK_SECRET = "whsec_test_oms"


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class FakeStripe:
    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.calls: Counter[str] = Counter()  # effects applied, not requests received
        self.idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.slow_next: dict[str, float] = {}  # operation -> seconds to wait before answering
        self.app = Starlette(routes=[
            Route("/v1/payment_intents", self.create_intent, methods=["POST"]),
            Route("/v1/payment_intents/{id}/capture", self.capture, methods=["POST"]),
            Route("/v1/payment_intents/{id}/cancel", self.cancel, methods=["POST"]),
            Route("/v1/refunds", self.refund, methods=["POST"]),
        ])
        self._server = LocalServer(self.app)
        self.url = self._server.url

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    # --- the API -------------------------------------------------------------------------

    async def _handle(self, request: Request, operation: str, apply: Any) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        form = dict(await request.form())
        key = request.headers.get("idempotency-key")
        body = json.dumps([request.url.path, form], sort_keys=True)
        if key and key in self.idempotent:
            seen_body, status, payload = self.idempotent[key]
            if seen_body != body:
                return _error(400, "idempotency_error",
                              "Keys for idempotent requests can only be used with the same "
                              "parameters they were first used with.")
            return JSONResponse(payload, status_code=status, headers={"Idempotent-Replayed": "true"})
        response = apply(request, form)
        status, payload = response
        if key:
            self.idempotent[key] = (body, status, payload)
        delay = self.slow_next.pop(operation, 0)
        if delay:
            await asyncio.sleep(delay)  # applied, but the answer comes too late
        return JSONResponse(payload, status_code=status)

    async def create_intent(self, request: Request) -> JSONResponse:
        def apply(_: Request, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            pid = f"pi_{secrets.token_hex(8)}"
            intent = {
                "id": pid, "object": "payment_intent", "amount": int(form["amount"]),
                "currency": form["currency"], "status": "requires_payment_method",
                "capture_method": form.get("capture_method", "automatic"),
                "client_secret": f"{pid}_secret_{secrets.token_hex(8)}",
                "amount_capturable": 0, "amount_received": 0,
                "payment_method_types": [v for k, v in form.items()
                                         if k.startswith("payment_method_types")],
                "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            }
            self.intents[pid] = intent
            self.calls["create"] += 1
            return 200, intent
        return await self._handle(request, "create", apply)

    async def capture(self, request: Request) -> JSONResponse:
        def apply(req: Request, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            intent = self.intents.get(req.path_params["id"])
            if intent is None or intent["status"] != "requires_capture":
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": "This PaymentIntent could not be captured"}}
            amount = int(form.get("amount_to_capture", intent["amount_capturable"]))
            if amount > intent["amount_capturable"]:
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": "amount_to_capture is too large"}}
            received = intent["amount_received"] + amount
            if form.get("final_capture") == "false":  # multicapture: the rest stays capturable
                intent.update(amount_received=received,
                              amount_capturable=intent["amount_capturable"] - amount)
            else:
                intent.update(status="succeeded", amount_received=received, amount_capturable=0)
            self.calls["capture"] += 1
            return 200, intent
        return await self._handle(request, "capture", apply)

    async def cancel(self, request: Request) -> JSONResponse:
        def apply(req: Request, _: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            intent = self.intents.get(req.path_params["id"])
            if intent is None or intent["status"] == "succeeded":
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": "This PaymentIntent cannot be canceled"}}
            intent.update(status="canceled", amount_capturable=0)
            self.calls["cancel"] += 1
            return 200, intent
        return await self._handle(request, "cancel", apply)

    async def refund(self, request: Request) -> JSONResponse:
        def apply(_: Request, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None:
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": "No such payment_intent"}}
            refunded = sum(r["amount"] for r in self.refunds.values()
                           if r["payment_intent"] == intent["id"])
            amount = int(form.get("amount", intent["amount_received"] - refunded))
            if amount > intent["amount_received"] - refunded:
                return 400, {"error": {"type": "invalid_request_error",
                                       "message": "Refund amount is greater than unrefunded"}}
            rid = f"re_{secrets.token_hex(8)}"
            refund = {"id": rid, "object": "refund", "amount": amount, "status": "succeeded",
                      "payment_intent": intent["id"], "currency": intent["currency"]}
            self.refunds[rid] = refund
            self.calls["refund"] += 1
            return 200, refund
        return await self._handle(request, "refund", apply)

    # --- what the customer and Stripe do on their side -----------------------------------

    def customer_confirms(self, pid: str) -> dict[str, Any]:
        """The buyer confirms with the client secret; returns the webhook event Stripe sends."""
        intent = self.intents[pid]
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            return self.event("payment_intent.amount_capturable_updated", intent)
        intent.update(status="succeeded", amount_received=intent["amount"])
        return self.event("payment_intent.succeeded", intent)

    def dashboard_refund(self, pid: str, amount: int) -> dict[str, Any]:
        """The merchant refunds in Stripe's dashboard: no API call of ours; the webhook
        event Stripe sends (``charge.refunded``, with the charge's refunded total)."""
        rid = f"re_{secrets.token_hex(8)}"
        self.refunds[rid] = {"id": rid, "object": "refund", "amount": amount,
                             "status": "succeeded", "payment_intent": pid,
                             "currency": self.intents[pid]["currency"]}
        return self.charge_refunded(pid)

    def charge_refunded(self, pid: str) -> dict[str, Any]:
        intent = self.intents[pid]
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == pid)
        return self.event("charge.refunded", {
            "id": f"ch_{pid[3:]}", "object": "charge", "payment_intent": pid,
            "amount": intent["amount_received"], "amount_refunded": refunded,
            "currency": intent["currency"]})

    @staticmethod
    def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {"id": f"evt_{secrets.token_hex(8)}", "object": "event", "type": kind,
                "created": int(time.time()), "data": {"object": dict(obj)},
                "api_version": "2025-01-01", "livemode": False}


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET,
           timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers Stripe would send, signed the documented way."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def signature_header(body: bytes, secret: str = WEBHOOK_SECRET,
                     timestamp: int | None = None) -> str:
    """Stripe-Signature for any raw body, even one that is not JSON, as Stripe documents it:
    ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"
