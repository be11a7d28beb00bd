"""Discounts: promotions (percentage or fixed, on lines, the order or shipping, with their
restrictions and dates), their voucher codes and each code's redemptions, the discounts
each order was given with every line's share, and a draft's voucher code. New columns are
nullable, so rows the previous release writes while this one rolls out fit."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from domain.migrations._columns import AddColumn

from domain.discounts.models import DiscountKind, DiscountTarget


def _pk() -> fields.IntField:
    return fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)


def _money(null: bool = False) -> fields.DecimalField:
    return fields.DecimalField(max_digits=18, decimal_places=4, null=null)


INDEXES = [("voucher", "promotion_id"), ("voucher_redemption", "voucher_id"),
           ("voucher_redemption", "order_id"), ("order_discount", "order_id")]


class Migration(migrations.Migration):
    dependencies = [("oms", "0033_taxes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Promotion",
            fields=[
                ("id", _pk()),
                ("name", fields.CharField(max_length=200)),
                ("kind", fields.CharEnumField(DiscountKind, max_length=16)),
                ("target", fields.CharEnumField(DiscountTarget, max_length=16)),
                ("value", _money()),
                ("currency", fields.CharField(null=True, max_length=3)),
                ("min_subtotal", _money(null=True)),
                ("skus", fields.JSONField(null=True)),
                ("channels", fields.JSONField(null=True)),
                ("customer_groups", fields.JSONField(null=True)),
                ("starts_at", fields.DatetimeField(null=True, auto_now=False,
                                                   auto_now_add=False)),
                ("ends_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("active", fields.BooleanField(default=True)),
                ("requires_code", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(null=True, auto_now=False,
                                                    auto_now_add=False)),
            ],
            options={"table": "promotion", "app": "oms", "pk_attr": "id",
                     "table_description": "A discount: percentage or fixed, on lines, the "
                                          "order or shipping."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Voucher",
            fields=[
                ("id", _pk()),
                ("promotion", fields.ForeignKeyField(
                    "oms.Promotion", source_field="promotion_id", db_constraint=True,
                    to_field="id", related_name="vouchers", on_delete=OnDelete.CASCADE)),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("max_uses", fields.IntField(null=True)),
                ("per_customer_limit", fields.IntField(null=True)),
                ("uses", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "voucher", "app": "oms", "pk_attr": "id",
                     "table_description": "A voucher code of a promotion, with its usage "
                                          "limits."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="VoucherRedemption",
            fields=[
                ("id", _pk()),
                ("voucher", fields.ForeignKeyField(
                    "oms.Voucher", source_field="voucher_id", db_constraint=True,
                    to_field="id", related_name="redemptions", on_delete=OnDelete.CASCADE)),
                ("order", fields.ForeignKeyField(
                    "oms.Order", source_field="order_id", db_constraint=True, to_field="id",
                    related_name="voucher_redemptions", on_delete=OnDelete.CASCADE)),
                ("customer_id", fields.IntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "voucher_redemption", "app": "oms", "pk_attr": "id",
                     "table_description": "An order's use of a voucher code."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OrderDiscount",
            fields=[
                ("id", _pk()),
                ("order", fields.ForeignKeyField(
                    "oms.Order", source_field="order_id", db_constraint=True, to_field="id",
                    related_name="discounts", on_delete=OnDelete.CASCADE)),
                ("promotion_id", fields.IntField(null=True)),
                ("name", fields.CharField(max_length=200)),
                ("code", fields.CharField(null=True, max_length=64)),
                ("target", fields.CharEnumField(DiscountTarget, max_length=16)),
                ("amount", _money()),
                ("lines", fields.JSONField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "order_discount", "app": "oms", "pk_attr": "id",
                     "table_description": "A discount an order was given, with each line's "
                                          "share."},
            bases=["Model"],
        ),
        AddColumn(table="draft_order", model_name="DraftOrder", name="voucher_code",
                     field=fields.CharField(null=True, max_length=64)),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON {table} ({column})"
             for table, column in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS idx_{table}_{column}" for table, column in INDEXES],
        ),
    ]
