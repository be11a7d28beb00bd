"""Inbound webhooks: carriers push tracking updates, verified against the raw body."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.errors import DomainError
from domain.fulfillment.ports import InvalidSignature
from domain.fulfillment.tracking import (
    TrackingUpdate,
    add_tracking_events,
    shipments_by_tracking_number,
)
from domain.marketplaces.ports import InvalidNotification
from domain.marketplaces.service import apply_notification, connection_for
from domain.payments.events import apply_gateway_event
from domain.payments.ports import InvalidWebhook

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000
TOO_LARGE = JSONResponse({"error": "body too large"}, status_code=413)


async def carrier_webhook(request: Request) -> JSONResponse:
    """Apply a carrier's tracking updates to the shipments with those tracking numbers.

    400 for a bad signature or body (nothing changes); 200 with what was applied.
    Repeated or out-of-order deliveries are absorbed by the tracking rules.
    """
    code = request.path_params["carrier"]
    carrier = request.app.state.services.carriers.get(code)
    if carrier is None:
        return JSONResponse({"error": f"unknown carrier {code!r}"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return TOO_LARGE
    try:
        events = carrier.parse_webhook(body, request.headers)
    except InvalidSignature as error:
        return JSONResponse({"error": f"invalid signature: {error}"}, status_code=400)
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    applied, unmatched = 0, []
    by_number: dict[str, list[TrackingUpdate]] = {}
    for event in events:
        by_number.setdefault(event.tracking_number, []).append(TrackingUpdate(
            status=event.status, occurred_at=event.occurred_at, description=event.description,
            location=event.location, external_id=event.external_id))
    for number, updates in by_number.items():
        shipments = [s for s in await shipments_by_tracking_number(number)
                     if s.carrier in (None, code)]
        if not shipments:
            unmatched.append(number)
            continue
        for shipment in shipments:
            await add_tracking_events(shipment_id=shipment.id, updates=updates,
                                      actor=f"carrier:{code}", strict=False)
            applied += len(updates)
    if unmatched:
        log.info("carrier %s sent updates for unknown tracking numbers %s", code, unmatched)
    # Some carriers want their own acknowledgement (Kuaidi100); the rest get what happened.
    return JSONResponse(getattr(carrier, "acknowledgement", None)
                        or {"applied": applied, "unmatched": unmatched})


async def payment_webhook(request: Request) -> JSONResponse:
    """Stripe's webhook: verified against the raw body, each event id applied once."""
    gateway = request.app.state.services.gateways.get("stripe")
    if gateway is None:
        return JSONResponse({"error": "stripe is not configured"}, status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return TOO_LARGE
    try:
        event = gateway.parse_webhook(body, request.headers)
    except InvalidWebhook as error:
        return JSONResponse({"error": f"invalid signature: {error}"}, status_code=400)
    outcome = await apply_gateway_event(provider="stripe", event=event)
    return JSONResponse({"event": event.event_id, "outcome": outcome})


async def marketplace_webhook(request: Request) -> JSONResponse:
    """A marketplace's order notification for one of our marketplace channels."""
    provider, channel = request.path_params["provider"], request.path_params["channel"]
    marketplace = request.app.state.services.marketplaces.get(provider)
    connection = await connection_for(channel, provider) if marketplace else None
    if connection is None:
        return JSONResponse({"error": f"{channel} is not connected to {provider}"},
                            status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return TOO_LARGE
    try:
        notification = marketplace.parse_notification(body, request.headers,
                                                      connection.settings)
    except InvalidNotification as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    try:
        outcome = await apply_notification(channel=channel, provider=provider,
                                           notification=notification,
                                           actor=f"marketplace:{provider}")
    except DomainError as error:  # e.g. an unknown SKU: the merchant must fix the catalogue
        return JSONResponse({"error": error.message}, status_code=422)
    return JSONResponse({"outcome": outcome})
