"""What a caller limited to some channels may see: orders of those channels, and what hangs
off them. Anything else is simply not found, never someone else's data."""

from __future__ import annotations

from typing import Any

from tortoise.models import Model
from tortoise.queryset import QuerySet

from api.context import Context
from domain.errors import NotFound, UnknownChannel
from domain.fulfillment.models import Shipment
from domain.orders.models import Order
from domain.payments.models import Payment
from domain.returns.models import Return

OWNERS: dict[str, type[Model]] = {"Shipment": Shipment, "Payment": Payment, "Return": Return}


def channels_of(ctx: Context) -> frozenset[str] | None:
    return ctx.principal.channels if ctx.principal is not None else None


def scope_orders(ctx: Context, query: QuerySet[Order]) -> QuerySet[Order]:
    channels = channels_of(ctx)
    return query if channels is None else query.filter(channel__code__in=list(channels))


async def visible(ctx: Context, order: Order | None) -> Order | None:
    channels = channels_of(ctx)
    if order is None or channels is None:
        return order
    channel = await ctx.loaders.channel_by_id.load(order.channel_id)
    return order if channel is not None and channel.code in channels else None


async def require_order(ctx: Context, order_id: int, *, field: str = "orderId") -> None:
    """Raise NotFound unless the caller may act on this order."""
    if channels_of(ctx) is None:
        return
    if await visible(ctx, await ctx.loaders.order_by_id.load(order_id)) is None:
        raise NotFound("Order", str(order_id), field=(field,))


async def require_owner(ctx: Context, kind: str, pk: int, *, field: str) -> None:
    """Raise NotFound unless the caller may see the order a shipment, payment or return is of."""
    if channels_of(ctx) is None:
        return
    row: Any = await OWNERS[kind].get_or_none(pk=pk)
    if row is None or await visible(ctx, await ctx.loaders.order_by_id.load(row.order_id)) is None:
        raise NotFound(kind, str(pk), field=(field,))


def require_channel(ctx: Context, code: str) -> None:
    channels = channels_of(ctx)
    if channels is not None and code not in channels:
        raise UnknownChannel(code, field=("channel",))
