"""invoice, invoices (newest first) and node() for invoices and credit notes; who may read
one is who may read its order (domain/access)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.invoices.types import Invoice, InvoiceKind, InvoiceSettings
from api.graphql.node import register
from api.graphql.permissions import requires
from api.graphql.relay import Connection, from_global_id, id_page, window
from domain.db import connection
from domain.invoices import models
from domain.invoices import settings as invoice_settings


@strawberry.input
class InvoiceFilter:
    kind: InvoiceKind | None = None
    order_id: strawberry.ID | None = None
    number: str | None = None
    issued_after: datetime | None = None
    issued_before: datetime | None = None


@strawberry.type
class InvoiceQueries:
    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="One invoice or credit note by global ID or by its number.")
    async def invoice(self, info: Info, id: strawberry.ID | None = None,
                      number: str | None = None) -> Invoice | None:
        if id is not None:
            decoded = from_global_id(id, expect="Invoice")
            found = await info.context.loaders.invoice_by_id.load(decoded[1]) if decoded \
                else None
        elif number is not None:
            found = await info.context.scope.query(models.Invoice).get_or_none(number=number)
        else:
            found = None
        return Invoice.from_model(found) if found else None

    @strawberry.field(extensions=requires(Permission.ORDERS_READ),
                      description="Invoices and credit notes the caller may read, newest "
                                  "first.")
    async def invoices(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        filter: InvoiceFilter | None = None,
    ) -> Connection[Invoice]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.Invoice)
        if filter is not None:
            if filter.kind is not None:
                query = query.filter(kind=models.DocumentKind(filter.kind.value))
            if filter.order_id is not None:
                decoded = from_global_id(filter.order_id, expect="Order")
                # An ID that is no order's: no invoice is of it.
                query = query.filter(order_id=decoded[1]) if decoded else query.filter(
                    pk__in=[])
            if filter.number is not None:
                query = query.filter(number=filter.number)
            if filter.issued_after is not None:
                query = query.filter(issued_at__gte=filter.issued_after)
            if filter.issued_before is not None:
                query = query.filter(issued_at__lt=filter.issued_before)
        return await id_page(query, asked, newest_first=True, node=Invoice.from_model)

    @strawberry.field(extensions=requires(Permission.ADMIN),
                      description="The seller, series and issuing rule invoices follow.")
    async def invoice_settings(self) -> InvoiceSettings:
        return InvoiceSettings.from_model(
            await invoice_settings.stored_settings(connection()))


@register("Invoice", Permission.ORDERS_READ)
async def _invoice_node(info: Info, pk: int) -> Invoice | None:
    found = await info.context.loaders.invoice_by_id.load(pk)
    return Invoice.from_model(found) if found else None
