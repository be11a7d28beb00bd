"""Tags and metadata of orders, customers and products: tagsAdd, tagsRemove,
metadataUpdate, metadataDelete, privateMetadataUpdate, privateMetadataDelete.

Each takes the global ID of an Order, a Customer or a Product. The caller needs the write
permission of that kind (orders:write, customers:write, catalog:write): without it the
answer is FORBIDDEN; an object it may not see is NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from api.auth import Permission
from api.graphql.annotations.types import MetadataInput
from api.graphql.catalog.types import Product
from api.graphql.errors import UserError, graphql_error, user_errors
from api.graphql.orders.types import Customer, Order
from api.graphql.permissions import requires_any
from api.graphql.relay import Node, from_global_id
from domain.annotations import service
from domain.annotations.models import ObjectKind
from domain.annotations.service import MetadataItem, Target
from domain.errors import DomainError, NotFound, NotPermitted

KINDS = {"Order": ObjectKind.ORDER, "Customer": ObjectKind.CUSTOMER,
         "Product": ObjectKind.PRODUCT}
WRITERS = (Permission.ORDERS_WRITE, Permission.CUSTOMERS_WRITE, Permission.CATALOG_WRITE)


@strawberry.type
class TagsAddPayload:
    node: Node | None = strawberry.field(description="The object, with its tags.")
    user_errors: list[UserError]


@strawberry.type
class TagsRemovePayload:
    node: Node | None = strawberry.field(description="The object, with its tags.")
    user_errors: list[UserError]


@strawberry.type
class MetadataUpdatePayload:
    node: Node | None
    user_errors: list[UserError]


@strawberry.type
class MetadataDeletePayload:
    node: Node | None
    user_errors: list[UserError]


@strawberry.type
class PrivateMetadataUpdatePayload:
    node: Node | None
    user_errors: list[UserError]


@strawberry.type
class PrivateMetadataDeletePayload:
    node: Node | None
    user_errors: list[UserError]


P = TypeVar("P", TagsAddPayload, TagsRemovePayload, MetadataUpdatePayload,
            MetadataDeletePayload, PrivateMetadataUpdatePayload, PrivateMetadataDeletePayload)


def _target(gid: str) -> Target:
    decoded = from_global_id(gid)
    if decoded is None or decoded[0] not in KINDS:
        raise NotFound("Object", gid, field=("id",))
    return Target(KINDS[decoded[0]], decoded[1])


async def _node(info: Info, target: Target) -> Node | None:
    loaders = info.context.loaders
    if target.kind is ObjectKind.ORDER:
        order = await loaders.order_by_id.load(target.pk)
        return Order.from_model(order) if order else None
    if target.kind is ObjectKind.CUSTOMER:
        customer = await loaders.customer_by_id.load(target.pk)
        return Customer.from_model(customer) if customer else None
    product = await loaders.product_by_id.load(target.pk)
    return Product.from_model(product) if product else None


async def _change(info: Info, payload: type[P], gid: str,
                  call: Callable[[Target], Awaitable[None]]) -> P:
    try:
        target = _target(gid)
        await call(target)
    except NotPermitted as error:  # the object's kind needs a permission the caller lacks
        raise graphql_error(error.message, "FORBIDDEN") from error
    except DomainError as error:
        return payload(node=None, user_errors=user_errors(error))
    return payload(node=await _node(info, target), user_errors=[])


def _items(given: list[MetadataInput]) -> list[MetadataItem]:
    return [MetadataItem(item.key, item.value) for item in given]


@strawberry.type
class AnnotationMutations:
    @strawberry.mutation(extensions=requires_any(*WRITERS), description=(
        "Add tags to an order, a customer or a product; tags it has already are kept once. "
        "At most 50 tags of 100 characters, stored lower case."))
    async def tags_add(self, info: Info, id: strawberry.ID, tags: list[str]) -> TagsAddPayload:
        scope = info.context.scope
        return await _change(info, TagsAddPayload, id, lambda t: service.add_tags(
            scope=scope, target=t, tags=tags))

    @strawberry.mutation(extensions=requires_any(*WRITERS), description=(
        "Remove tags from an order, a customer or a product; a tag it lacks is no error."))
    async def tags_remove(self, info: Info, id: strawberry.ID, tags: list[str]
                          ) -> TagsRemovePayload:
        scope = info.context.scope
        return await _change(info, TagsRemovePayload, id, lambda t: service.remove_tags(
            scope=scope, target=t, tags=tags))

    @strawberry.mutation(extensions=requires_any(*WRITERS), description=(
        "Set keys of an object's public metadata (readable by whoever reads the object)."))
    async def metadata_update(self, info: Info, id: strawberry.ID, input: list[MetadataInput]
                              ) -> MetadataUpdatePayload:
        scope = info.context.scope
        return await _change(info, MetadataUpdatePayload, id, lambda t: service.update_metadata(
            scope=scope, target=t, items=_items(input), private=False))

    @strawberry.mutation(extensions=requires_any(*WRITERS),
                         description="Delete keys of an object's public metadata.")
    async def metadata_delete(self, info: Info, id: strawberry.ID, keys: list[str]
                              ) -> MetadataDeletePayload:
        scope = info.context.scope
        return await _change(info, MetadataDeletePayload, id, lambda t: service.delete_metadata(
            scope=scope, target=t, keys=keys, private=False))

    @strawberry.mutation(extensions=requires_any(*WRITERS), description=(
        "Set keys of an object's private metadata (read only with its kind's write "
        "permission)."))
    async def private_metadata_update(
        self, info: Info, id: strawberry.ID, input: list[MetadataInput]
    ) -> PrivateMetadataUpdatePayload:
        scope = info.context.scope
        return await _change(info, PrivateMetadataUpdatePayload, id,
                             lambda t: service.update_metadata(
                                 scope=scope, target=t, items=_items(input), private=True))

    @strawberry.mutation(extensions=requires_any(*WRITERS),
                         description="Delete keys of an object's private metadata.")
    async def private_metadata_delete(self, info: Info, id: strawberry.ID, keys: list[str]
                                      ) -> PrivateMetadataDeletePayload:
        scope = info.context.scope
        return await _change(info, PrivateMetadataDeletePayload, id,
                             lambda t: service.delete_metadata(
                                 scope=scope, target=t, keys=keys, private=True))
