"""Staff members, roles and sessions; which staff member wrote each order event and ledger row."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0027_catalogue_lifecycle')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StaffRole',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('permissions', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('built_in', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'staff_role', 'app': 'oms', 'pk_attr': 'id', 'table_description': 'A named set of permissions: the built-in roles, and custom ones.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(null=True, max_length=200)),
                ('role', fields.ForeignKeyField('oms.StaffRole', source_field='role_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.RESTRICT)),
                ('active', fields.BooleanField(default=True)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('password_code_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('password_code_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('totp_secret', fields.CharField(null=True, max_length=64)),
                ('totp_pending_secret', fields.CharField(null=True, max_length=64)),
                ('totp_last_step', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'staff_member', 'app': 'oms', 'pk_attr': 'id', 'table_description': 'A person who signs in to run the shop. Email is stored lower-cased and is unique.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff', fields.ForeignKeyField('oms.StaffMember', source_field='staff_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('address', fields.CharField(null=True, max_length=64)),
                ('user_agent', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_session', 'app': 'oms', 'pk_attr': 'id', 'table_description': 'A signed-in staff session, stored by the digest of its bearer token.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OrderEvent',
            name='actor_staff_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='StockMovement',
            name='actor_staff_id',
            field=fields.IntField(null=True),
        ),
    ]
