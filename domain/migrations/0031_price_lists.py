"""Price lists per channel and currency (for everyone or a customer group) with quantity
tiers, customer groups, and the price list each order line was priced from. New columns
are nullable, so rows the previous release writes while this one rolls out fit."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from domain.migrations._columns import AddColumn


def _pk() -> fields.IntField:
    return fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)


INDEXES = [("price_list", "channel_id"), ("price_list", "customer_group_id"),
           ("price_list_entry", "variant_id"), ("customer", "customer_group_id")]


class Migration(migrations.Migration):
    dependencies = [("oms", "0030_notes_tags_metadata")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CustomerGroup",
            fields=[
                ("id", _pk()),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("name", fields.CharField(max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "customer_group", "app": "oms", "pk_attr": "id",
                     "table_description": "A set of customers sold to at their own prices "
                                          "(trade, staff, VIP): price lists may"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Customer", name="customer_group",
            field=fields.ForeignKeyField(
                "oms.CustomerGroup", source_field="customer_group_id", db_constraint=True,
                to_field="id", related_name="customers", null=True,
                on_delete=OnDelete.SET_NULL)),
        ops.CreateModel(
            name="PriceList",
            fields=[
                ("id", _pk()),
                ("code", fields.CharField(unique=True, max_length=64)),
                ("name", fields.CharField(max_length=200)),
                ("channel", fields.ForeignKeyField(
                    "oms.Channel", source_field="channel_id", db_constraint=True, to_field="id",
                    related_name="price_lists", on_delete=OnDelete.CASCADE)),
                ("currency", fields.CharField(max_length=3)),
                ("customer_group", fields.ForeignKeyField(
                    "oms.CustomerGroup", source_field="customer_group_id", db_constraint=True,
                    to_field="id", related_name="price_lists", null=True,
                    on_delete=OnDelete.RESTRICT)),
                ("priority", fields.IntField(default=0)),
                ("active", fields.BooleanField(default=True)),
                ("starts_at", fields.DatetimeField(null=True, auto_now=False,
                                                   auto_now_add=False)),
                ("ends_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(null=True, auto_now=False,
                                                    auto_now_add=False)),
            ],
            options={"table": "price_list", "app": "oms", "pk_attr": "id",
                     "table_description": "Prices of a channel in a currency, for everyone or "
                                          "for one customer group."},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PriceListEntry",
            fields=[
                ("id", _pk()),
                ("price_list", fields.ForeignKeyField(
                    "oms.PriceList", source_field="price_list_id", db_constraint=True,
                    to_field="id", related_name="entries", on_delete=OnDelete.CASCADE)),
                ("variant", fields.ForeignKeyField(
                    "oms.Variant", source_field="variant_id", db_constraint=True, to_field="id",
                    related_name="price_entries", on_delete=OnDelete.CASCADE)),
                ("min_quantity", fields.IntField(default=1)),
                ("amount", fields.DecimalField(max_digits=18, decimal_places=4)),
            ],
            options={"table": "price_list_entry", "app": "oms", "pk_attr": "id",
                     "unique_together": (("price_list", "variant", "min_quantity"),),
                     "table_description": "A variant's unit price in a list from "
                                          "``min_quantity`` units a line up."},
            bases=["Model"],
        ),
        AddColumn(table="order_line", model_name="OrderLine", name="price_list_id",
                     field=fields.IntField(null=True)),
        AddColumn(table="order_line", model_name="OrderLine", name="price_list_code",
                     field=fields.CharField(null=True, max_length=64)),
        AddColumn(table="order_edit_line", model_name="OrderEditLine", name="price_list_id",
                     field=fields.IntField(null=True)),
        AddColumn(table="order_edit_line", model_name="OrderEditLine", name="price_list_code",
                     field=fields.CharField(null=True, max_length=64)),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS idx_{table}_{column} ON {table} ({column})"
             for table, column in INDEXES],
            reverse_sql=[f"DROP INDEX IF EXISTS idx_{table}_{column}" for table, column in INDEXES],
        ),
    ]
