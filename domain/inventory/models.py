"""Stock rows and their ledger. ``on_hand`` and ``reserved`` always equal the sums of the ledger."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from domain.acting import acting_staff_id


class MovementKind(StrEnum):
    RECEIPT = "RECEIPT"
    ADJUSTMENT = "ADJUSTMENT"
    COUNT = "COUNT"
    RESERVATION = "RESERVATION"
    RELEASE = "RELEASE"
    SHIPMENT = "SHIPMENT"
    RESTOCK = "RESTOCK"
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"


class StockLevel(Model):
    id = fields.IntField(primary_key=True)
    variant: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Variant", related_name="stock_levels", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Location", related_name="stock_levels", on_delete=fields.CASCADE
    )
    on_hand = fields.IntField(default=0)
    reserved = fields.IntField(default=0)
    safety_stock = fields.IntField(default=0)
    low_stock_threshold = fields.IntField(null=True)
    # Set when the low-stock alert went out; cleared (re-armed) once back above the threshold.
    low_stock_alerted = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    variant_id: int
    location_id: int

    class Meta:
        table = "stock_level"
        unique_together = (("variant", "location"),)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety_stock


class StockMovement(Model):
    """One ledger row per stock change, written in the transaction that made the change."""

    id = fields.BigIntField(primary_key=True)
    stock_level: fields.ForeignKeyRelation[StockLevel] = fields.ForeignKeyField(
        "oms.StockLevel", related_name="movements", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(MovementKind, max_length=16)
    on_hand_delta = fields.IntField(default=0)
    reserved_delta = fields.IntField(default=0)
    reason = fields.CharField(max_length=500, null=True)
    reference = fields.CharField(max_length=100, null=True)
    actor = fields.CharField(max_length=200, null=True)
    # The staff member who did it, from the request (domain/acting.py); None for
    # the admin token, partners, customers and the system.
    actor_staff_id = fields.IntField(null=True, default=acting_staff_id)
    created_at = fields.DatetimeField(auto_now_add=True)

    stock_level_id: int

    class Meta:
        table = "stock_movement"
