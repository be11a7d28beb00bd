from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0008_shipment_labels')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StockLevel',
            name='low_stock_alerted',
            field=fields.BooleanField(default=False),
        ),
    ]
