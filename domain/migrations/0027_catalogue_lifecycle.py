"""A catalogue that changes after the fact: archived products, variants' barcodes, weights
and dimensions, inactive locations, the order of a channel's locations, and when each row
last changed. Every column is nullable or has a default in the database, so rows that the
previous release writes while this one rolls out get it too."""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

TABLES = {"Product": "product", "Variant": "variant", "Location": "location",
          "Channel": "channel", "ChannelLocation": "channel_location"}


class AddColumn(ops.AddField):
    """Rolled back in place on SQLite (``DROP COLUMN``): rebuilding the table, as the
    generic removal does, fails on the rows of other tables that refer to it."""

    async def database_backward(self, app_label: str, old_state: Any, new_state: Any,
                                state_editor: Any = None) -> None:
        if state_editor and state_editor.client.capabilities.dialect == "sqlite":
            await state_editor.client.execute_script(
                f"ALTER TABLE {TABLES[self.model_name]} DROP COLUMN {self.name}")
            return
        await super().database_backward(app_label, old_state, new_state, state_editor)


def _updated(model: str) -> ops.AddField:
    return AddColumn(model_name=model, name="updated_at", field=fields.DatetimeField(null=True))


class Migration(migrations.Migration):
    dependencies = [("oms", "0026_draft_orders_and_edits")]

    initial = False

    operations = [
        AddColumn(model_name="Product", name="archived_at",
                  field=fields.DatetimeField(null=True)),
        _updated("Product"),
        AddColumn(model_name="Variant", name="barcode",
                  field=fields.CharField(null=True, max_length=64)),
        AddColumn(model_name="Variant", name="weight_grams", field=fields.IntField(null=True)),
        AddColumn(model_name="Variant", name="length_mm", field=fields.IntField(null=True)),
        AddColumn(model_name="Variant", name="width_mm", field=fields.IntField(null=True)),
        AddColumn(model_name="Variant", name="height_mm", field=fields.IntField(null=True)),
        _updated("Variant"),
        AddColumn(model_name="Location", name="active", field=fields.BooleanField(default=True, db_default=True)),
        _updated("Location"),
        _updated("Channel"),
        AddColumn(model_name="ChannelLocation", name="position",
                  field=fields.IntField(default=0, db_default=0)),
    ]
