"""The stock ledger's inflows by stock row and time: the inventory report walks them
newest first to find the oldest unsold receipt, and stops as soon as it has."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("oms", "0015_sales_summaries")]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE INDEX IF NOT EXISTS idx_stock_movement_inflows"
            " ON stock_movement (stock_level_id, created_at, id)"
            " WHERE on_hand_delta > 0 AND kind <> 'SHIPMENT'",
            reverse_sql="DROP INDEX IF EXISTS idx_stock_movement_inflows",
        ),
    ]
