from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0004_payments_and_returns')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OAuthClient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('secret_hash', fields.CharField(max_length=200)),
                ('scopes', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('channels', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'oauth_client', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
