from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0010_marketplaces')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MarketplaceListing',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.ForeignKeyField('oms.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='listings', on_delete=OnDelete.CASCADE)),
                ('sku', fields.CharField(max_length=64)),
                ('remote_item', fields.CharField(null=True, max_length=128)),
                ('last_pushed', fields.IntField(null=True)),
                ('drift', fields.IntField(null=True)),
                ('dirty', fields.BooleanField(default=True, db_index=True)),
                ('pushed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'marketplace_listing', 'app': 'oms', 'unique_together': (('channel', 'sku'),), 'pk_attr': 'id', 'table_description': 'A SKU as a marketplace channel sells it: its remote item and the last quantity pushed.'},
            bases=['Model'],
        ),
    ]
