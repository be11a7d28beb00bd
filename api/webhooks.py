"""Inbound webhooks: payments, carriers and marketplaces, verified against the raw body.

Each route reads its request through ``api.inbound`` (bounded body, well-formed
headers, one answer for anything malformed); the adapter verifies the signature
and derives what happened from the signed body alone.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.inbound import Inbound, webhook
from domain.application import inbound as inbound_flows
from domain.errors import DomainError
from domain.fulfillment.ports import InvalidSignature
from domain.fulfillment.tracking import (
    TrackingUpdate,
    shipments_by_tracking_number,
)
from domain.marketplaces.ports import InvalidNotification
from domain.marketplaces.service import connection_for
from domain.payments.ports import InvalidWebhook

log = logging.getLogger(__name__)


@webhook
async def carrier_webhook(request: Request, inbound: Inbound) -> JSONResponse:
    """Apply a carrier's tracking updates to the shipments with those tracking numbers.

    400 for a bad signature or body (nothing changes); 200 with what was applied.
    Repeated or out-of-order deliveries are absorbed by the tracking rules.
    """
    code = request.path_params["carrier"]
    carrier = request.app.state.services.carriers.get(code)
    if carrier is None:
        return JSONResponse({"error": f"unknown carrier {code!r}"}, status_code=404)
    try:
        events = carrier.parse_webhook(inbound.body, inbound.headers)
    except InvalidSignature as error:
        return JSONResponse({"error": f"invalid signature: {error}"}, status_code=400)
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
            await inbound_flows.track(request.app.state.services.deps,
                                      shipment_id=shipment.id, updates=updates,
                                      actor=f"carrier:{code}", strict=False)
            applied += len(updates)
    if unmatched:
        log.info("carrier %s sent updates for unknown tracking numbers %s", code, unmatched)
    # Some carriers want their own acknowledgement (Kuaidi100); the rest get what happened.
    return JSONResponse(getattr(carrier, "acknowledgement", None)
                        or {"applied": applied, "unmatched": unmatched})


@webhook
async def payment_webhook(request: Request, inbound: Inbound) -> JSONResponse:
    """Stripe's webhook: verified against the raw body, each event id applied once."""
    gateway = request.app.state.services.gateways.get("stripe")
    if gateway is None:
        return JSONResponse({"error": "stripe is not configured"}, status_code=404)
    try:
        event = gateway.parse_webhook(inbound.body, inbound.headers)
    except InvalidWebhook as error:
        return JSONResponse({"error": f"invalid signature: {error}"}, status_code=400)
    outcome = await inbound_flows.apply_payment_event(request.app.state.services.deps,
                                                      provider="stripe", event=event)
    return JSONResponse({"event": event.event_id, "outcome": outcome})


@webhook
async def marketplace_webhook(request: Request, inbound: Inbound) -> JSONResponse:
    """A marketplace's order notification for one of our marketplace channels."""
    provider, channel = request.path_params["provider"], request.path_params["channel"]
    marketplace = request.app.state.services.marketplaces.get(provider)
    connection = await connection_for(channel, provider) if marketplace else None
    if connection is None:
        return JSONResponse({"error": f"{channel} is not connected to {provider}"},
                            status_code=404)
    try:
        notification = marketplace.parse_notification(inbound.body, inbound.headers,
                                                      connection.settings)
    except InvalidNotification as error:
        return JSONResponse({"error": str(error)}, status_code=401)
    try:
        outcome = await inbound_flows.import_marketplace_notification(
            request.app.state.services.deps, channel=channel, provider=provider,
            notification=notification, actor=f"marketplace:{provider}")
    except DomainError as error:  # e.g. an unknown SKU: the merchant must fix the catalogue
        return JSONResponse({"error": error.message}, status_code=422)
    return JSONResponse({"outcome": outcome})
