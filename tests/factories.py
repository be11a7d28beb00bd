"""Small async factories that build data through the domain services."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from domain.catalog import service as catalog
from domain.catalog.models import BackorderPolicy, Channel, ChannelKind, Location, LocationKind
from domain.inventory import service as inventory

ACTOR = "test"
POSTCODES = {"DE": "10115", "FR": "75001", "US": "10001", "GB": "SW1A 1AA", "CN": "518000"}


def address(country: str = "DE", **parts: object) -> dict[str, object]:
    """A deliverable address in the country (with its postcode format)."""
    return {"name": "Ann Example", "line1": "1 Main St", "city": "City", "country": country,
            "postalCode": POSTCODES.get(country), **parts}


async def location(
    code: str = "wh1", *, priority: int = 0, kind: LocationKind = LocationKind.WAREHOUSE,
    pickup: bool = False, country: str = "DE", latitude: float | None = None,
    longitude: float | None = None,
) -> Location:
    return await catalog.create_location(catalog.LocationSpec(
        code=code, name=code.upper(), kind=kind, priority=priority, pickup_enabled=pickup,
        address={"name": code, "line1": "1 Main St", "city": "City", "country": country,
                 "postalCode": POSTCODES.get(country)},
        latitude=latitude, longitude=longitude,
    ))


async def channel(
    code: str = "web", *, currency: str = "EUR", locations: Sequence[str] = (),
    kind: ChannelKind = ChannelKind.WEB,
) -> Channel:
    return await catalog.create_channel(code=code, name=code.title(), kind=kind,
                                        currency=currency, locations=locations)


async def product(
    *skus: str, price: str = "10.00", currency: str = "EUR", track_inventory: bool = True,
    backorder: BackorderPolicy = BackorderPolicy.DENY,
) -> None:
    await catalog.create_product(name=f"Product {skus[0]}", description=None, variants=[
        catalog.VariantSpec(sku=sku, price=Decimal(price), currency=currency,
                            track_inventory=track_inventory, backorder_policy=backorder)
        for sku in skus
    ])


async def stock(sku: str, levels: Mapping[str, int]) -> None:
    for code, units in levels.items():
        await inventory.set_stock(target=inventory.StockTarget(sku, code), on_hand=units,
                                  actor=ACTOR)


async def shop(
    stock_by_sku: Mapping[str, Mapping[str, int]], *, channel_code: str = "web",
    currency: str = "EUR", priorities: Mapping[str, int] | None = None,
) -> None:
    """A channel served by every location named in the stock table, with that stock."""
    codes = list(dict.fromkeys(code for levels in stock_by_sku.values() for code in levels))
    for i, code in enumerate(codes):
        await location(code, priority=(priorities or {}).get(code, i))
    await channel(channel_code, currency=currency, locations=codes)
    for sku, levels in stock_by_sku.items():
        await product(sku, currency=currency)
        await stock(sku, levels)


async def place(
    lines: Mapping[str, int] | Sequence[tuple[str, int]], *, channel: str = "web",
    email: str = "ann@example.com", carriers: object = None, **extra: object,
) -> object:
    """Place an order through the domain service (for tests that are not about placing)."""
    from domain.orders.capture import LineRequest, OrderRequest, create_order
    from integrations.carriers.builtin import BuiltinCarrier

    pairs = list(lines.items()) if isinstance(lines, Mapping) else list(lines)
    if "pickup_location" not in extra:
        extra.setdefault("shipping_address", address())
    rates = {"standard": {"EUR": Decimal("4.90")}, "express": {"EUR": Decimal("9.90")}}
    return await create_order(
        request=OrderRequest(channel=channel, lines=[LineRequest(s, q) for s, q in pairs],
                             email=email, **extra),  # type: ignore[arg-type]
        actor=ACTOR, carriers=carriers or {"builtin": BuiltinCarrier(rates=rates)},
    )


def gateways() -> dict[str, object]:
    """The offline gateway, for tests that pay and refund without a payment provider."""
    from integrations.payments.manual import ManualGateway

    return {"manual": ManualGateway()}


def deps(carriers: object = None, gateways_: object = None) -> object:
    """The use cases' dependencies: the offline gateway and the built-in carrier."""
    from domain.application import Deps
    from integrations.carriers.builtin import BuiltinCarrier

    return Deps(gateways=gateways_ or gateways(),  # type: ignore[arg-type]
                carriers=carriers or {"builtin": BuiltinCarrier(rates={})})  # type: ignore[arg-type]


async def pay(order: object) -> object:
    """Record the order's total as received (an invoice paid); the payment."""
    from domain.payments import service as payments
    from domain.payments.models import Payment

    found = await Payment.filter(order_id=order.id, captured_amount__gt=0).first()  # type: ignore[attr-defined]
    if found is not None:
        return found
    from domain.orders.models import Order, OrderStatus
    from domain.payments.models import PaymentState

    placed = await Order.get(id=order.id)  # type: ignore[attr-defined]
    if placed.status is OrderStatus.COMPLETED:  # paid before it completed, as history has it
        return await Payment.create(order_id=placed.id, provider="manual", method="invoice",
                                    currency=placed.currency, amount=placed.total,
                                    captured_amount=placed.total, state=PaymentState.CAPTURED,
                                    psp_reference=f"manual:history-{placed.id}")
    started = await payments.start_payment(order_id=order.id, provider="manual",  # type: ignore[attr-defined]
                                           method="invoice", gateways=gateways(),  # type: ignore[arg-type]
                                           actor=ACTOR)
    return await payments.capture_payment(payment_id=started.id, amount=None,
                                          gateways=gateways(), actor=ACTOR)  # type: ignore[arg-type]


async def refund(order: object, amount: str | Decimal,
                 lines: Mapping[int, str] | None = None, shipping: str | None = None) -> object:
    """Pay the order if it is not paid yet, then refund ``amount`` of it directly (charged
    to ``lines``, {order line id: amount}, and ``shipping`` when given)."""
    from domain.payments import service as payments
    from domain.payments.allocation import LineRefund, RefundTarget

    payment = await pay(order)
    target = None if lines is None and shipping is None else RefundTarget(
        lines=[LineRefund(line_id, value) for line_id, value in (lines or {}).items()],
        shipping=shipping)
    return await payments.refund_payment(payment_id=payment.id, amount=amount,  # type: ignore[attr-defined]
                                         gateways=gateways(), actor=ACTOR,  # type: ignore[arg-type]
                                         target=target)
