"""Tracking: recording carrier updates once each, and moving shipments only forward."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.cross_aggregate import require_handover_allowed
from domain.db import fetch
from domain.errors import InvalidTransition, NotFound
from domain.events.catalogue import TrackingEventPayload, shipment_event
from domain.events.models import OutboxMessage
from domain.events.ports import shipment_topic
from domain.events.service import record_order_event
from domain.fulfillment.models import Shipment, ShipmentStatus, TrackingEvent
from domain.fulfillment.states import ARRIVED, DISPATCHED, can_transition
from domain.orders.lifecycle import lock_order
from domain.orders.models import Order
from domain.orders.progress import refresh_progress
from domain.uow import unit_of_work

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class TrackingUpdate:
    status: ShipmentStatus
    occurred_at: datetime | None = None
    description: str | None = None
    location: str | None = None
    external_id: str | None = None


def _digest(update: TrackingUpdate, occurred_at: datetime) -> str:
    raw = "|".join([update.status.value, occurred_at.isoformat(), update.description or "",
                    update.location or ""])
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def tracking_payload(event: TrackingEvent, order_id: int) -> dict[str, Any]:
    return TrackingEventPayload(
        shipment_id=event.shipment_id, order_id=order_id, sequence=event.sequence,
        status=event.status.value, description=event.description,
        location=event.location, occurred_at=event.occurred_at.isoformat(),
    ).to_json()


async def record_tracking_event(
    conn: BaseDBAsyncClient, shipment: Shipment, update: TrackingUpdate,
) -> TrackingEvent | None:
    """Append a tracking event (gapless sequence per shipment); None if already recorded."""
    occurred_at = update.occurred_at or datetime.now(UTC)
    external_id = update.external_id or _digest(update, occurred_at)
    if await TrackingEvent.filter(shipment_id=shipment.id,
                                  external_id=external_id).using_db(conn).exists():
        return None
    rows = await fetch(conn, "UPDATE shipment SET event_seq = event_seq + 1 WHERE id = ? "
                             "RETURNING event_seq", [shipment.id])
    shipment.event_seq = int(rows[0]["event_seq"])
    event = await TrackingEvent.create(
        shipment_id=shipment.id, sequence=shipment.event_seq, status=update.status,
        description=update.description, location=update.location, occurred_at=occurred_at,
        external_id=external_id, using_db=conn,
    )
    await OutboxMessage.create(topic=shipment_topic(shipment.id),
                               payload=tracking_payload(event, shipment.order_id), using_db=conn)
    return event


async def lock_shipment(conn: BaseDBAsyncClient, shipment_id: int) -> Shipment:
    shipment = await Shipment.filter(id=shipment_id).select_for_update().using_db(conn).first()
    if shipment is None:
        raise NotFound("Shipment", str(shipment_id), field=("shipmentId",))
    return shipment


def _effective_time(shipment: Shipment, occurred_at: datetime) -> datetime:
    """A carrier's clock a little behind ours: an event stamped up to CLOCK_SKEW before we
    shipped counts as at the ship time, so it is applied rather than taken as older."""
    shipped = shipment.shipped_at
    if shipped is not None and shipped - CLOCK_SKEW <= occurred_at < shipped:
        return shipped
    return occurred_at


async def _apply(
    conn: BaseDBAsyncClient, order: Order, shipment: Shipment, update: TrackingUpdate, *,
    strict: bool, actor: str,
) -> None:
    if shipment.status not in DISPATCHED:
        raise InvalidTransition("Shipment", str(shipment.id), shipment.status, update.status)
    at = _effective_time(shipment, update.occurred_at or datetime.now(UTC))
    newer = shipment.status_at is None or at >= shipment.status_at
    moves = newer and update.status != shipment.status
    if moves and not can_transition(shipment.status, update.status):
        if strict:
            raise InvalidTransition("Shipment", str(shipment.id), shipment.status, update.status)
        moves = False  # a carrier's late or odd report is kept, but does not move the parcel
    if moves:
        require_handover_allowed(order, shipment, update.status)
    event = await record_tracking_event(conn, shipment, update)
    if event is None or not moves:
        return
    shipment.status = update.status
    shipment.status_at = at
    if update.status in ARRIVED:
        shipment.delivered_at = at
    await shipment.save(update_fields=["status", "status_at", "delivered_at", "updated_at"],
                        using_db=conn)
    where = f" at {update.location}" if update.location else ""
    await record_order_event(
        conn, order_id=order.id, type=shipment_event(update.status), actor=actor,
        message=f"Shipment {shipment.id} ({shipment.tracking_number or 'no tracking number'}) "
                f"is {update.status.value.lower().replace('_', ' ')}{where}",
        data={"shipment_id": shipment.id},
    )
    await refresh_progress(conn, order, actor=actor)


async def add_tracking_events(
    *, shipment_id: int, updates: Sequence[TrackingUpdate], actor: str, strict: bool = True,
) -> Shipment:
    """Record tracking updates for one shipment, oldest first.

    The same update twice is stored once. An update older than the shipment's
    current status is recorded but never moves it back; one stamped less than
    five minutes before the ship time (the carrier's clock) counts as at it. With ``strict`` (staff
    and partners typing an update), an impossible move is INVALID_TRANSITION;
    carriers' reports are absorbed instead.
    """
    for update in updates:
        v.text(update.description, field=("description",), max_length=500)
        v.text(update.location, field=("location",), max_length=200)
    async with unit_of_work() as conn:
        owner = await Shipment.get_or_none(id=shipment_id, using_db=conn)
        if owner is None:
            raise NotFound("Shipment", str(shipment_id), field=("shipmentId",))
        order = await lock_order(conn, owner.order_id)  # order, then shipment: one lock order
        shipment = await lock_shipment(conn, shipment_id)
        for update in sorted(updates, key=lambda u: u.occurred_at or datetime.now(UTC)):
            await _apply(conn, order, shipment, update, strict=strict, actor=actor)
    return shipment


async def shipments_by_tracking_number(tracking_number: str) -> list[Shipment]:
    return list(await Shipment.filter(tracking_number=tracking_number).order_by("id"))
