"""The catalogue of domain events: every event type, its payload and its webhook topic.

Emitters name an :class:`EventType` (never a string); the outbox row's payload is built by
the type's payload class, and the webhook topic a subscriber sees comes from the
catalogue, so a new event is one enum member and one ``CATALOGUE`` entry.
Topic names are those subscribers have always received (``order.placed``,
``shipment.in_transit``, ``payment.status_paid``, ``inventory.changed`` ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from domain.fulfillment.models import ShipmentStatus
from domain.orders.models import FulfillmentStatus, PaymentStatus
from domain.returns.models import ReturnStatus


class EventType(StrEnum):
    # Orders
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_ON_HOLD = "ORDER_ON_HOLD"
    ORDER_RELEASED = "ORDER_RELEASED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    ORDER_COMPLETED = "ORDER_COMPLETED"
    ORDER_UNFULFILLED = "ORDER_UNFULFILLED"
    ORDER_PARTIALLY_FULFILLED = "ORDER_PARTIALLY_FULFILLED"
    ORDER_FULFILLED = "ORDER_FULFILLED"
    ORDER_PARTIALLY_RETURNED = "ORDER_PARTIALLY_RETURNED"
    ORDER_RETURNED = "ORDER_RETURNED"
    STOCK_RESERVED = "STOCK_RESERVED"
    STOCK_RELEASED = "STOCK_RELEASED"
    CARRIER_CHOSEN = "CARRIER_CHOSEN"
    ORDER_EDITED = "ORDER_EDITED"  # an edit session committed: lines, quantities, shipping
    ORDER_LINES_CANCELLED = "ORDER_LINES_CANCELLED"  # unshipped units of some lines cancelled
    ORDER_DRAFT_COMPLETED = "ORDER_DRAFT_COMPLETED"  # placed from a draft (staff-set prices)
    ORDER_SHIPPING_LATE = "ORDER_SHIPPING_LATE"  # not shipped within the shop's promise
    ORDER_NOTE_ADDED = "ORDER_NOTE_ADDED"  # a staff note: internal (INTERNAL_EVENTS)
    INVOICE_ISSUED = "INVOICE_ISSUED"  # the order's invoice (domain/invoices)
    CREDIT_NOTE_ISSUED = "CREDIT_NOTE_ISSUED"  # a refund's credit note against it
    # Shipments
    SHIPMENT_CREATED = "SHIPMENT_CREATED"
    SHIPMENT_PENDING = "SHIPMENT_PENDING"
    SHIPMENT_READY_FOR_PICKUP = "SHIPMENT_READY_FOR_PICKUP"
    SHIPMENT_LABEL_PURCHASED = "SHIPMENT_LABEL_PURCHASED"
    SHIPMENT_IN_TRANSIT = "SHIPMENT_IN_TRANSIT"
    SHIPMENT_OUT_FOR_DELIVERY = "SHIPMENT_OUT_FOR_DELIVERY"
    SHIPMENT_DELIVERED = "SHIPMENT_DELIVERED"
    SHIPMENT_PICKED_UP = "SHIPMENT_PICKED_UP"
    SHIPMENT_EXCEPTION = "SHIPMENT_EXCEPTION"
    SHIPMENT_RETURNED_TO_SENDER = "SHIPMENT_RETURNED_TO_SENDER"
    SHIPMENT_CANCELLED = "SHIPMENT_CANCELLED"
    # Returns
    RETURN_REQUESTED = "RETURN_REQUESTED"
    RETURN_APPROVED = "RETURN_APPROVED"
    RETURN_DECLINED = "RETURN_DECLINED"
    RETURN_RECEIVED = "RETURN_RECEIVED"
    RETURN_REFUNDED = "RETURN_REFUNDED"
    RETURN_CANCELLED = "RETURN_CANCELLED"
    # Payments
    PAYMENT_STARTED = "PAYMENT_STARTED"
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"
    PAYMENT_VOIDED = "PAYMENT_VOIDED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PAYMENT_DISPUTED = "PAYMENT_DISPUTED"
    PAYMENT_STATUS_UNPAID = "PAYMENT_STATUS_UNPAID"
    PAYMENT_STATUS_AUTHORIZED = "PAYMENT_STATUS_AUTHORIZED"
    PAYMENT_STATUS_PARTIALLY_PAID = "PAYMENT_STATUS_PARTIALLY_PAID"
    PAYMENT_STATUS_PAID = "PAYMENT_STATUS_PAID"
    PAYMENT_STATUS_PARTIALLY_REFUNDED = "PAYMENT_STATUS_PARTIALLY_REFUNDED"
    PAYMENT_STATUS_REFUNDED = "PAYMENT_STATUS_REFUNDED"
    PAYMENT_STATUS_VOIDED = "PAYMENT_STATUS_VOIDED"
    # Facts that are not order events (their own outbox rows)
    STOCK_CHANGED = "STOCK_CHANGED"
    LOW_STOCK = "LOW_STOCK"
    TRACKING_EVENT = "TRACKING_EVENT"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    # The catalogue (their own outbox rows, on the catalogue's bus topic)
    PRODUCT_CREATED = "PRODUCT_CREATED"
    PRODUCT_UPDATED = "PRODUCT_UPDATED"
    PRODUCT_ARCHIVED = "PRODUCT_ARCHIVED"
    PRODUCT_UNARCHIVED = "PRODUCT_UNARCHIVED"
    VARIANT_CREATED = "VARIANT_CREATED"
    VARIANT_UPDATED = "VARIANT_UPDATED"
    CHANNEL_CREATED = "CHANNEL_CREATED"
    CHANNEL_UPDATED = "CHANNEL_UPDATED"
    LOCATION_CREATED = "LOCATION_CREATED"
    LOCATION_UPDATED = "LOCATION_UPDATED"
    CATALOG_IMPORTED = "CATALOG_IMPORTED"
    PRICE_LIST_CREATED = "PRICE_LIST_CREATED"
    PRICE_LIST_UPDATED = "PRICE_LIST_UPDATED"
    PRICE_LIST_DELETED = "PRICE_LIST_DELETED"
    PRICE_LIST_ENTRIES_SET = "PRICE_LIST_ENTRIES_SET"


# --- Typed payloads: what an outbox row of each kind carries ---------------------------


@dataclass(frozen=True)
class OrderEventPayload:
    """An order's numbered event (kind ``order_event``)."""

    order_id: int
    sequence: int
    type: str
    message: str | None
    actor: str | None
    data: Any
    created_at: str
    actor_staff_id: int | None = None  # the staff member who did it (domain/acting.py)
    kind: str = "order_event"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StockChangedPayload:
    sku: str
    kind: str = "stock_changed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LowStockPayload:
    sku: str
    location: str
    available: int
    threshold: int
    kind: str = "low_stock"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrackingEventPayload:
    shipment_id: int
    order_id: int
    sequence: int
    status: str
    description: str | None
    location: str | None
    occurred_at: str
    kind: str = "tracking_event"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WebhookDisabledPayload:
    """A webhook subscription stopped after its deliveries failed for too long."""

    subscription_id: int
    url: str
    reason: str
    kind: str = "webhook_disabled"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CatalogChangedPayload:
    """A change to what orders are placed from (kind ``catalog_changed``): every process
    drops what it cached of it (domain/catalog/cache.py)."""

    type: str
    ref: str  # the product's id, the channel's, location's or price list's code, the file
    skus: list[str] | None  # variants whose order-time data changed; None: any of them
    # which locations serve which channel, how they are preferred, or its price lists
    routing: bool
    actor: str | None
    created_at: str
    kind: str = "catalog_changed"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Payload = (OrderEventPayload | StockChangedPayload | LowStockPayload | TrackingEventPayload
           | WebhookDisabledPayload | CatalogChangedPayload)

# Order events that are the shop's own: in the order's timeline for staff and partner apps,
# never shown to the buyer (their order view, their subscription) nor sent to them
# (domain/notifications/kinds.py notifies of none of them).
INTERNAL_EVENTS = frozenset({EventType.ORDER_NOTE_ADDED})

CATALOG_EVENTS = (
    EventType.PRODUCT_CREATED, EventType.PRODUCT_UPDATED, EventType.PRODUCT_ARCHIVED,
    EventType.PRODUCT_UNARCHIVED, EventType.VARIANT_CREATED, EventType.VARIANT_UPDATED,
    EventType.CHANNEL_CREATED, EventType.CHANNEL_UPDATED, EventType.LOCATION_CREATED,
    EventType.LOCATION_UPDATED, EventType.CATALOG_IMPORTED, EventType.PRICE_LIST_CREATED,
    EventType.PRICE_LIST_UPDATED, EventType.PRICE_LIST_DELETED, EventType.PRICE_LIST_ENTRIES_SET,
)


@dataclass(frozen=True)
class EventSpec:
    topic: str  # the webhook event name subscribers receive
    payload: type[Payload]


def _order_event_topic(event: EventType) -> str:
    head, _, rest = event.value.partition("_")
    category = {"ORDER": "order", "SHIPMENT": "shipment", "PAYMENT": "payment",
                "RETURN": "return"}.get(head)
    if category is None:  # STOCK_RESERVED, CARRIER_CHOSEN: facts of the order
        return f"order.{event.value.lower()}"
    return f"{category}.{rest.lower()}"


_OWN_ROWS: dict[EventType, EventSpec] = {
    EventType.STOCK_CHANGED: EventSpec("inventory.changed", StockChangedPayload),
    EventType.LOW_STOCK: EventSpec("inventory.low_stock", LowStockPayload),
    EventType.TRACKING_EVENT: EventSpec("shipment.tracking", TrackingEventPayload),
    EventType.WEBHOOK_DISABLED: EventSpec("webhook.disabled", WebhookDisabledPayload),
    # catalog.product_updated, catalog.variant_created, catalog.channel_updated, ...
    **{event: EventSpec(f"catalog.{event.value.lower()}", CatalogChangedPayload)
       for event in CATALOG_EVENTS},
}

CATALOGUE: dict[EventType, EventSpec] = {
    event: _OWN_ROWS.get(event) or EventSpec(_order_event_topic(event), OrderEventPayload)
    for event in EventType
}

# Outbox payload kinds of the rows that are not order events, and their event type.
KINDS: dict[str, EventType] = {
    "stock_changed": EventType.STOCK_CHANGED,
    "low_stock": EventType.LOW_STOCK,
    "tracking_event": EventType.TRACKING_EVENT,
    "webhook_disabled": EventType.WEBHOOK_DISABLED,
}


def fulfillment_event(status: FulfillmentStatus) -> EventType:
    return EventType(f"ORDER_{status.value}")


def shipment_event(status: ShipmentStatus) -> EventType:
    return EventType(f"SHIPMENT_{status.value}")


def return_event(status: ReturnStatus) -> EventType:
    return EventType(f"RETURN_{status.value}")


def payment_status_event(status: PaymentStatus) -> EventType:
    return EventType(f"PAYMENT_STATUS_{status.value}")


def event_type_of(payload: dict[str, Any]) -> EventType | None:
    """The catalogue entry of an outbox payload (None for a type no longer catalogued)."""
    kind = payload.get("kind")
    if kind in KINDS:
        return KINDS[kind]
    try:
        return EventType(str(payload.get("type", "")))
    except ValueError:
        return None


def topic_of(payload: dict[str, Any]) -> str:
    """The webhook event name of an outbox payload."""
    event = event_type_of(payload)
    if event is not None:
        return CATALOGUE[event].topic
    return f"order.{str(payload.get('type', 'event')).lower()}"
