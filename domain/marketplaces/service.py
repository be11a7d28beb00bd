"""Connecting marketplace channels and importing their orders.

An imported order goes through ``create_order`` like any other, keyed by the
marketplace's order id (a repeated or overlapping delivery returns the same
order). One the stock cannot cover is kept, on hold with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain.catalog.models import Channel, ChannelKind
from domain.errors import DomainError, InvalidInput, UnknownChannel
from domain.marketplaces.models import MarketplaceConnection
from domain.marketplaces.money import PricedImport, price_import
from domain.marketplaces.ports import ImportedOrder, Notification
from domain.orders.capture import LineRequest, OrderRequest, create_order
from domain.orders.models import Order
from domain.payments.models import ProcessedWebhook
from domain.payments.service import record_marketplace_payment

log = logging.getLogger(__name__)
PROVIDERS = ("shopify", "amazon")
Claim = Callable[[BaseDBAsyncClient], Awaitable[None]]


async def connect(*, channel: str, provider: str, settings: Mapping[str, Any]
                  ) -> MarketplaceConnection:
    """Connect (or reconnect) a marketplace channel; its SKUs are pushed afresh."""
    found = await Channel.get_or_none(code=channel)
    if found is None:
        raise UnknownChannel(channel, field=("channel",))
    if found.kind is not ChannelKind.MARKETPLACE:
        raise InvalidInput(f"{channel} is a {found.kind.value} channel, not a marketplace",
                           field=("channel",))
    if provider not in PROVIDERS:
        raise InvalidInput(f"Providers are {', '.join(PROVIDERS)}", field=("provider",))
    settings = {**settings, "cursor": settings.get("cursor") or "2000-01-01T00:00:00Z"} \
        if provider == "amazon" else settings
    required = {"shopify": ("webhookSecret",),
                "amazon": ("refreshToken", "clientId", "clientSecret", "marketplaceId")}
    missing = [key for key in required[provider] if not str(settings.get(key) or "")]
    if missing:
        raise InvalidInput(f"{provider} needs {', '.join(missing)}", field=(missing[0],))
    if not 0 <= int(settings.get("buffer") or 0) <= 1_000_000:
        raise InvalidInput("The buffer is zero or more units", field=("buffer",))
    connection, _ = await MarketplaceConnection.update_or_create(
        channel_id=found.id, defaults={"provider": provider, "settings": dict(settings)})
    return connection


async def connection_for(channel: str, provider: str) -> MarketplaceConnection | None:
    return await MarketplaceConnection.get_or_none(channel__code=channel, provider=provider)


async def import_order(*, channel: str, imported: ImportedOrder, actor: str,
                       claim: Claim | None = None, provider: str | None = None) -> Order:
    """Import through ``create_order``: the same rules as any order, a shipping address
    included (an order without one, e.g. of digital goods only, is refused).

    An order that carries the marketplace's money keeps it (domain/marketplaces/money.py):
    its prices, discounts, taxes and shipping, and a total equal to the marketplace's;
    its payment, as the marketplace's financial status says, is recorded in the same
    transaction (a paid order is PAID, and invoiced when invoices are issued on payment).
    Figures that do not add up refuse the order, logged with the reason. The shop's
    promotions are not applied: the marketplace charged the buyer already."""
    money = imported.money
    lines = [LineRequest(sku, quantity) for sku, quantity in imported.lines]
    priced: PricedImport | None = None
    marketplace = provider or "marketplace"
    if money is not None:
        marketplace = provider or await _provider_of(channel)
        found = await Channel.get_or_none(code=channel)
        if found is None:
            raise UnknownChannel(channel, field=("channel",))
        try:
            priced = price_import(money, imported.lines, channel_currency=found.currency)
        except DomainError as refused:
            log.warning("%s order %s on %s refused: %s", marketplace, imported.external_id,
                        channel, refused.message)
            raise
        lines = priced.lines

    async def then(conn: BaseDBAsyncClient, order: Order) -> None:
        if money is None or priced is None:
            return
        if order.total != priced.total:  # capture stored other amounts: keep nothing
            raise InvalidInput(f"The order's total {order.total} {order.currency} is not "
                               f"the marketplace's {priced.total}", field=("total",))
        await record_marketplace_payment(conn, order, marketplace=marketplace,
                                         status=money.financial_status, paid=money.paid,
                                         actor=actor)

    return await create_order(actor=actor, claim=claim, then=then, request=OrderRequest(
        channel=channel, email=imported.email, shipping_address=imported.shipping_address,
        lines=lines, external_id=imported.external_id, po_number=imported.po_number,
        hold_if_short=True, apply_promotions=False,
        shipping_amount=priced.shipping_amount if priced else None,
        tax=priced.tax if priced else None,
        prices_include_tax=priced.prices_include_tax if priced else None))


async def _provider_of(channel: str) -> str:
    connection = await MarketplaceConnection.get_or_none(channel__code=channel)
    return connection.provider if connection is not None else "marketplace"


async def apply_notification(*, channel: str, provider: str, notification: Notification,
                             actor: str) -> str:
    """Apply a verified notification once (by its delivery id); returns what happened.

    An order's delivery is marked processed in the transaction that imports the
    order: one refused (an unknown SKU, no address) is not marked, so the
    marketplace's retry, once the merchant fixed the cause, imports it. A
    cancellation is not applied here: ``claim_cancellation`` finds its order and the
    cancel use case (``domain.application.cancel``) cancels it, as every cancellation.
    """
    if notification.kind == "order_cancelled":
        raise ValueError("a marketplace's cancellation goes through the cancel use case")
    source = f"{provider}:{channel}"
    if await ProcessedWebhook.exists(provider=source, event_id=notification.delivery_id):
        return "duplicate"
    if notification.kind == "order_created" and notification.order is not None:
        async def claim(conn: BaseDBAsyncClient) -> None:
            await ProcessedWebhook.create(provider=source, event_id=notification.delivery_id,
                                          using_db=conn)

        order = await import_order(channel=channel, imported=notification.order, actor=actor,
                                   claim=claim, provider=provider)
        return f"order {order.number} ({order.status.value})"
    try:
        await ProcessedWebhook.create(provider=source, event_id=notification.delivery_id)
    except IntegrityError:
        return "duplicate"
    return "ignored"


async def claim_cancellation(*, channel: str, provider: str, notification: Notification
                             ) -> Order | str:
    """Mark a cancellation's delivery processed (once) and find the order it cancels; or
    what happened instead ("duplicate", "unknown order", "ignored")."""
    source = f"{provider}:{channel}"
    try:
        await ProcessedWebhook.create(provider=source, event_id=notification.delivery_id)
    except IntegrityError:
        return "duplicate"
    if not notification.external_id:
        return "ignored"
    found = await Order.get_or_none(channel__code=channel, external_id=notification.external_id)
    return found if found is not None else "unknown order"


async def forget_cancellation(*, channel: str, provider: str,
                              notification: Notification) -> None:
    """A claimed cancellation that failed for a reason of ours: unmark its delivery, so the
    marketplace's retry cancels the order instead of being answered "duplicate"."""
    await ProcessedWebhook.filter(provider=f"{provider}:{channel}",
                                  event_id=notification.delivery_id).delete()


async def poll_orders(*, channel: str, pages: Any, actor: str) -> int:
    """Import polled pages of orders, moving the channel's stored cursor after each page.

    ``pages`` yields (orders, cursor after them). The cursor is kept in the
    connection, so a restarted poller resumes where the last page ended.
    """
    imported = 0
    async for orders, cursor in pages:
        for order in orders:
            await import_order(channel=channel, imported=order, actor=actor)
            imported += 1
        connection = await MarketplaceConnection.get(channel__code=channel)
        connection.settings = {**connection.settings, "cursor": cursor}
        await connection.save(update_fields=["settings"])
    return imported
