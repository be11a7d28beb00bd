"""DataLoaders, built per request: one query per relation per page, whatever the page size."""

from __future__ import annotations

from collections.abc import Sequence
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
        self.channel_by_id = by_id(scope, Channel)
        self.location_by_id = by_id(scope, Location)
        self.product_by_id = by_id(scope, Product)
        self.variant_by_id = by_id(scope, Variant)
        self.variant_by_sku = by_field(scope, Variant, "sku")
        self.customer_by_id = by_id(scope, Customer)
        self.order_by_id = by_id(scope, Order)
        self.variants_by_product = grouped(scope, Variant, "product_id", "id")
        self.stock_by_variant = grouped(scope, StockLevel, "variant_id", "location_id")
        self.channel_locations_by_channel = grouped(scope, ChannelLocation, "channel_id", "position",
                                                    "location_id")
        self.lines_by_order = grouped(scope, OrderLine, "order_id", "position", "id")
        self.allocations_by_line = grouped(scope, Allocation, "order_line_id", "id")
        self.events_by_order = grouped(scope, OrderEvent, "order_id", "sequence")
        self.order_line_by_id = by_id(scope, OrderLine)
        self.shipment_by_id = by_id(scope, Shipment)
        self.shipments_by_order = grouped(scope, Shipment, "order_id", "id")
        self.shipment_lines_by_shipment = grouped(scope, ShipmentLine, "shipment_id", "id")
        self.tracking_by_shipment = grouped(scope, TrackingEvent, "shipment_id", "sequence")
        self.payment_by_id = by_id(scope, Payment)
        self.payments_by_order = grouped(scope, Payment, "order_id", "id")
        self.return_by_id = by_id(scope, Return)
        self.returns_by_order = grouped(scope, Return, "order_id", "id")
        self.return_lines_by_return = grouped(scope, ReturnLine, "rma_id", "id")
        self.invoice_by_id = by_id(scope, Invoice)
        self.company_by_id = by_id(scope, Company)
        self.invoices_by_order = grouped(scope, Invoice, "order_id", "id")
        self.discounts_by_order = grouped(scope, OrderDiscount, "order_id", "id")
        self.credit_notes_by_invoice = grouped(scope, Invoice, "invoice_id", "id")
        self.insight_by_customer = DataLoader(load_fn=self._insights)
        self.notes_by_customer = grouped(scope, CustomerNote, "customer_id", "id")
        self.tags_by_object = tags_by_object(scope)
        self.metadata_by_object = metadata_by_object(scope)

    async def _insights(self, ids: Sequence[int]) -> list[Insight]:
        """What the orders of the customers the caller may see tell; nothing of the others."""
        seen = set(await self.scope.query(Customer).filter(id__in=list(ids)).values_list(
            "id", flat=True))
        found = await insights([i for i in ids if i in seen])
        return [found.get(i) or Insight(customer_id=i) for i in ids]
