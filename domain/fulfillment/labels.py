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
from domain.cross_aggregate import require_order_ships
from domain.errors import CarrierFailed, InvalidTransition, NotFound
from domain.events.catalogue import EventType
from domain.events.service import record_order_event
from domain.fulfillment.models import Shipment, ShipmentLine, ShipmentStatus
from domain.fulfillment.ports import (
    Carrier,
    CarrierRefused,
    CarrierUnavailable,
    LabelRequest,
    Rate,
)
from domain.fulfillment.service import ship_shipment
from domain.idempotency.service import IdempotencyKey
from domain.money import format_amount
from domain.orders.models import Order
from domain.uow import unit_of_work

log = logging.getLogger(__name__)
GRAMS_PER_UNIT = 500
AUTO = "auto"  # until variants carry their weight


async def dispatch_shipment(
    *, shipment_id: int, tracking_number: str | None, carrier: str | None,
    service: str | None, carriers: Mapping[str, Carrier], actor: str,
    idempotency: IdempotencyKey | None = None, promises: Mapping[str, int] | None = None,
) -> Shipment:
    """Ship: with the given tracking number, or with a label bought from the carrier.

    ``carrier: "auto"`` first chooses the cheapest rate that keeps the order's
    shipping-method promise (``promises``: days per method), with the reason
    recorded as an order event.
    """
    found = await Shipment.get_or_none(id=shipment_id)
    if found is None:
        raise NotFound("Shipment", str(shipment_id), field=("shipmentId",))
    if carrier == AUTO:
        require_order_ships(await Order.get(id=found.order_id))
        found = await choose_carrier(found, carriers, promises or {}, actor=actor)
        carrier, service = found.carrier, found.service
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
    require_order_ships(await Order.get(id=found.order_id))  # before a label is paid for
    request = await _label_request(found, service=service or found.service)
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


async def _label_request(found: Shipment, *, service: str | None) -> LabelRequest:
    order = await Order.get(id=found.order_id)
    location = await Location.get(id=found.location_id)
    units = sum(sl.quantity for sl in await ShipmentLine.filter(shipment_id=found.id))
    return LabelRequest(reference=f"shipment-{found.id}", from_address=location.address or {},
                        to_address=order.shipping_address or {},
                        weight_grams=GRAMS_PER_UNIT * max(units, 1), service=service,
                        carrier_shipment=found.carrier_shipment, currency=order.currency)


async def choose_carrier(found: Shipment, carriers: Mapping[str, Carrier],
                         promises: Mapping[str, int], *, actor: str) -> Shipment:
    """The cheapest rate, among every carrier's, that keeps the promise; written down."""
    if found.status is not ShipmentStatus.PENDING:
        raise InvalidTransition("Shipment", str(found.id), found.status, "shipped")
    order = await Order.get(id=found.order_id)
    method = order.shipping_method or "standard"
    promise = promises.get(method)
    offers: list[tuple[Carrier, Rate, str | None]] = []
    asked = await _label_request(found, service=None)
    for candidate in carriers.values():
        request, opened = asked, None
        try:
            if candidate.sells_labels:
                opened = await candidate.prepare_label(request)
                request = replace(request, carrier_shipment=opened)
            rates = await candidate.quote(request)
        except (CarrierRefused, CarrierUnavailable) as failure:
            log.info("no quote from %s for shipment %s: %s", candidate.code, found.id, failure)
            continue
        offers += [(candidate, rate, opened) for rate in rates
                   if rate.currency == order.currency and rate.delivery_days is not None
                   and (promise is None or rate.delivery_days <= promise)]
    if not offers:
        raise CarrierFailed(f"no carrier quotes a rate within the {promise}-day promise of "
                            f"'{method}'" if promise else "no carrier quoted a rate")
    best_carrier, best, opened = min(offers, key=lambda o: (o[1].amount, o[1].delivery_days))
    found.carrier, found.service = best_carrier.code, best.service
    found.carrier_shipment = opened
    keeps = f"{best.delivery_days} day(s) within the {promise}-day promise of '{method}'" \
        if promise is not None else f"{best.delivery_days} day(s)"
    async with unit_of_work() as conn:
        await found.save(update_fields=["carrier", "service", "carrier_shipment"],
                         using_db=conn)
        await record_order_event(
            conn, order_id=order.id, type=EventType.CARRIER_CHOSEN, actor="system:routing",
            message=f"Shipment {found.id}: {best_carrier.code} {best.service} at "
                    f"{format_amount(best.amount, best.currency)}, {keeps}; the cheapest of "
                    f"{len(offers)} rate(s) that keep it")
    return found


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
