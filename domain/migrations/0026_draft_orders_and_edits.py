"""Draft orders (taken by staff, reserving nothing until completed) and order edit sessions
(staged changes of a placed order, committed at once)."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from domain.drafts.models import DraftSource, DraftStatus
from domain.edits.models import EditStatus


def _json(**kwargs: object) -> fields.JSONField:
    return fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")),
                            decoder=loads, **kwargs)  # type: ignore[arg-type]


def _pk() -> fields.IntField:
    return fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)


INDEXES = [("draft_order", "status"), ("draft_order_line", "draft_id"),
           ("order_edit", "order_id"), ("order_edit_line", "edit_id")]


class Migration(migrations.Migration):
    dependencies = [("oms", "0025_risk_screening_and_hold_kinds")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DraftOrder",
            fields=[
                ("id", _pk()),
                ("channel", fields.ForeignKeyField(
                    "oms.Channel", source_field="channel_id", db_constraint=True, to_field="id",
                    related_name="draft_orders", on_delete=OnDelete.RESTRICT)),
                ("customer", fields.ForeignKeyField(
                    "oms.Customer", source_field="customer_id", db_constraint=True,
                    to_field="id", related_name="draft_orders", null=True,
                    on_delete=OnDelete.SET_NULL)),
                ("source", fields.CharEnumField(DraftSource, default=DraftSource.PHONE,
                                                max_length=16)),
                ("status", fields.CharEnumField(DraftStatus, default=DraftStatus.OPEN,
                                                max_length=16)),
                ("email", fields.CharField(null=True, max_length=254)),
                ("shipping_address", _json(null=True)),
                ("billing_address", _json(null=True)),
                ("shipping_method", fields.CharField(null=True, max_length=64)),
                ("pickup_location", fields.CharField(null=True, max_length=64)),
                ("po_number", fields.CharField(null=True, max_length=64)),
                ("note", fields.CharField(null=True, max_length=2000)),
                ("order", fields.ForeignKeyField(
                    "oms.Order", source_field="order_id", db_constraint=True, to_field="id",
                    related_name="drafts", null=True, on_delete=OnDelete.SET_NULL)),
                ("created_by", fields.CharField(null=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "draft_order", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DraftOrderLine",
            fields=[
                ("id", _pk()),
                ("draft", fields.ForeignKeyField(
                    "oms.DraftOrder", source_field="draft_id", db_constraint=True,
                    to_field="id", related_name="lines", on_delete=OnDelete.CASCADE)),
                ("sku", fields.CharField(max_length=64)),
                ("quantity", fields.IntField()),
                ("unit_price", fields.DecimalField(null=True, max_digits=18, decimal_places=4)),
                ("price_reason", fields.CharField(null=True, max_length=500)),
                ("position", fields.IntField(default=0)),
            ],
            options={"table": "draft_order_line", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OrderEdit",
            fields=[
                ("id", _pk()),
                ("order", fields.ForeignKeyField(
                    "oms.Order", source_field="order_id", db_constraint=True, to_field="id",
                    related_name="edits", on_delete=OnDelete.CASCADE)),
                ("status", fields.CharEnumField(EditStatus, default=EditStatus.OPEN,
                                                max_length=16)),
                ("base_version", fields.IntField()),
                ("shipping_method", fields.CharField(null=True, max_length=64)),
                ("shipping_changed", fields.BooleanField(default=False)),
                ("staff_note", fields.CharField(null=True, max_length=500)),
                ("notify_customer", fields.BooleanField(default=False)),
                ("balance", fields.DecimalField(null=True, max_digits=18, decimal_places=4)),
                ("payment_id", fields.IntField(null=True)),
                ("refund_operation_id", fields.IntField(null=True)),
                ("created_by", fields.CharField(null=True, max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("committed_at", fields.DatetimeField(null=True, auto_now=False,
                                                      auto_now_add=False)),
            ],
            options={"table": "order_edit", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OrderEditLine",
            fields=[
                ("id", _pk()),
                ("edit", fields.ForeignKeyField(
                    "oms.OrderEdit", source_field="edit_id", db_constraint=True, to_field="id",
                    related_name="lines", on_delete=OnDelete.CASCADE)),
                ("order_line_id", fields.IntField(null=True)),
                ("sku", fields.CharField(max_length=64)),
                ("quantity", fields.IntField()),
                ("unit_price", fields.DecimalField(max_digits=18, decimal_places=4)),
                ("position", fields.IntField(default=0)),
            ],
            options={"table": "order_edit_line", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON {table} ({column})"
             for table, column in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS idx_{table}_{column}" for table, column in INDEXES],
        ),
    ]
