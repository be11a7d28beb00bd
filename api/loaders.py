"""DataLoaders, built per request: one query per relation per page, whatever the page size."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from domain.access import Scope
from domain.annotations.models import MetadataEntry, ObjectKind, Tag
from domain.catalog.models import Channel, ChannelLocation, Location, Product, Variant
from domain.companies.models import Company
from domain.customers.models import Customer, CustomerNote
from domain.discounts.models import OrderDiscount
from domain.events.models import OrderEvent
from domain.fulfillment.models import Shipment, ShipmentLine, TrackingEvent
from domain.inventory.models import StockLevel
from domain.invoices.models import Invoice
from domain.orders.models import Allocation, Order, OrderLine
from domain.payments.models import Payment
from domain.reports.customers import Insight, insights
from domain.returns.models import Return, ReturnLine

M = TypeVar("M", bound=Model)


def by_id(scope: Scope, model: type[M]) -> DataLoader[int, M | None]:
    """Rows by primary key; a row the caller may not see is None, like one that is gone."""

    async def load(ids: Sequence[int]) -> list[M | None]:
        found = {row.pk: row for row in await scope.query(model).filter(pk__in=list(ids))}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def grouped(scope: Scope, model: type[M], key: str, *order: str) -> DataLoader[int, list[M]]:
    """Rows of ``model`` grouped by the foreign key column ``key`` (e.g. ``order_id``)."""

    async def load(ids: Sequence[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = {i: [] for i in ids}
        for row in await scope.query(model).filter(**{f"{key}__in": list(ids)}).order_by(*order or ("pk",)):
            groups[getattr(row, key)].append(row)
        return [groups[i] for i in ids]

    return DataLoader(load_fn=load)


def by_field(scope: Scope, model: type[M], field: str) -> DataLoader[Any, M | None]:
    async def load(values: Sequence[Any]) -> list[M | None]:
        rows = await scope.query(model).filter(**{f"{field}__in": list(values)})
        found = {getattr(r, field): r for r in rows}
        return [found.get(v) for v in values]

    return DataLoader(load_fn=load)


def _of_objects(keys: Sequence[tuple[Any, ...]]) -> Q:
    """Rows of the (kind, object id) pairs the keys start with."""
    by_kind: dict[ObjectKind, set[int]] = {}
    for key in keys:
        by_kind.setdefault(key[0], set()).add(key[1])
    return Q(*[Q(kind=kind, object_id__in=sorted(ids)) for kind, ids in by_kind.items()],
             join_type="OR")


def tags_by_object(scope: Scope) -> DataLoader[tuple[ObjectKind, int], list[str]]:
    async def load(keys: Sequence[tuple[ObjectKind, int]]) -> list[list[str]]:
        groups: dict[tuple[ObjectKind, int], list[str]] = {k: [] for k in keys}
        for row in await scope.query(Tag).filter(_of_objects(keys)).order_by("tag"):
            groups[(ObjectKind(row.kind), row.object_id)].append(row.tag)
        return [groups[k] for k in keys]

    return DataLoader(load_fn=load)


MetadataKey = tuple[ObjectKind, int, bool]


def metadata_by_object(scope: Scope) -> DataLoader[MetadataKey, list[tuple[str, str]]]:
    """(key, value) pairs by (kind, object id, private); private rows are only read for
    callers the access rule lets read them."""
    async def load(keys: Sequence[MetadataKey]) -> list[list[tuple[str, str]]]:
        groups: dict[MetadataKey, list[tuple[str, str]]] = {k: [] for k in keys}
        rows = await scope.query(MetadataEntry).filter(_of_objects(keys)).order_by("key")
        for row in rows:
            group = groups.get((ObjectKind(row.kind), row.object_id, row.private))
            if group is not None:
                group.append((row.key, row.value))
        return [groups[k] for k in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """The request's loaders, named ``<model>_by_<key>``, each reading through the scope."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    @cached_property
    def channel_by_id(self) -> DataLoader[int, Channel | None]:
        return by_id(self.scope, Channel)

    @cached_property
    def location_by_id(self) -> DataLoader[int, Location | None]:
        return by_id(self.scope, Location)

    @cached_property
    def product_by_id(self) -> DataLoader[int, Product | None]:
        return by_id(self.scope, Product)

    @cached_property
    def variant_by_id(self) -> DataLoader[int, Variant | None]:
        return by_id(self.scope, Variant)

    @cached_property
    def variant_by_sku(self) -> DataLoader[Any, Variant | None]:
        return by_field(self.scope, Variant, "sku")

    @cached_property
    def customer_by_id(self) -> DataLoader[int, Customer | None]:
        return by_id(self.scope, Customer)

    @cached_property
    def order_by_id(self) -> DataLoader[int, Order | None]:
        return by_id(self.scope, Order)

    @cached_property
    def variants_by_product(self) -> DataLoader[int, list[Variant]]:
        return grouped(self.scope, Variant, "product_id", "id")

    @cached_property
    def stock_by_variant(self) -> DataLoader[int, list[StockLevel]]:
        return grouped(self.scope, StockLevel, "variant_id", "location_id")

    @cached_property
    def channel_locations_by_channel(self) -> DataLoader[int, list[ChannelLocation]]:
        return grouped(self.scope, ChannelLocation, "channel_id", "position", "location_id")

    @cached_property
    def lines_by_order(self) -> DataLoader[int, list[OrderLine]]:
        return grouped(self.scope, OrderLine, "order_id", "position", "id")

    @cached_property
    def allocations_by_line(self) -> DataLoader[int, list[Allocation]]:
        return grouped(self.scope, Allocation, "order_line_id", "id")

    @cached_property
    def events_by_order(self) -> DataLoader[int, list[OrderEvent]]:
        return grouped(self.scope, OrderEvent, "order_id", "sequence")

    @cached_property
    def order_line_by_id(self) -> DataLoader[int, OrderLine | None]:
        return by_id(self.scope, OrderLine)

    @cached_property
    def shipment_by_id(self) -> DataLoader[int, Shipment | None]:
        return by_id(self.scope, Shipment)

    @cached_property
    def shipments_by_order(self) -> DataLoader[int, list[Shipment]]:
        return grouped(self.scope, Shipment, "order_id", "id")

    @cached_property
    def shipment_lines_by_shipment(self) -> DataLoader[int, list[ShipmentLine]]:
        return grouped(self.scope, ShipmentLine, "shipment_id", "id")

    @cached_property
    def tracking_by_shipment(self) -> DataLoader[int, list[TrackingEvent]]:
        return grouped(self.scope, TrackingEvent, "shipment_id", "sequence")

    @cached_property
    def payment_by_id(self) -> DataLoader[int, Payment | None]:
        return by_id(self.scope, Payment)

    @cached_property
    def payments_by_order(self) -> DataLoader[int, list[Payment]]:
        return grouped(self.scope, Payment, "order_id", "id")

    @cached_property
    def return_by_id(self) -> DataLoader[int, Return | None]:
        return by_id(self.scope, Return)

    @cached_property
    def returns_by_order(self) -> DataLoader[int, list[Return]]:
        return grouped(self.scope, Return, "order_id", "id")

    @cached_property
    def return_lines_by_return(self) -> DataLoader[int, list[ReturnLine]]:
        return grouped(self.scope, ReturnLine, "rma_id", "id")

    @cached_property
    def invoice_by_id(self) -> DataLoader[int, Invoice | None]:
        return by_id(self.scope, Invoice)

    @cached_property
    def company_by_id(self) -> DataLoader[int, Company | None]:
        return by_id(self.scope, Company)

    @cached_property
    def invoices_by_order(self) -> DataLoader[int, list[Invoice]]:
        return grouped(self.scope, Invoice, "order_id", "id")

    @cached_property
    def discounts_by_order(self) -> DataLoader[int, list[OrderDiscount]]:
        return grouped(self.scope, OrderDiscount, "order_id", "id")

    @cached_property
    def credit_notes_by_invoice(self) -> DataLoader[int, list[Invoice]]:
        return grouped(self.scope, Invoice, "invoice_id", "id")

    @cached_property
    def insight_by_customer(self) -> DataLoader[int, Insight]:
        return DataLoader(load_fn=self._insights)

    @cached_property
    def notes_by_customer(self) -> DataLoader[int, list[CustomerNote]]:
        return grouped(self.scope, CustomerNote, "customer_id", "id")

    @cached_property
    def tags_by_object(self) -> DataLoader[tuple[ObjectKind, int], list[str]]:
        return tags_by_object(self.scope)

    @cached_property
    def metadata_by_object(self) -> DataLoader[MetadataKey, list[tuple[str, str]]]:
        return metadata_by_object(self.scope)

    async def _insights(self, ids: Sequence[int]) -> list[Insight]:
        """What the orders of the customers the caller may see tell; nothing of the others."""
        seen = set(await self.scope.query(Customer).filter(id__in=list(ids)).values_list(
            "id", flat=True))
        found = await insights([i for i in ids if i in seen])
        return [found.get(i) or Insight(customer_id=i) for i in ids]
