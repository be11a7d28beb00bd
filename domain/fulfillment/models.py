"""Shipment tables: a parcel (or a pickup) from one location, its lines and its tracking."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ShipmentStatus(StrEnum):
    PENDING = "PENDING"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    LABEL_PURCHASED = "LABEL_PURCHASED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    PICKED_UP = "PICKED_UP"
    EXCEPTION = "EXCEPTION"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"
    CANCELLED = "CANCELLED"


class Shipment(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="shipments", on_delete=fields.CASCADE
    )
    location: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Location", related_name="shipments", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(ShipmentStatus, max_length=24, default=ShipmentStatus.PENDING)
    carrier = fields.CharField(max_length=64, null=True)
    service = fields.CharField(max_length=64, null=True)
    tracking_number = fields.CharField(max_length=64, null=True, db_index=True)
    tracking_url = fields.CharField(max_length=500, null=True)
    label_url = fields.CharField(max_length=1000, null=True)
    # The carrier's own id of the shipment, once one was opened to buy a label.
    carrier_shipment = fields.CharField(max_length=128, null=True)
    estimated_delivery = fields.DatetimeField(null=True)
    shipped_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    # When the status last changed from a tracking event; older events never move it back.
    status_at = fields.DatetimeField(null=True)
    event_seq = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    order_id: int
    location_id: int

    class Meta:
        table = "shipment"


class ShipmentLine(Model):
    id = fields.IntField(primary_key=True)
    shipment: fields.ForeignKeyRelation[Shipment] = fields.ForeignKeyField(
        "oms.Shipment", related_name="lines", on_delete=fields.CASCADE
    )
    order_line: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.OrderLine", related_name="shipment_lines", on_delete=fields.CASCADE
    )
    quantity = fields.IntField()

    shipment_id: int
    order_line_id: int

    class Meta:
        table = "shipment_line"


class TrackingEvent(Model):
    id = fields.BigIntField(primary_key=True)
    shipment: fields.ForeignKeyRelation[Shipment] = fields.ForeignKeyField(
        "oms.Shipment", related_name="tracking_events", on_delete=fields.CASCADE
    )
    sequence = fields.IntField()
    status = fields.CharEnumField(ShipmentStatus, max_length=24)
    description = fields.CharField(max_length=500, null=True)
    location = fields.CharField(max_length=200, null=True)
    occurred_at = fields.DatetimeField()
    # The carrier's id for the event (or a digest of it): the same event twice is stored once.
    external_id = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    shipment_id: int

    class Meta:
        table = "tracking_event"
        unique_together = (("shipment", "sequence"), ("shipment", "external_id"))
