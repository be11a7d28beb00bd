"""Partial cancellation: how many units of each order line were cancelled after the order
was placed (the line's quantity is what is left). The column has a default in the database,
so rows the previous release writes while this one rolls out get it too."""

from tortoise import fields, migrations

from domain.migrations._columns import AddColumn


class Migration(migrations.Migration):
    dependencies = [("oms", "0028_staff_accounts")]

    initial = False

    operations = [
        AddColumn(table="order_line", model_name="OrderLine", name="quantity_cancelled",
                     field=fields.IntField(default=0, db_default=0)),
    ]
