from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from domain.payments.models import OperationKind, OperationStatus, PaymentState
from domain.returns.models import ReturnStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0003_fulfilment')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('oms.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=32)),
                ('method', fields.CharField(max_length=32)),
                ('state', fields.CharEnumField(default=PaymentState.PENDING, description='PENDING: PENDING\nAUTHORIZED: AUTHORIZED\nCAPTURED: CAPTURED\nREFUNDED: REFUNDED\nVOIDED: VOIDED\nFAILED: FAILED', enum_type=PaymentState, max_length=16)),
                ('currency', fields.CharField(max_length=3)),
                ('amount', fields.DecimalField(max_digits=18, decimal_places=4)),
                ('authorized_amount', fields.DecimalField(default=0, max_digits=18, decimal_places=4)),
                ('captured_amount', fields.DecimalField(default=0, max_digits=18, decimal_places=4)),
                ('refunded_amount', fields.DecimalField(default=0, max_digits=18, decimal_places=4)),
                ('psp_reference', fields.CharField(null=True, db_index=True, max_length=128)),
                ('client_secret', fields.CharField(null=True, max_length=256)),
                ('disputed', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'payment', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentOperation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('payment', fields.ForeignKeyField('oms.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='operations', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='AUTHORIZE: AUTHORIZE\nCAPTURE: CAPTURE\nVOID: VOID\nREFUND: REFUND', enum_type=OperationKind, max_length=16)),
                ('status', fields.CharEnumField(default=OperationStatus.PENDING, description='PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=OperationStatus, max_length=16)),
                ('amount', fields.DecimalField(default=0, max_digits=18, decimal_places=4)),
                ('final', fields.BooleanField(default=True)),
                ('idempotency_key', fields.CharField(unique=True, max_length=128)),
                ('psp_reference', fields.CharField(null=True, max_length=128)),
                ('error', fields.CharField(null=True, max_length=500)),
                ('return_id', fields.IntField(null=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_operation', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProcessedWebhook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=32)),
                ('event_id', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'processed_webhook', 'app': 'oms', 'unique_together': (('provider', 'event_id'),), 'pk_attr': 'id', 'table_description': 'A gateway event already applied: the same event delivered again changes nothing.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Return',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('oms.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='returns', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=ReturnStatus.REQUESTED, description='REQUESTED: REQUESTED\nAPPROVED: APPROVED\nDECLINED: DECLINED\nRECEIVED: RECEIVED\nREFUNDED: REFUNDED\nCANCELLED: CANCELLED', enum_type=ReturnStatus, max_length=16)),
                ('decline_reason', fields.CharField(null=True, max_length=500)),
                ('refund_total', fields.DecimalField(null=True, max_digits=18, decimal_places=4)),
                ('refund_shipping', fields.BooleanField(default=False)),
                ('replacement', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('replacement_order', fields.ForeignKeyField('oms.Order', source_field='replacement_order_id', null=True, db_constraint=True, to_field='id', related_name='replacing_returns', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'order_return', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReturnLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rma', fields.ForeignKeyField('oms.Return', source_field='rma_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('order_line', fields.ForeignKeyField('oms.OrderLine', source_field='order_line_id', db_constraint=True, to_field='id', related_name='return_lines', on_delete=OnDelete.CASCADE)),
                ('quantity', fields.IntField()),
                ('reason', fields.CharField(null=True, max_length=500)),
                ('quantity_received', fields.IntField(default=0)),
                ('quantity_restocked', fields.IntField(default=0)),
            ],
            options={'table': 'return_line', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
