"""Which events notify whom: the customer's messages and the staff's alerts, by event type.

A kind names the template (``<kind>.j2``) a message is rendered from. An edit tells the
customer only when staff asked for it (``orderEditCommit(notifyCustomer: true)``), and so
does a partial cancellation (``orderLinesCancel(notifyCustomer: true)``).
"""

from __future__ import annotations

from domain.events.catalogue import EventType

CUSTOMER = "customer"
STAFF = "staff"

CUSTOMER_KINDS: dict[EventType, str] = {
    EventType.ORDER_PLACED: "order_placed",
    EventType.ORDER_CONFIRMED: "order_confirmed",
    EventType.SHIPMENT_IN_TRANSIT: "order_shipped",  # dispatched, or taken by the carrier
    EventType.SHIPMENT_OUT_FOR_DELIVERY: "out_for_delivery",
    EventType.SHIPMENT_DELIVERED: "delivered",
    EventType.SHIPMENT_READY_FOR_PICKUP: "ready_for_pickup",
    EventType.ORDER_CANCELLED: "order_cancelled",
    EventType.RETURN_APPROVED: "return_approved",
    EventType.PAYMENT_REFUNDED: "refund_issued",
    EventType.ORDER_EDITED: "order_edited",
    EventType.ORDER_LINES_CANCELLED: "order_edited",  # "your order was changed", as it now is
}

STAFF_KINDS: dict[EventType, str] = {
    EventType.LOW_STOCK: "staff_low_stock",
    EventType.ORDER_SHIPPING_LATE: "staff_shipping_late",
    EventType.PAYMENT_FAILED: "staff_payment_failed",
    EventType.WEBHOOK_DISABLED: "staff_webhook_disabled",
    EventType.ORDER_ON_HOLD: "staff_order_held",  # a risk hold says so in its reason
}

# What notificationPreview shows: every message a customer can receive.
PREVIEWABLE = tuple(dict.fromkeys(CUSTOMER_KINDS.values()))
SHIPMENT_KINDS = frozenset({"order_shipped", "out_for_delivery", "delivered", "ready_for_pickup"})
EVENT_TYPES = frozenset(CUSTOMER_KINDS) | frozenset(STAFF_KINDS)
