"""Draft order tables: a draft and its lines. A draft reserves nothing; completing it places
an order through capture, and the draft keeps the link to it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class DraftSource(StrEnum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    SALES_REP = "SALES_REP"
    B2B = "B2B"


class DraftStatus(StrEnum):
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"


class DraftOrder(Model):
    id = fields.IntField(primary_key=True)
    channel: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Channel", related_name="draft_orders", on_delete=fields.RESTRICT)
    customer: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Customer", related_name="draft_orders", null=True, on_delete=fields.SET_NULL)
    source = fields.CharEnumField(DraftSource, max_length=16, default=DraftSource.PHONE)
    status = fields.CharEnumField(DraftStatus, max_length=16, default=DraftStatus.OPEN)
    email = fields.CharField(max_length=254, null=True)
    shipping_address: Any = fields.JSONField(null=True)
    billing_address: Any = fields.JSONField(null=True)
    shipping_method = fields.CharField(max_length=64, null=True)
    pickup_location = fields.CharField(max_length=64, null=True)  # a store's code
    po_number = fields.CharField(max_length=64, null=True)
    company_id = fields.IntField(null=True)  # the company it is ordered for (B2B)
    note = fields.CharField(max_length=2000, null=True)  # for staff, never shown to the buyer
    voucher_code = fields.CharField(max_length=64, null=True)  # redeemed when completed
    order: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Order", related_name="drafts", null=True, on_delete=fields.SET_NULL)
    created_by = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    channel_id: int
    customer_id: int | None
    order_id: int | None

    class Meta:
        table = "draft_order"


class DraftOrderLine(Model):
    id = fields.IntField(primary_key=True)
    draft: fields.ForeignKeyRelation[DraftOrder] = fields.ForeignKeyField(
        "oms.DraftOrder", related_name="lines", on_delete=fields.CASCADE)
    sku = fields.CharField(max_length=64)
    quantity = fields.IntField()
    # Set by staff holding the price override permission, always with a reason; None:
    # the catalogue's price when the draft is completed.
    unit_price = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    price_reason = fields.CharField(max_length=500, null=True)
    position = fields.IntField(default=0)

    draft_id: int

    class Meta:
        table = "draft_order_line"
