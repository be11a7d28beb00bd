from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0007_webhooks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Shipment',
            name='carrier_shipment',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='Shipment',
            name='label_url',
            field=fields.CharField(null=True, max_length=1000),
        ),
    ]
