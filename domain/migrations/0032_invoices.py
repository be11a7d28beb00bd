"""Invoices and credit notes (numbered per series and year from ``counter`` rows) and the
merchant's invoice settings."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from domain.invoices.models import DocumentKind


def _json(**kwargs: object) -> fields.JSONField:
    return fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")),
                            decoder=loads, **kwargs)  # type: ignore[arg-type]


def _pk() -> fields.IntField:
    return fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)


INDEXES = [("invoice", "order_id"), ("invoice", "invoice_id")]


class Migration(migrations.Migration):
    dependencies = [("oms", "0031_price_lists")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Invoice",
            fields=[
                ("id", _pk()),
                ("order", fields.ForeignKeyField(
                    "oms.Order", source_field="order_id", db_constraint=True, to_field="id",
                    related_name="invoices", on_delete=OnDelete.RESTRICT)),
                ("kind", fields.CharEnumField(DocumentKind, default=DocumentKind.INVOICE,
                                              max_length=16)),
                ("invoice", fields.ForeignKeyField(
                    "oms.Invoice", source_field="invoice_id", db_constraint=True,
                    to_field="id", related_name="credit_notes", null=True,
                    on_delete=OnDelete.RESTRICT)),
                ("series", fields.CharField(max_length=16)),
                ("year", fields.IntField()),
                ("sequence", fields.IntField()),
                ("number", fields.CharField(unique=True, max_length=40)),
                ("source", fields.CharField(unique=True, max_length=64)),
                ("currency", fields.CharField(max_length=3)),
                ("total", fields.DecimalField(max_digits=18, decimal_places=4)),
                ("seller", _json()),
                ("buyer", _json()),
                ("lines", _json()),
                ("tax_lines", _json(default=list)),
                ("totals", _json()),
                ("issued_by", fields.CharField(null=True, max_length=200)),
                ("issued_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "invoice", "app": "oms", "pk_attr": "id",
                     "unique_together": (("series", "year", "sequence"),)},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="InvoiceSettingsRow",
            fields=[
                ("id", fields.IntField(primary_key=True)),
                ("config", fields.JSONField(default=dict)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "invoice_settings", "app": "oms", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON {table} ({column})"
             for table, column in INDEXES],
            # Rolled back: credit notes go before the invoices they reference (dropping a
            # table deletes its rows, one by one on SQLite, each checked against the key).
            reverse_sql=["DELETE FROM invoice WHERE invoice_id IS NOT NULL"]
            + [f"DROP INDEX IF EXISTS idx_{table}_{column}" for table, column in INDEXES],
        ),
    ]
