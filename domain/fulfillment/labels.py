"""Dispatching with a bought label, for carriers that sell them (DESIGN rule 3).

The carrier's shipment is opened first and its id recorded; the label is
bought outside any transaction; then the shipment is dispatched with it. A
repeat after a lost answer reuses the recorded carrier shipment, whose label
the carrier returns instead of selling a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from domain.catalog.models import Location
from domain.errors import CarrierFailed, InvalidTransition, NotFound
from domain.fulfillment.models import Shipment, ShipmentLine, ShipmentStatus
from domain.fulfillment.ports import Carrier, CarrierRefused, CarrierUnavailable, LabelRequest
from domain.fulfillment.service import ship_shipment
from domain.idempotency.service import IdempotencyKey
from domain.orders.models import Order

log = logging.getLogger(__name__)
GRAMS_PER_UNIT = 500  # until variants carry their weight


async def dispatch_shipment(
    *, shipment_id: int, tracking_number: str | None, carrier: str | None,
    service: str | None, carriers: Mapping[str, Carrier], actor: str,
    idempotency: IdempotencyKey | None = None,
) -> Shipment:
    """Ship: with the given tracking number, or with a label bought from the carrier."""
    found = await Shipment.get_or_none(id=shipment_id)
    if found is None:
        raise NotFound("Shipment", str(shipment_id), field=("shipmentId",))
    chosen = carriers.get(carrier or found.carrier or "")
    if tracking_number or chosen is None or not chosen.sells_labels:
        shipped = await ship_shipment(shipment_id=shipment_id, tracking_number=tracking_number,
                                      carrier=carrier, service=service, carriers=carriers,
                                      actor=actor, idempotency=idempotency)
        await _start_tracking(carriers.get(shipped.carrier or ""), shipped)
        return shipped
    if found.status is not ShipmentStatus.PENDING:
        raise InvalidTransition("Shipment", str(found.id), found.status,
                                ShipmentStatus.LABEL_PURCHASED)
    order = await Order.get(id=found.order_id)
    location = await Location.get(id=found.location_id)
    units = sum(sl.quantity for sl in await ShipmentLine.filter(shipment_id=found.id))
    request = LabelRequest(reference=f"shipment-{found.id}", from_address=location.address or {},
                           to_address=order.shipping_address or {},
                           weight_grams=GRAMS_PER_UNIT * max(units, 1),
                           service=service or found.service,
                           carrier_shipment=found.carrier_shipment)
    try:
        if request.carrier_shipment is None:
            opened = await chosen.prepare_label(request)
            # Only the first opening is kept: a concurrent attempt uses the same one.
            await Shipment.filter(id=found.id, carrier_shipment=None).update(
                carrier_shipment=opened, carrier=chosen.code)
            await found.refresh_from_db()
            request = replace(request, carrier_shipment=found.carrier_shipment)
        label = await chosen.buy_label(request)
    except CarrierRefused as refused:
        raise CarrierFailed(f"{chosen.code} refused: {refused}") from None
    except CarrierUnavailable as unavailable:
        raise CarrierFailed(f"{chosen.code} did not answer ({unavailable}); shipping again "
                            "reuses the same carrier shipment", retryable=True) from None
    return await ship_shipment(shipment_id=shipment_id, carrier=chosen.code, service=service,
                               carriers=carriers, actor=actor, idempotency=idempotency,
                               label=label)


async def _start_tracking(carrier: Carrier | None, shipment: Shipment) -> None:
    """For carriers that push tracking only once asked (Kuaidi100): ask, after commit."""
    start = getattr(carrier, "start_tracking", None)
    if start is None or not shipment.tracking_number:
        return
    try:
        await start(tracking_number=shipment.tracking_number, service=shipment.service)
    except (CarrierRefused, CarrierUnavailable) as failure:
        # The parcel left either way; tracking can still be entered by hand.
        log.warning("shipment %s: tracking not subscribed with %s: %s", shipment.id,
                    shipment.carrier, failure)
