"""A catalogue that changes after the fact: archived products, variants' barcodes, weights
and dimensions, inactive locations, the order of a channel's locations, and when each row
last changed. Every column is nullable or defaulted, so the previous release keeps running."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


def _updated(model: str) -> ops.AddField:
    return ops.AddField(model_name=model, name="updated_at", field=fields.DatetimeField(null=True))


class Migration(migrations.Migration):
    dependencies = [("oms", "0022_refund_allocations")]

    initial = False

    operations = [
        ops.AddField(model_name="Product", name="archived_at",
                     field=fields.DatetimeField(null=True)),
        _updated("Product"),
        ops.AddField(model_name="Variant", name="barcode",
                     field=fields.CharField(null=True, max_length=64)),
        ops.AddField(model_name="Variant", name="weight_grams", field=fields.IntField(null=True)),
        ops.AddField(model_name="Variant", name="length_mm", field=fields.IntField(null=True)),
        ops.AddField(model_name="Variant", name="width_mm", field=fields.IntField(null=True)),
        ops.AddField(model_name="Variant", name="height_mm", field=fields.IntField(null=True)),
        _updated("Variant"),
        ops.AddField(model_name="Location", name="active", field=fields.BooleanField(default=True)),
        _updated("Location"),
        _updated("Channel"),
        ops.AddField(model_name="ChannelLocation", name="position",
                     field=fields.IntField(default=0)),
    ]
