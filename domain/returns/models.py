"""Return tables: a return of some of an order's shipped units, and its lines."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class ReturnStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    RECEIVED = "RECEIVED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


class Return(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="returns", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ReturnStatus, max_length=16, default=ReturnStatus.REQUESTED)
    decline_reason = fields.CharField(max_length=500, null=True)
    refund_total = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    refund_shipping = fields.BooleanField(default=False)
    # An exchange: [{"sku", "quantity"}] to send instead of refunding, and the order sending it.
    replacement: Any = fields.JSONField(null=True)
    replacement_order: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "oms.Order", related_name="replacing_returns", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    order_id: int
    replacement_order_id: int | None

    class Meta:
        table = "order_return"


class ReturnLine(Model):
    id = fields.IntField(primary_key=True)
    # The return this line belongs to ("return" is a Python keyword).
    rma: fields.ForeignKeyRelation[Return] = fields.ForeignKeyField(
        "oms.Return", related_name="lines", on_delete=fields.CASCADE
    )
    order_line: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.OrderLine", related_name="return_lines", on_delete=fields.CASCADE
    )
    quantity = fields.IntField()
    reason = fields.CharField(max_length=500, null=True)
    quantity_received = fields.IntField(default=0)
    quantity_restocked = fields.IntField(default=0)

    rma_id: int
    order_line_id: int

    class Meta:
        table = "return_line"
