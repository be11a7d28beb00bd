"""Telling a customer their order was edited, when staff asked for it (``notifyCustomer``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.messaging.ports import EmailMessage
from domain.orders.models import Order


async def order_edited_messages(payloads: Sequence[dict[str, Any]]) -> list[EmailMessage]:
    """One email per ORDER_EDITED event whose edit asked to notify the customer and whose
    order has an email: what changed and the new total (never the staff note)."""
    wanted = [p for p in payloads if (p.get("data") or {}).get("notify_customer")]
    orders = {o.id: o for o in await Order.filter(id__in=[p["order_id"] for p in wanted])}
    messages = []
    for payload in wanted:
        order = orders.get(payload["order_id"])
        if order is None or not order.email:
            continue
        changes = [f"- {line['sku']}: {line['from']} -> {line['to']}"
                   for line in payload["data"].get("lines", [])]
        text = "\n".join([f"Your order {order.number} has been changed.", *changes,
                          f"New total: {order.total:.2f} {order.currency}"])
        messages.append(EmailMessage(to=order.email,
                                     subject=f"Your order {order.number} was changed",
                                     text=text))
    return messages
