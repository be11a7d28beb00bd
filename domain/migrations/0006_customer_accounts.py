from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0005_oauth_clients')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('oms.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='refresh_tokens', on_delete=OnDelete.CASCADE)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'refresh_token', 'app': 'oms', 'pk_attr': 'id', 'table_description': "A customer's refresh token, stored by digest. Each use replaces it with a new one."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Customer',
            name='password_hash',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Order',
            name='via_account',
            field=fields.BooleanField(default=False),
        ),
    ]
