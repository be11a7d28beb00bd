"""Catalogue queries: channels, locations, products, variant."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.graphql.catalog.types import Channel, Location, Product, Variant
from api.graphql.errors import invalid_filter
from api.graphql.node import register
from api.graphql.permissions import public
from api.graphql.relay import Connection, id_page, window
from domain.annotations.models import ObjectKind
from domain.annotations.service import objects_tagged
from domain.catalog import models
from domain.errors import DomainError


@strawberry.type
class CatalogQueries:
    @strawberry.field(extensions=public())
    async def channels(self, info: Info) -> list[Channel]:
        rows = await info.context.scope.query(models.Channel).order_by("code")
        return [Channel.from_model(c) for c in rows]

    @strawberry.field(extensions=public())
    async def locations(self, info: Info) -> list[Location]:
        rows = await info.context.scope.query(models.Location).order_by("priority", "code")
        return [Location.from_model(loc) for loc in rows]

    @strawberry.field(extensions=public(), description="Products, oldest first.")
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
        archived: Annotated[bool | None, strawberry.argument(
            description="false (the default): products that can be ordered; true: archived "
                        "ones; null: both.")] = False,
        tag: Annotated[str | None, strawberry.argument(
            description="Only the products with this tag.")] = None,
    ) -> Connection[Product]:
        asked = window(int, first=first, after=after, last=last, before=before)
        query = info.context.scope.query(models.Product)
        if archived is not None:
            query = query.filter(archived_at__isnull=not archived)
        if tag is not None:
            try:
                query = query.filter(id__in=objects_tagged(ObjectKind.PRODUCT, tag))
            except DomainError as error:
                raise invalid_filter(error) from error
        return await id_page(query, asked, newest_first=False, node=Product.from_model)

    @strawberry.field(extensions=public())
    async def variant(self, info: Info, sku: str) -> Variant | None:
        found = await info.context.loaders.variant_by_sku.load(sku)
        return Variant.from_model(found) if found else None


async def _load_model(info: Info, loader_name: str, pk: int, wrap: Any) -> Any:
    row = await getattr(info.context.loaders, loader_name).load(pk)
    return wrap(row) if row is not None else None


@register("Channel", None)
async def _channel_node(info: Info, pk: int) -> Channel | None:
    return await _load_model(info, "channel_by_id", pk, Channel.from_model)


@register("Location", None)
async def _location_node(info: Info, pk: int) -> Location | None:
    return await _load_model(info, "location_by_id", pk, Location.from_model)


@register("Product", None)
async def _product_node(info: Info, pk: int) -> Product | None:
    return await _load_model(info, "product_by_id", pk, Product.from_model)


@register("Variant", None)
async def _variant_node(info: Info, pk: int) -> Variant | None:
    return await _load_model(info, "variant_by_id", pk, Variant.from_model)
