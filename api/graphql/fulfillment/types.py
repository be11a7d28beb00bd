"""GraphQL types of fulfilment: Shipment, ShipmentLine, TrackingEvent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.graphql.catalog.types import Location
from api.graphql.relay import Node, to_global_id
from domain.fulfillment import models
from domain.fulfillment.models import ShipmentStatus

if TYPE_CHECKING:
    from api.graphql.orders.types import Order, OrderLine

strawberry.enum(ShipmentStatus)
OrderType = Annotated["Order", strawberry.lazy("api.graphql.orders.types")]
OrderLineType = Annotated["OrderLine", strawberry.lazy("api.graphql.orders.types")]


@strawberry.type
class TrackingEvent:
    sequence: int = strawberry.field(description="1, 2, 3 ... per shipment, without gaps.")
    status: ShipmentStatus
    description: str | None
    location: str | None
    occurred_at: datetime

    @classmethod
    def from_model(cls, m: models.TrackingEvent) -> TrackingEvent:
        return cls(sequence=m.sequence, status=m.status, description=m.description,
                   location=m.location, occurred_at=m.occurred_at)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> TrackingEvent:
        return cls(sequence=message["sequence"], status=ShipmentStatus(message["status"]),
                   description=message["description"], location=message["location"],
                   occurred_at=datetime.fromisoformat(message["occurred_at"]))


@strawberry.type
class ShipmentLine:
    quantity: int
    order_line_pk: strawberry.Private[int]
    currency: strawberry.Private[str]

    @strawberry.field
    async def order_line(self, info: Info) -> OrderLineType:
        from api.graphql.orders.types import OrderLine

        line = await info.context.loaders.order_line_by_id.load(self.order_line_pk)
        return OrderLine.from_model(line, self.currency)


@strawberry.type
class Shipment(Node):
    id: strawberry.ID
    status: ShipmentStatus
    carrier: str | None
    service: str | None
    tracking_number: str | None
    tracking_url: str | None
    label_url: str | None
    estimated_delivery: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    pk: strawberry.Private[int]
    order_pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Shipment) -> Shipment:
        return cls(id=to_global_id("Shipment", m.id), pk=m.id, order_pk=m.order_id,
                   location_pk=m.location_id, status=m.status, carrier=m.carrier,
                   service=m.service, tracking_number=m.tracking_number,
                   tracking_url=m.tracking_url, label_url=m.label_url,
                   estimated_delivery=m.estimated_delivery,
                   shipped_at=m.shipped_at, delivered_at=m.delivered_at, created_at=m.created_at)

    @strawberry.field
    async def order(self, info: Info) -> OrderType:
        from api.graphql.orders.types import Order

        return Order.from_model(await info.context.loaders.order_by_id.load(self.order_pk))

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load(self.location_pk))

    @strawberry.field
    async def lines(self, info: Info) -> list[ShipmentLine]:
        order = await info.context.loaders.order_by_id.load(self.order_pk)
        rows = await info.context.loaders.shipment_lines_by_shipment.load(self.pk)
        return [ShipmentLine(quantity=r.quantity, order_line_pk=r.order_line_id,
                             currency=order.currency) for r in rows]

    @strawberry.field(description="The parcel's tracking history, oldest first.")
    async def events(self, info: Info) -> list[TrackingEvent]:
        rows = await info.context.loaders.tracking_by_shipment.load(self.pk)
        return [TrackingEvent.from_model(r) for r in rows]
