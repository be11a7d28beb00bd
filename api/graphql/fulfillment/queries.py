"""Fulfilment queries: a shipment by ID or tracking number."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.fulfillment.types import Shipment
from api.graphql.node import register
from api.graphql.permissions import requires
from api.graphql.relay import from_global_id
from domain.fulfillment.models import Shipment as ShipmentModel


@strawberry.type
class FulfillmentQueries:
    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="A shipment by global ID or tracking number (the latest).")
    async def shipment(
        self, info: Info, id: strawberry.ID | None = None, tracking_number: str | None = None
    ) -> Shipment | None:
        found = None
        if id is not None:
            decoded = from_global_id(id, expect="Shipment")
            found = await info.context.loaders.shipment_by_id.load(decoded[1]) if decoded else None
        elif tracking_number is not None:
            found = await info.context.scope.query(ShipmentModel).filter(
                tracking_number=tracking_number).order_by("-id").first()
        return Shipment.from_model(found) if found else None


@register("Shipment", Permission.ORDERS_READ)
async def _shipment_node(info: Info, pk: int) -> Shipment | None:
    found = await info.context.loaders.shipment_by_id.load(pk)
    return Shipment.from_model(found) if found else None
