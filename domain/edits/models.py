"""Order edit tables: a session over one order and the changes it stages.

``base_version`` is the order's event sequence when the session began: every change of an
order writes an event, so a commit that finds another sequence knows the order changed
(a shipment, another edit, a payment) and applies nothing.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class EditStatus(StrEnum):
    OPEN = "OPEN"
    COMMITTED = "COMMITTED"


class OrderEdit(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="edits", on_delete=fields.CASCADE)
    status = fields.CharEnumField(EditStatus, max_length=16, default=EditStatus.OPEN)
    base_version = fields.IntField()
    shipping_method = fields.CharField(max_length=64, null=True)
    shipping_changed = fields.BooleanField(default=False)
    staff_note = fields.CharField(max_length=500, null=True)
    notify_customer = fields.BooleanField(default=False)
    # At commit: the new total less what the order's payments cover (negative: to refund).
    balance = fields.DecimalField(max_digits=18, decimal_places=4, null=True)
    # The payment asked for, or the refund's payment operation, settling the balance.
    payment_id = fields.IntField(null=True)
    refund_operation_id = fields.IntField(null=True)
    created_by = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    committed_at = fields.DatetimeField(null=True)

    order_id: int

    class Meta:
        table = "order_edit"


class OrderEditLine(Model):
    """A staged line: a new quantity for an order line (0 removes it), or an added line."""

    id = fields.IntField(primary_key=True)
    edit: fields.ForeignKeyRelation[OrderEdit] = fields.ForeignKeyField(
        "oms.OrderEdit", related_name="lines", on_delete=fields.CASCADE)
    order_line_id = fields.IntField(null=True)  # None: a line the edit adds
    sku = fields.CharField(max_length=64)
    quantity = fields.IntField()
    unit_price = fields.DecimalField(max_digits=18, decimal_places=4)  # added: the catalogue's
    price_list_id = fields.IntField(null=True)  # where an added line's price came from
    price_list_code = fields.CharField(max_length=64, null=True)
    position = fields.IntField(default=0)

    edit_id: int

    class Meta:
        table = "order_edit_line"
