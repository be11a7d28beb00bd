from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0011_marketplace_listings')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MarketplaceFulfillment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shipment_id', fields.IntField(unique=True)),
                ('channel', fields.ForeignKeyField('oms.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='marketplace_fulfillments', on_delete=OnDelete.CASCADE)),
                ('sent', fields.BooleanField(default=False, db_index=True)),
                ('attempts', fields.IntField(default=0)),
                ('error', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'marketplace_fulfillment', 'app': 'oms', 'pk_attr': 'id', 'table_description': 'A dispatched shipment of a marketplace order, to be reported to the marketplace.'},
            bases=['Model'],
        ),
    ]
