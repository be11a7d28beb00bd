"""Tag and metadata tables: rows keyed by the kind of object and its id, so orders,
customers and products share one table each and a tag filter is one indexed lookup."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ObjectKind(StrEnum):
    ORDER = "order"
    CUSTOMER = "customer"
    PRODUCT = "product"


class Tag(Model):
    """One tag of one object. Tags are stored normalised (trimmed, inner spaces collapsed,
    case-folded), so ``VIP`` and `` vip `` are one tag."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(ObjectKind, max_length=16)
    object_id = fields.IntField()
    tag = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tag"
        unique_together = (("kind", "object_id", "tag"),)
        # The filter's lookup: the objects of a kind holding a tag.
        indexes = (("kind", "tag", "object_id"),)


class MetadataEntry(Model):
    """One key of an object's public or private metadata."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(ObjectKind, max_length=16)
    object_id = fields.IntField()
    private = fields.BooleanField()
    key = fields.CharField(max_length=256)
    value = fields.TextField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "metadata_entry"
        unique_together = (("kind", "object_id", "private", "key"),)
