"""Tables of the catalogue: where we sell (channels), from where (locations), and what."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from domain.taxes.models import TaxClass


class ChannelKind(StrEnum):
    WEB = "WEB"
    MOBILE = "MOBILE"
    MARKETPLACE = "MARKETPLACE"
    POS = "POS"
    PHONE = "PHONE"
    B2B = "B2B"


class LocationKind(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"


class BackorderPolicy(StrEnum):
    DENY = "DENY"
    CONTINUE = "CONTINUE"


class Channel(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(ChannelKind, max_length=16)
    currency = fields.CharField(max_length=3)
    # Prices on this channel are entered with tax included (EU shops), or without it (the
    # tax is added on top, as in the US).
    prices_include_tax = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "channel"


class Location(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(LocationKind, max_length=16)
    # Lower numbers are preferred when routing an order.
    priority = fields.IntField(default=0)
    pickup_enabled = fields.BooleanField(default=False)
    address: Any = fields.JSONField(null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    # An inactive location serves no channel: routing and pickup leave it out.
    active = fields.BooleanField(default=True, db_default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "location"


class ChannelLocation(Model):
    """Which locations serve which channels. Routing never leaves this set."""

    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "oms.Channel", related_name="channel_locations", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation[Location] = fields.ForeignKeyField(
        "oms.Location", related_name="location_channels", on_delete=fields.CASCADE
    )

    # The channel's order of its locations: routing prefers the earlier of two otherwise
    # equal locations (same distance or country, same priority).
    position = fields.IntField(default=0, db_default=0)

    channel_id: int
    location_id: int

    class Meta:
        table = "channel_location"
        unique_together = (("channel", "location"),)


class Product(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(null=True)
    # Archived products' variants cannot be ordered; past orders keep their lines.
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "product"


class Variant(Model):
    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "oms.Product", related_name="variants", on_delete=fields.CASCADE
    )
    sku = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    price = fields.DecimalField(max_digits=18, decimal_places=4)
    currency = fields.CharField(max_length=3)
    track_inventory = fields.BooleanField(default=True)
    backorder_policy = fields.CharEnumField(
        BackorderPolicy, max_length=16, default=BackorderPolicy.DENY
    )
    barcode = fields.CharField(max_length=64, null=True)  # GTIN, EAN or UPC, as printed
    weight_grams = fields.IntField(null=True)
    length_mm = fields.IntField(null=True)
    width_mm = fields.IntField(null=True)
    height_mm = fields.IntField(null=True)
    tax_class = fields.CharEnumField(TaxClass, max_length=16, default=TaxClass.STANDARD,
                                     db_default=TaxClass.STANDARD.value)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(null=True)

    product_id: int

    class Meta:
        table = "variant"


class PriceList(Model):
    """Prices of a channel in a currency, for everyone or for one customer group.

    Among the lists that apply to a line, one for the customer's group wins over one for
    everyone, then the higher ``priority`` (domain/catalog/prices.py). A list for a
    company (B2B) would be one more nullable reference here, ranked above the group's.
    """

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "oms.Channel", related_name="price_lists", on_delete=fields.CASCADE)
    currency = fields.CharField(max_length=3)
    customer_group: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.CustomerGroup", related_name="price_lists", null=True,
        on_delete=fields.RESTRICT)
    priority = fields.IntField(default=0)  # higher wins between lists of the same kind
    active = fields.BooleanField(default=True)
    starts_at = fields.DatetimeField(null=True)  # None: since always
    ends_at = fields.DatetimeField(null=True)  # None: until further notice; exclusive
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(null=True)

    channel_id: int
    customer_group_id: int | None

    class Meta:
        table = "price_list"


class PriceListEntry(Model):
    """A variant's unit price in a list from ``min_quantity`` units a line up."""

    id = fields.IntField(primary_key=True)
    price_list: fields.ForeignKeyRelation[PriceList] = fields.ForeignKeyField(
        "oms.PriceList", related_name="entries", on_delete=fields.CASCADE)
    variant: fields.ForeignKeyRelation[Variant] = fields.ForeignKeyField(
        "oms.Variant", related_name="price_entries", on_delete=fields.CASCADE)
    min_quantity = fields.IntField(default=1)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)

    price_list_id: int
    variant_id: int

    class Meta:
        table = "price_list_entry"
        unique_together = (("price_list", "variant", "min_quantity"),)
