"""Fulfilment mutations: shipmentCreate, shipmentShip, shipmentTrackingEventAdd, shipmentCancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.errors import UserError, attempt
from api.graphql.fulfillment.types import Shipment, ShipmentStatus
from api.graphql.ids import optional_pk, pk_of
from api.graphql.permissions import requires
from domain import application
from domain.fulfillment import service, tracking
from domain.fulfillment.models import Shipment as ShipmentModel
from domain.orders.models import Order as OrderModel


@strawberry.input
class ShipmentLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.input
class ShipmentCreateInput:
    order_id: strawberry.ID
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the location holding most of what is left."
    )
    lines: list[ShipmentLineInput] | None = strawberry.field(
        default=None, description="Defaults to everything left to ship from the location."
    )
    carrier: str | None = None
    service: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class ShipmentShipInput:
    shipment_id: strawberry.ID
    tracking_number: str | None = None
    carrier: str | None = strawberry.field(
        default=None, description='A carrier code, or "auto": the cheapest rate that keeps '
        "the order's shipping-method promise.")
    service: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class TrackingEventInput:
    shipment_id: strawberry.ID
    status: ShipmentStatus
    description: str | None = None
    location: str | None = None
    occurred_at: datetime | None = strawberry.field(
        default=None, description="When it happened (now by default). Older events never "
        "move a shipment back."
    )
    external_id: str | None = strawberry.field(
        default=None, description="The carrier's id of the event: the same id is stored once."
    )


@strawberry.type
class ShipmentCreatePayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.type
class ShipmentShipPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.type
class ShipmentTrackingEventAddPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.type
class ShipmentCancelPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


P = TypeVar("P", ShipmentCreatePayload, ShipmentShipPayload, ShipmentTrackingEventAddPayload,
            ShipmentCancelPayload)


async def _run(payload: type[P], call: Callable[[], Awaitable[ShipmentModel]]) -> P:
    async def guarded() -> ShipmentModel:  # so errors while building the call are userErrors too
        return await call()

    shipment, errors = await attempt(guarded())
    return payload(shipment=Shipment.from_model(shipment) if shipment else None,
                   user_errors=errors)


@strawberry.type
class FulfillmentMutations:
    @strawberry.mutation(extensions=requires(Permission.FULFILLMENT_WRITE),
                         description="Start a shipment of a confirmed order from one location.")
    async def shipment_create(self, info: Info, input: ShipmentCreateInput) -> ShipmentCreatePayload:
        ctx = info.context

        async def call() -> ShipmentModel:
            await ctx.scope.require(OrderModel, pk_of(input.order_id, "Order", field=("orderId",)),
                                    field="orderId")
            lines = None
            if input.lines is not None:
                lines = [service.ShipmentLineRequest(
                    pk_of(ln.order_line_id, "OrderLine", field=("lines", str(i), "orderLineId")),
                    ln.quantity) for i, ln in enumerate(input.lines)]
            return await service.create_shipment(
                order_id=pk_of(input.order_id, "Order", field=("orderId",)),
                location_id=optional_pk(input.location_id, "Location", field=("locationId",)),
                lines=lines, carrier=input.carrier, service=input.service,
                carriers=ctx.services.carriers, actor=ctx.actor(),
                idempotency=ctx.idempotency(input.idempotency_key))

        return await _run(ShipmentCreatePayload, call)

    @strawberry.mutation(extensions=requires(Permission.FULFILLMENT_WRITE),
                         description="Dispatch a shipment: its units leave stock.")
    async def shipment_ship(self, info: Info, input: ShipmentShipInput) -> ShipmentShipPayload:
        ctx = info.context

        async def call() -> ShipmentModel:
            sid = pk_of(input.shipment_id, "Shipment", field=("shipmentId",))
            await ctx.scope.require(ShipmentModel, sid, field="shipmentId")
            return await application.ship(
                ctx.deps, shipment_id=sid, tracking_number=input.tracking_number,
                carrier=input.carrier, service=input.service, actor=ctx.actor(),
                idempotency=ctx.idempotency(input.idempotency_key))

        return await _run(ShipmentShipPayload, call)

    @strawberry.mutation(extensions=requires(Permission.FULFILLMENT_WRITE),
                         description="Record a tracking update for a shipment.")
    async def shipment_tracking_event_add(
        self, info: Info, input: TrackingEventInput
    ) -> ShipmentTrackingEventAddPayload:
        ctx = info.context
        update = tracking.TrackingUpdate(
            status=input.status, occurred_at=input.occurred_at, description=input.description,
            location=input.location, external_id=input.external_id)
        async def call() -> ShipmentModel:
            sid = pk_of(input.shipment_id, "Shipment", field=("shipmentId",))
            await ctx.scope.require(ShipmentModel, sid, field="shipmentId")
            return await tracking.add_tracking_events(shipment_id=sid, updates=[update],
                                                      actor=ctx.actor())

        return await _run(ShipmentTrackingEventAddPayload, call)

    @strawberry.mutation(extensions=requires(Permission.FULFILLMENT_WRITE),
                         description="Cancel a shipment that has not left.")
    async def shipment_cancel(self, info: Info, id: strawberry.ID) -> ShipmentCancelPayload:
        ctx = info.context
        async def call() -> ShipmentModel:
            sid = pk_of(id, "Shipment", field=("id",))
            await ctx.scope.require(ShipmentModel, sid, field="id")
            return await service.cancel_shipment(shipment_id=sid, actor=ctx.actor(),
                                                 idempotency=ctx.idempotency(None))

        return await _run(ShipmentCancelPayload, call)
