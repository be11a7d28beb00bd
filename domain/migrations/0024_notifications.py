"""Customer notifications and staff alerts: the delivery log (one row per event, channel and
kind, unique, so an event published twice owes one message), and each customer's language
and opt-outs per channel."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from domain.notifications.models import Channel, Status
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('oms', '0023_exchange_settlement')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event_id', fields.BigIntField()),
                ('channel', fields.CharEnumField(description='EMAIL: email\nSMS: sms', enum_type=Channel, max_length=8)),
                ('kind', fields.CharField(max_length=40)),
                ('audience', fields.CharField(max_length=8)),
                ('order', fields.ForeignKeyField('oms.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=Status.PENDING, description='PENDING: pending\nSENDING: sending\nSENT: sent\nSKIPPED: skipped\nFAILED: failed\nUNCONFIRMED: unconfirmed', enum_type=Status, max_length=12)),
                ('recipient', fields.CharField(null=True, max_length=254)),
                ('subject', fields.CharField(null=True, max_length=300)),
                ('locale', fields.CharField(null=True, max_length=35)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('handed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'notification', 'app': 'oms', 'unique_together': (('event_id', 'channel', 'kind'),), 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Customer',
            name='email_opt_out',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Customer',
            name='locale',
            field=fields.CharField(null=True, max_length=35),
        ),
        ops.AddField(
            model_name='Customer',
            name='sms_opt_out',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
