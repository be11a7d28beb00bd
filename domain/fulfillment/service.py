"""Shipments: create from an order's reservations at one location, dispatch, cancel.

Dispatching moves the units out of on hand and reserved (ledger rows), and
the order's fulfilment status follows. Every step locks the order row first,
then the shipment, so concurrent changes to one order queue up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.catalog.models import Location
from domain.cross_aggregate import require_order_ships
from domain.errors import (
    DomainError,
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QuantityExceedsRemaining,
    UnknownLocation,
    raise_all,
)
from domain.events.catalogue import EventType, shipment_event
from domain.events.service import record_order_event, record_stock_changed
from domain.fulfillment.models import Shipment, ShipmentLine, ShipmentStatus
from domain.fulfillment.ports import Carrier, Label
from domain.fulfillment.states import can_transition
from domain.fulfillment.tracking import TrackingUpdate, lock_shipment, record_tracking_event
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.inventory.reservation import ship_units, unship_units
from domain.orders.lifecycle import lock_order
from domain.orders.models import Allocation, Order, OrderLine
from domain.orders.progress import refresh_progress

S = ShipmentStatus


@dataclass(frozen=True)
class ShipmentLineRequest:
    order_line_id: int
    quantity: int


def _carrier(carriers: Mapping[str, Carrier], code: str | None) -> Carrier | None:
    if code is None:
        return None
    carrier = carriers.get(code)
    if carrier is None:
        known = ", ".join(sorted(carriers)) or "none"
        raise InvalidInput(f"Unknown carrier {code!r} (configured: {known})", field=("carrier",))
    return carrier


async def _remaining(
    conn: BaseDBAsyncClient, order: Order, lines: Sequence[OrderLine]
) -> dict[tuple[int, int | None], int]:
    """Units of each line still to ship, per location (None: untracked, from anywhere)."""
    allocations = await Allocation.filter(order_line__order_id=order.id).using_db(conn)
    tracked = {a.order_line_id for a in allocations}
    remaining: dict[tuple[int, int | None], int] = defaultdict(int)
    for a in allocations:
        if not a.released:
            remaining[(a.order_line_id, a.location_id)] += a.quantity
    for line in lines:
        if line.id not in tracked:
            remaining[(line.id, None)] += line.quantity - line.quantity_shipped
    pending = await ShipmentLine.filter(shipment__order_id=order.id,
                                        shipment__status=S.PENDING).prefetch_related(
        "shipment").using_db(conn)
    for sl in pending:
        location: int | None = sl.shipment.location_id if sl.order_line_id in tracked else None
        remaining[(sl.order_line_id, location)] -= sl.quantity
    return remaining


def _available_at(
    remaining: Mapping[tuple[int, int | None], int], line_id: int, location_id: int
) -> int:
    return max(remaining.get((line_id, location_id), 0), 0) + max(
        remaining.get((line_id, None), 0), 0)


async def _choose_location(
    conn: BaseDBAsyncClient, order: Order, remaining: Mapping[tuple[int, int | None], int],
    location_id: int | None,
) -> Location:
    if order.pickup_location_id is not None:
        if location_id not in (None, order.pickup_location_id):
            raise InvalidInput("A click-and-collect order ships from its pickup store",
                               field=("locationId",))
        location_id = order.pickup_location_id
    if location_id is not None:
        location = await Location.get_or_none(id=location_id, using_db=conn)
        if location is None:
            raise UnknownLocation(str(location_id), field=("locationId",))
        return location
    units: dict[int, int] = defaultdict(int)
    for (_, loc), qty in remaining.items():
        if loc is not None and qty > 0:
            units[loc] += qty
    if not units:
        raise InvalidInput("Nothing is left to ship from any location", field=("lines",))
    candidates = await Location.filter(id__in=list(units)).using_db(conn)
    return max(candidates, key=lambda loc: (units[loc.id], -loc.priority))


async def create_shipment(
    *, order_id: int, location_id: int | None = None,
    lines: Sequence[ShipmentLineRequest] | None = None, carrier: str | None = None,
    service: str | None = None, carriers: Mapping[str, Carrier], actor: str,
    idempotency: IdempotencyKey | None = None,
) -> Shipment:
    """Start a shipment of a confirmed order's units reserved at one location.

    Without lines, every unit still to ship from that location goes in it.
    Asking for more than remains is QUANTITY_EXCEEDS_REMAINING.
    """
    chosen_carrier = _carrier(carriers, carrier)
    service = v.text(service, field=("service",), max_length=64)

    async def run(conn: BaseDBAsyncClient) -> Shipment:
        order = await lock_order(conn, order_id)
        require_order_ships(order)
        order_lines = list(await OrderLine.filter(order_id=order.id).using_db(conn))
        remaining = await _remaining(conn, order, order_lines)
        location = await _choose_location(conn, order, remaining, location_id)
        wanted = _wanted(order_lines, remaining, location.id, lines)
        shipment = await Shipment.create(
            order_id=order.id, location_id=location.id, status=S.PENDING,
            carrier=chosen_carrier.code if chosen_carrier else None, service=service,
            using_db=conn,
        )
        await ShipmentLine.bulk_create(
            [ShipmentLine(shipment_id=shipment.id, order_line_id=lid, quantity=q)
             for lid, q in wanted.items()], using_db=conn)
        await record_order_event(
            conn, order_id=order.id, type=EventType.SHIPMENT_CREATED, actor=actor,
            message=f"Shipment {shipment.id} of {sum(wanted.values())} unit(s) "
                    f"from {location.code}",
        )
        return shipment

    request = [order_id, location_id, [(ln.order_line_id, ln.quantity) for ln in lines or []],
               carrier, service]
    return await idempotent(key=idempotency, operation="shipmentCreate", request=request,
                            run=run, encode=lambda s: {"shipment": s.id},
                            decode=lambda r: Shipment.get(id=r["shipment"]))


def _wanted(
    order_lines: Sequence[OrderLine], remaining: Mapping[tuple[int, int | None], int],
    location_id: int, lines: Sequence[ShipmentLineRequest] | None,
) -> dict[int, int]:
    by_id = {line.id: line for line in order_lines}
    if lines is None:
        wanted = {line.id: _available_at(remaining, line.id, location_id) for line in order_lines}
        wanted = {lid: q for lid, q in wanted.items() if q > 0}
        if not wanted:
            raise InvalidInput("Nothing is left to ship from this location", field=("lines",))
        return wanted
    errors: list[DomainError] = []
    wanted = {}
    if not lines:
        errors.append(InvalidInput("Name at least one line, or leave lines out", field=("lines",)))
    for i, req in enumerate(lines):
        at = ("lines", str(i))
        line = by_id.get(req.order_line_id)
        if line is None:
            errors.append(NotFound("Order line", str(req.order_line_id), field=(*at, "orderLineId")))
            continue
        if req.order_line_id in wanted:
            errors.append(InvalidInput("Each line may appear once", field=(*at, "orderLineId")))
            continue
        try:
            v.quantity(req.quantity, field=(*at, "quantity"))
        except DomainError as error:
            errors.append(error)
            continue
        left = _available_at(remaining, line.id, location_id)
        if req.quantity > left:
            errors.append(QuantityExceedsRemaining(f"{line.sku} from this location", req.quantity,
                                                   left, field=(*at, "quantity")))
            continue
        wanted[line.id] = req.quantity
    raise_all(errors)
    return wanted


async def ship_shipment(
    *, shipment_id: int, tracking_number: str | None = None, carrier: str | None = None,
    service: str | None = None, carriers: Mapping[str, Carrier], actor: str,
    idempotency: IdempotencyKey | None = None, label: Label | None = None,
) -> Shipment:
    """Dispatch a pending shipment: in transit, or ready for pickup for click and collect.

    The units leave on hand and reserved at its location. Backordered units
    that are not on hand yet cannot ship (INSUFFICIENT_STOCK). The order must
    still be CONFIRMED: a cancelled, held or completed order ships nothing
    (INVALID_TRANSITION).
    """
    tracking_number = v.text(tracking_number, field=("trackingNumber",), max_length=64)
    service = v.text(service, field=("service",), max_length=64)
    override = _carrier(carriers, carrier)

    async def run(conn: BaseDBAsyncClient) -> Shipment:
        owner = await Shipment.get_or_none(id=shipment_id, using_db=conn)
        if owner is None:
            raise NotFound("Shipment", str(shipment_id), field=("shipmentId",))
        order = await lock_order(conn, owner.order_id)
        require_order_ships(order)
        shipment = await lock_shipment(conn, shipment_id)
        target = S.READY_FOR_PICKUP if order.pickup_location_id else (
            S.LABEL_PURCHASED if label else S.IN_TRANSIT)
        if not can_transition(shipment.status, target):
            raise InvalidTransition("Shipment", str(shipment.id), shipment.status, target)
        skus = await _dispatch(conn, order, shipment, actor=actor)
        location = await Location.get(id=shipment.location_id, using_db=conn)
        chosen = override or (carriers.get(shipment.carrier) if shipment.carrier else None)
        shipment.carrier = chosen.code if chosen else shipment.carrier
        shipment.service = (label.service if label else None) or service or shipment.service
        shipment.tracking_number = (label.tracking_number if label else None) or (
            tracking_number or shipment.tracking_number)
        if label is not None:
            shipment.label_url = label.label_url
        if chosen and shipment.tracking_number:
            shipment.tracking_url = chosen.tracking_url(shipment.tracking_number)
        shipment.status = target
        shipment.shipped_at = shipment.status_at = datetime.now(UTC)
        await shipment.save(using_db=conn)
        words = {S.READY_FOR_PICKUP: f"ready for pickup at {location.code}",
                 S.LABEL_PURCHASED: f"labelled at {location.code}, awaiting the carrier"}.get(
            target, f"shipped from {location.code}")
        await record_tracking_event(conn, shipment, TrackingUpdate(
            status=target, occurred_at=shipment.shipped_at, description=words.capitalize(),
            location=location.code, external_id="oms:dispatch"))
        via = f" with {shipment.carrier}" if shipment.carrier else ""
        number = f", tracking {shipment.tracking_number}" if shipment.tracking_number else ""
        await record_order_event(conn, order_id=order.id, type=shipment_event(target),
                                 actor=actor,
                                 message=f"Shipment {shipment.id} {words}{via}{number}",
                                 data={"shipment_id": shipment.id, "dispatched": True})
        await refresh_progress(conn, order, actor=actor)
        await record_stock_changed(conn, skus)
        return shipment

    return await idempotent(
        key=idempotency, operation="shipmentShip",
        request=[shipment_id, tracking_number, carrier, service], run=run,
        encode=lambda s: {"shipment": s.id}, decode=lambda r: Shipment.get(id=r["shipment"]),
    )


async def _dispatch(
    conn: BaseDBAsyncClient, order: Order, shipment: Shipment, *, actor: str
) -> set[str]:
    """Move each line's units out of stock, consuming its allocations at the location."""
    skus: set[str] = set()
    shipment_lines = await ShipmentLine.filter(shipment_id=shipment.id).using_db(conn)
    for sl in sorted(shipment_lines, key=lambda x: x.order_line_id):
        line = await OrderLine.get(id=sl.order_line_id, using_db=conn)
        allocations = await Allocation.filter(
            order_line_id=line.id, location_id=shipment.location_id, released=False,
        ).order_by("id").using_db(conn)
        need = sl.quantity
        for allocation in allocations:
            take = min(need, allocation.quantity)
            if take == 0:
                continue
            if not await ship_units(conn, allocation.stock_level_id, take,
                                    reference=f"order:{order.id}", actor=actor):
                raise InsufficientStock(line.sku, take, 0, field=("shipmentId",))
            allocation.quantity -= take
            allocation.released = allocation.quantity == 0
            await allocation.save(update_fields=["quantity", "released"], using_db=conn)
            need -= take
            skus.add(line.sku)
        line.quantity_shipped += sl.quantity
        line.quantity_backordered = min(line.quantity_backordered,
                                        line.quantity - line.quantity_shipped)
        await line.save(update_fields=["quantity_shipped", "quantity_backordered"],
                        using_db=conn)
    return skus


async def cancel_shipment(
    *, shipment_id: int, actor: str, idempotency: IdempotencyKey | None = None
) -> Shipment:
    """Cancel a shipment that has not left: its units return to the order's reservations."""

    async def run(conn: BaseDBAsyncClient) -> Shipment:
        owner = await Shipment.get_or_none(id=shipment_id, using_db=conn)
        if owner is None:
            raise NotFound("Shipment", str(shipment_id), field=("id",))
        order = await lock_order(conn, owner.order_id)
        shipment = await lock_shipment(conn, shipment_id)
        if not can_transition(shipment.status, S.CANCELLED):
            raise InvalidTransition("Shipment", str(shipment.id), shipment.status, S.CANCELLED)
        skus: set[str] = set()
        if shipment.status is not S.PENDING:
            skus = await _undispatch(conn, order, shipment, actor=actor)
            await record_tracking_event(conn, shipment, TrackingUpdate(
                status=S.CANCELLED, description="Cancelled before it left",
                external_id="oms:cancel"))
        shipment.status = S.CANCELLED
        await shipment.save(update_fields=["status", "updated_at"], using_db=conn)
        await record_order_event(conn, order_id=order.id, type=EventType.SHIPMENT_CANCELLED,
                                 actor=actor, message=f"Shipment {shipment.id} cancelled")
        await refresh_progress(conn, order, actor=actor)
        await record_stock_changed(conn, skus)
        return shipment

    return await idempotent(key=idempotency, operation="shipmentCancel", request=[shipment_id],
                            run=run, encode=lambda s: {"shipment": s.id},
                            decode=lambda r: Shipment.get(id=r["shipment"]))


async def _undispatch(
    conn: BaseDBAsyncClient, order: Order, shipment: Shipment, *, actor: str
) -> set[str]:
    skus: set[str] = set()
    for sl in await ShipmentLine.filter(shipment_id=shipment.id).order_by(
            "order_line_id").using_db(conn):
        line = await OrderLine.get(id=sl.order_line_id, using_db=conn)
        line.quantity_shipped -= sl.quantity
        await line.save(update_fields=["quantity_shipped"], using_db=conn)
        shipped = await Allocation.filter(order_line_id=line.id,
                                          location_id=shipment.location_id).order_by(
            "id").using_db(conn).first()
        if shipped is None:
            continue  # an untracked line moved no stock
        await unship_units(conn, shipped.stock_level_id, sl.quantity,
                           reference=f"order:{order.id}", actor=actor)
        await Allocation.create(order_line_id=line.id, location_id=shipment.location_id,
                                stock_level_id=shipped.stock_level_id, quantity=sl.quantity,
                                using_db=conn)
        skus.add(line.sku)
    return skus
