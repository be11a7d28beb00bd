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


def _scoped(ctx: Context) -> bool:
    return ctx.principal is not None and ctx.principal.scoped


def scope_orders(ctx: Context, query: QuerySet[Order]) -> QuerySet[Order]:
    principal = ctx.principal
    if principal is None:
        return query
    if principal.channels is not None:
        query = query.filter(channel__code__in=list(principal.channels))
    if principal.customer_id is not None:
        query = query.filter(customer_id=principal.customer_id, via_account=True)
    if principal.order_id is not None:
        query = query.filter(id=principal.order_id)
    return query


async def visible(ctx: Context, order: Order | None) -> Order | None:
    principal = ctx.principal
    if order is None or principal is None or not principal.scoped:
        return order
    if principal.order_id is not None and order.id != principal.order_id:
        return None
    if principal.customer_id is not None and not (
            order.customer_id == principal.customer_id and order.via_account):
        return None
    if principal.channels is not None:
        channel = await ctx.loaders.channel_by_id.load(order.channel_id)
        if channel is None or channel.code not in principal.channels:
            return None
    return order


async def require_order(ctx: Context, order_id: int, *, field: str = "orderId") -> None:
    """Raise NotFound unless the caller may act on this order."""
    if not _scoped(ctx):
        return
    if await visible(ctx, await ctx.loaders.order_by_id.load(order_id)) is None:
        raise NotFound("Order", str(order_id), field=(field,))


async def require_owner(ctx: Context, kind: str, pk: int, *, field: str) -> None:
    """Raise NotFound unless the caller may see the order a shipment, payment or return is of."""
    if not _scoped(ctx):
        return
    row: Any = await OWNERS[kind].get_or_none(pk=pk)
    if row is None or await visible(ctx, await ctx.loaders.order_by_id.load(row.order_id)) is None:
        raise NotFound(kind, str(pk), field=(field,))


def require_channel(ctx: Context, code: str) -> None:
    channels = channels_of(ctx)
    if channels is not None and code not in channels:
        raise UnknownChannel(code, field=("channel",))
