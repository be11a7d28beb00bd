"""Live tracking over graphql-transport-ws: replay what was missed, then stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import strawberry
from strawberry.types import Info
from tortoise.queryset import QuerySet

from api.auth import Permission
from api.graphql.errors import graphql_error
from api.graphql.fulfillment.types import TrackingEvent
from api.graphql.inventory.queries import MAX_SKUS
from api.graphql.inventory.types import Availability
from api.graphql.live import OPERATION
from api.graphql.orders.types import OrderEvent
from api.graphql.permissions import public, requires
from api.graphql.relay import from_global_id
from api.observability import metrics
from domain.events.models import OrderEvent as OrderEventModel
from domain.events.ports import RESYNC, order_topic, shipment_topic, stock_topic
from domain.events.stream import replay_then_live
from domain.fulfillment.models import Shipment as ShipmentModel
from domain.fulfillment.models import TrackingEvent as TrackingEventModel
from domain.inventory.availability import availability
from domain.orders.models import Order as OrderModel


def _about(kind: str, **ids: int) -> Callable[[dict[str, Any]], bool]:
    """Whether a bus message is an event of this kind about exactly these ids."""
    return lambda m: m.get("kind") == kind and all(m.get(k) == v for k, v in ids.items())


async def _stream(info: Info, topic: str, after: int | None, stored: Callable[[], QuerySet[Any]],
                  kind: Any, accepts: Callable[[dict[str, Any]], bool]) -> AsyncIterator[Any]:
    """Replay-then-live for one sequence of events; ``kind`` builds the GraphQL type, and
    ``stored`` the query of its stored events at each read (a query built once would be
    kept, with all it holds, by every follower for as long as it follows).

    Over a websocket the operation is handed over to the process's live feeds
    (``api.graphql.live``), which execute each live event once for every subscriber who
    sees the same thing; nothing is yielded here then."""

    async def load(since: int, upto: int | None) -> list[Any]:
        query = stored().filter(sequence__gt=since)
        if upto is not None:
            query = query.filter(sequence__lte=upto)
        return [kind.from_model(row) for row in await query.order_by("sequence")]

    context = info.context
    operation = OPERATION.get()
    if operation is not None and context.services.live is not None:
        await context.services.live.follow(
            operation, topic=topic, view=context.scope.view_key, schema=info.schema,
            context=context, after=after or 0, load=load, build=kind.from_message,
            accepts=accepts)
        return
    metrics.SUBSCRIPTIONS.inc()
    try:
        async for event in replay_then_live(
            context.services.bus, topic, after=after or 0, load=load,
            sequence=lambda e: e.sequence, from_message=kind.from_message, accepts=accepts,
        ):
            yield event
    finally:
        metrics.SUBSCRIPTIONS.dec()


def _not_found(what: str) -> Exception:
    return graphql_error(f"{what} does not exist", "NOT_FOUND")


@strawberry.type
class Subscription:
    @strawberry.subscription(
        extensions=requires(Permission.ORDERS_READ),
        description="The order's events with sequence > after, then each new one as it happens.",
    )
    async def order_events(
        self, info: Info, order_id: strawberry.ID, after: int | None = None
    ) -> AsyncGenerator[OrderEvent, None]:
        scope = info.context.scope
        decoded = from_global_id(order_id, expect="Order")
        if decoded is None or not await scope.query(OrderModel).filter(id=decoded[1]).exists():
            raise _not_found(f"Order {order_id}")
        order = decoded[1]
        about = _about("order_event", order_id=order)
        # Internal events (staff notes) are the shop's: a buyer's stream skips them, as its
        # replay does (domain/access), and their sequence numbers with them.
        async for event in _stream(info, order_topic(order), after,
                                   lambda: scope.query(OrderEventModel).filter(order_id=order),
                                   OrderEvent, lambda m: about(m) and scope.reads_event(
                                       str(m.get("type")))):
            yield event

    @strawberry.subscription(
        extensions=requires(Permission.ORDERS_READ),
        description="One shipment's tracking events with sequence > after, then live ones.",
    )
    async def shipment_tracking(
        self, info: Info, shipment_id: strawberry.ID | None = None,
        tracking_number: str | None = None, after: int | None = None,
    ) -> AsyncGenerator[TrackingEvent, None]:
        scope = info.context.scope
        shipment = None
        if shipment_id is not None:
            decoded = from_global_id(shipment_id, expect="Shipment")
            shipment = await scope.get(ShipmentModel, decoded[1]) if decoded else None
        elif tracking_number is not None:
            shipment = await scope.query(ShipmentModel).filter(
                tracking_number=tracking_number).order_by("-id").first()
        if shipment is None:
            raise _not_found("Shipment")
        parcel = shipment.id
        async for event in _stream(info, shipment_topic(parcel), after,
                                   lambda: scope.query(TrackingEventModel).filter(
                                       shipment_id=parcel),
                                   TrackingEvent, _about("tracking_event", shipment_id=parcel)):
            yield event

    @strawberry.subscription(
        extensions=public(),
        description="The SKUs' availability now, then again each time it changes.",
    )
    async def availability_changed(
        self, info: Info, skus: list[str], channel: str | None = None
    ) -> AsyncGenerator[Availability, None]:
        if not 0 < len(skus) <= MAX_SKUS:
            raise graphql_error(f"Watch 1 to {MAX_SKUS} SKUs", "BAD_REQUEST")
        services = info.context.services
        last: dict[str, object] = {}

        async def changed(wanted: list[str]) -> list[Availability]:
            fresh = await availability(skus=wanted, channel=channel, cache=services.cache)
            out = []
            for a in fresh:
                if last.get(a.sku) != a:
                    last[a.sku] = a
                    out.append(Availability.from_domain(a))
            return out

        watched = set(skus)
        async with services.bus.subscribe(*(stock_topic(s) for s in watched)) as live:
            for item in await changed(skus):
                yield item
            async for message in live:
                resync = message.get("kind") == RESYNC["kind"]
                if not resync and message.get("sku") not in watched:
                    continue  # not one of ours, whatever topic it came on
                for item in await changed(skus if resync else [message["sku"]]):
                    yield item
