"""DataLoaders, built per request: one query per relation per page, whatever the page size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from domain.catalog.models import Channel, ChannelLocation, Location, Product, Variant
from domain.customers.models import Customer
from domain.events.models import OrderEvent
from domain.fulfillment.models import Shipment, ShipmentLine, TrackingEvent
from domain.inventory.models import StockLevel
from domain.orders.models import Allocation, Order, OrderLine
from domain.payments.models import Payment
from domain.reports.customers import Insight, insights
from domain.returns.models import Return, ReturnLine

M = TypeVar("M", bound=Model)


def by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        found = {row.pk: row for row in await model.filter(pk__in=list(ids))}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def grouped(model: type[M], key: str, *order: str) -> DataLoader[int, list[M]]:
    """Rows of ``model`` grouped by the foreign key column ``key`` (e.g. ``order_id``)."""

    async def load(ids: Sequence[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = {i: [] for i in ids}
        for row in await model.filter(**{f"{key}__in": list(ids)}).order_by(*order or ("pk",)):
            groups[getattr(row, key)].append(row)
        return [groups[i] for i in ids]

    return DataLoader(load_fn=load)


def by_field(model: type[M], field: str) -> DataLoader[Any, M | None]:
    async def load(values: Sequence[Any]) -> list[M | None]:
        found = {getattr(r, field): r for r in await model.filter(**{f"{field}__in": list(values)})}
        return [found.get(v) for v in values]

    return DataLoader(load_fn=load)


class Loaders:
    """The request's loaders, named ``<model>_by_<key>``."""

    def __init__(self) -> None:
        self.channel_by_id = by_id(Channel)
        self.location_by_id = by_id(Location)
        self.product_by_id = by_id(Product)
        self.variant_by_id = by_id(Variant)
        self.variant_by_sku = by_field(Variant, "sku")
        self.customer_by_id = by_id(Customer)
        self.order_by_id = by_id(Order)
        self.variants_by_product = grouped(Variant, "product_id", "id")
        self.stock_by_variant = grouped(StockLevel, "variant_id", "location_id")
        self.channel_locations_by_channel = grouped(ChannelLocation, "channel_id", "location_id")
        self.lines_by_order = grouped(OrderLine, "order_id", "position", "id")
        self.allocations_by_line = grouped(Allocation, "order_line_id", "id")
        self.events_by_order = grouped(OrderEvent, "order_id", "sequence")
        self.order_line_by_id = by_id(OrderLine)
        self.shipment_by_id = by_id(Shipment)
        self.shipments_by_order = grouped(Shipment, "order_id", "id")
        self.shipment_lines_by_shipment = grouped(ShipmentLine, "shipment_id", "id")
        self.tracking_by_shipment = grouped(TrackingEvent, "shipment_id", "sequence")
        self.payment_by_id = by_id(Payment)
        self.payments_by_order = grouped(Payment, "order_id", "id")
        self.return_by_id = by_id(Return)
        self.returns_by_order = grouped(Return, "order_id", "id")
        self.return_lines_by_return = grouped(ReturnLine, "rma_id", "id")
        self.insight_by_customer = DataLoader(load_fn=_insights)


async def _insights(ids: Sequence[int]) -> list[Insight]:
    found = await insights(ids)
    return [found[i] for i in ids]
