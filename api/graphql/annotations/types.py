"""Tags and metadata as the Order, Customer and Product types show them."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.annotations.models import ObjectKind


@strawberry.type(description="One key of an object's metadata.")
class MetadataItem:
    key: str
    value: str


@strawberry.input
class MetadataInput:
    key: str = strawberry.field(description="At most 256 characters; trimmed.")
    value: str = strawberry.field(description="At most 2000 characters.")


async def tags_of(info: Info, kind: ObjectKind, pk: int) -> list[str]:
    return await info.context.loaders.tags_by_object.load((kind, pk))


async def metadata_of(info: Info, kind: ObjectKind, pk: int, *, private: bool
                      ) -> list[MetadataItem]:
    rows = await info.context.loaders.metadata_by_object.load((kind, pk, private))
    return [MetadataItem(key=key, value=value) for key, value in rows]


TAGS = "Normalised tags (trimmed, inner spaces collapsed, lower case), in alphabetical order."
METADATA = "Public metadata: readable by whoever may read the object."
