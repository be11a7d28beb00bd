"""Use cases of a shipment that reach other areas: shipping captures by policy."""

from __future__ import annotations

from domain.application.deps import Deps
from domain.fulfillment.labels import dispatch_shipment
from domain.fulfillment.models import Shipment
from domain.idempotency.service import IdempotencyKey
from domain.payments.flows import after_shipment


async def ship(
    deps: Deps, *, shipment_id: int, tracking_number: str | None, carrier: str | None,
    service: str | None, actor: str, idempotency: IdempotencyKey | None = None,
) -> Shipment:
    """Dispatch the shipment (refused for a cancelled or held order: the shipment service
    checks the order in the dispatching transaction); then capture as the policy says."""
    shipment = await dispatch_shipment(
        shipment_id=shipment_id, tracking_number=tracking_number, carrier=carrier,
        service=service, carriers=deps.carriers, actor=actor, idempotency=idempotency,
        promises=deps.shipping_promises)
    await after_shipment(shipment=shipment, gateways=deps.gateways,
                         policy=deps.capture_policy, actor=actor)
    return shipment
