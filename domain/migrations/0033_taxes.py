"""Taxes: the merchant's rates, each variant's tax class, channels whose prices include
tax, tax-exempt customers, and on every order and line the tax (and discount) it was
charged. Every new column is nullable or has a default in the database, so rows that the
previous release writes while this one rolls out get it too."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from domain.migrations._columns import AddColumn
from domain.taxes.models import TaxClass


def _money() -> fields.DecimalField:
    return fields.DecimalField(max_digits=18, decimal_places=4, default=0, db_default=0)


def _rate() -> fields.DecimalField:
    return fields.DecimalField(max_digits=7, decimal_places=4, default=0, db_default=0)


def _flag() -> fields.BooleanField:
    return fields.BooleanField(default=False, db_default=False)


class Migration(migrations.Migration):
    dependencies = [("oms", "0032_invoices")]

    initial = False

    operations = [
        ops.CreateModel(
            name="TaxRate",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True,
                                       db_index=True)),
                ("country", fields.CharField(max_length=2)),
                ("region", fields.CharField(null=True, max_length=10)),
                ("tax_class", fields.CharEnumField(TaxClass, max_length=16)),
                ("rate", fields.DecimalField(max_digits=7, decimal_places=4)),
                ("name", fields.CharField(max_length=64)),
                ("updated_at", fields.DatetimeField(auto_now=True)),
            ],
            options={"table": "tax_rate", "app": "oms", "pk_attr": "id",
                     "unique_together": (("country", "region", "tax_class"),),
                     "table_description": "The merchant's tax rates by country, region and tax class."},
            bases=["Model"],
        ),
        AddColumn(table="variant", model_name="Variant", name="tax_class",
                     field=fields.CharEnumField(TaxClass, max_length=16, default=TaxClass.STANDARD,
                                                db_default=TaxClass.STANDARD.value)),
        AddColumn(table="channel", model_name="Channel", name="prices_include_tax", field=_flag()),
        AddColumn(table="customer", model_name="Customer", name="tax_exempt", field=_flag()),
        AddColumn(table="customer", model_name="Customer", name="tax_number",
                     field=fields.CharField(null=True, max_length=32)),
        AddColumn(table="orders", model_name="Order", name="prices_include_tax", field=_flag()),
        AddColumn(table="orders", model_name="Order", name="tax_total", field=_money()),
        AddColumn(table="orders", model_name="Order", name="shipping_tax", field=_money()),
        AddColumn(table="orders", model_name="Order", name="shipping_tax_rate", field=_rate()),
        AddColumn(table="orders", model_name="Order", name="shipping_tax_name",
                     field=fields.CharField(null=True, max_length=64)),
        AddColumn(table="orders", model_name="Order", name="discount_total", field=_money()),
        AddColumn(table="orders", model_name="Order", name="tax_exempt", field=_flag()),
        AddColumn(table="orders", model_name="Order", name="tax_number",
                     field=fields.CharField(null=True, max_length=32)),
        AddColumn(table="order_line", model_name="OrderLine", name="discount_amount", field=_money()),
        AddColumn(table="order_line", model_name="OrderLine", name="tax_rate", field=_rate()),
        AddColumn(table="order_line", model_name="OrderLine", name="tax_name",
                     field=fields.CharField(null=True, max_length=64)),
        AddColumn(table="order_line", model_name="OrderLine", name="tax_amount", field=_money()),
    ]
