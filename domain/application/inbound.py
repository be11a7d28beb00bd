"""Use cases started from outside: carriers' tracking, payment gateways' events and
marketplaces' orders. Each reaches the order as well as its own area."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.application.deps import Deps
from domain.application.orders import cancel
from domain.errors import InvalidTransition
from domain.fulfillment.models import Shipment
from domain.fulfillment.tracking import TrackingUpdate, add_tracking_events
from domain.marketplaces import service as marketplaces
from domain.marketplaces.ports import Notification
from domain.payments.events import apply_gateway_event
from domain.payments.ports import GatewayEvent


async def track(deps: Deps, *, shipment_id: int, updates: Sequence[TrackingUpdate],
                actor: str, strict: bool = True) -> Shipment:
    """Record tracking updates; the order's fulfilment and completion follow, one transaction."""
    return await add_tracking_events(shipment_id=shipment_id, updates=updates,
                                     actor=actor, strict=strict)


async def apply_payment_event(deps: Deps, *, provider: str, event: GatewayEvent) -> str:
    """A gateway's event moves the payment and the order's payment status together."""
    return await apply_gateway_event(provider=provider, event=event)


async def import_marketplace_notification(deps: Deps, *, channel: str, provider: str,
                                          notification: Notification, actor: str) -> str:
    """Import a marketplace's order, marked processed in the transaction that imports it;
    a cancellation cancels through the cancel use case (stock released, payments voided
    or refunded as for any cancellation)."""
    if notification.kind != "order_cancelled":
        return await marketplaces.apply_notification(channel=channel, provider=provider,
                                                     notification=notification, actor=actor)
    found = await marketplaces.claim_cancellation(channel=channel, provider=provider,
                                                  notification=notification)
    if isinstance(found, str):
        return found
    try:
        await cancel(deps, order_id=found.id, reason=f"cancelled on {provider}", actor=actor)
    except InvalidTransition as refused:
        return f"not cancelled: {refused.message}"
    except Exception:  # ours (the database, say): the marketplace's retry tries again
        await marketplaces.forget_cancellation(channel=channel, provider=provider,
                                               notification=notification)
        raise
    return f"order {found.number} cancelled"


async def import_polled_orders(deps: Deps, *, channel: str, pages: Any, actor: str) -> int:
    """Import polled pages of a marketplace's orders, moving the stored cursor after each."""
    return await marketplaces.poll_orders(channel=channel, pages=pages, actor=actor)
