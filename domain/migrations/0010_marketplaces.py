from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0009_low_stock_alerts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MarketplaceConnection',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('channel', fields.OneToOneField('oms.Channel', source_field='channel_id', db_constraint=True, to_field='id', related_name='marketplace', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=32)),
                ('settings', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'marketplace_connection', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
