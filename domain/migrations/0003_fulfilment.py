from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.fulfillment.models import ShipmentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('oms', '0002_order_number_assigned_last')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Shipment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('oms.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.CASCADE)),
                ('location', fields.ForeignKeyField('oms.Location', source_field='location_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=ShipmentStatus.PENDING, description='PENDING: PENDING\nREADY_FOR_PICKUP: READY_FOR_PICKUP\nLABEL_PURCHASED: LABEL_PURCHASED\nIN_TRANSIT: IN_TRANSIT\nOUT_FOR_DELIVERY: OUT_FOR_DELIVERY\nDELIVERED: DELIVERED\nPICKED_UP: PICKED_UP\nEXCEPTION: EXCEPTION\nRETURNED_TO_SENDER: RETURNED_TO_SENDER\nCANCELLED: CANCELLED', enum_type=ShipmentStatus, max_length=24)),
                ('carrier', fields.CharField(null=True, max_length=64)),
                ('service', fields.CharField(null=True, max_length=64)),
                ('tracking_number', fields.CharField(null=True, db_index=True, max_length=64)),
                ('tracking_url', fields.CharField(null=True, max_length=500)),
                ('estimated_delivery', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('shipped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('event_seq', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'shipment', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShipmentLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shipment', fields.ForeignKeyField('oms.Shipment', source_field='shipment_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('order_line', fields.ForeignKeyField('oms.OrderLine', source_field='order_line_id', db_constraint=True, to_field='id', related_name='shipment_lines', on_delete=OnDelete.CASCADE)),
                ('quantity', fields.IntField()),
            ],
            options={'table': 'shipment_line', 'app': 'oms', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrackingEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shipment', fields.ForeignKeyField('oms.Shipment', source_field='shipment_id', db_constraint=True, to_field='id', related_name='tracking_events', on_delete=OnDelete.CASCADE)),
                ('sequence', fields.IntField()),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nREADY_FOR_PICKUP: READY_FOR_PICKUP\nLABEL_PURCHASED: LABEL_PURCHASED\nIN_TRANSIT: IN_TRANSIT\nOUT_FOR_DELIVERY: OUT_FOR_DELIVERY\nDELIVERED: DELIVERED\nPICKED_UP: PICKED_UP\nEXCEPTION: EXCEPTION\nRETURNED_TO_SENDER: RETURNED_TO_SENDER\nCANCELLED: CANCELLED', enum_type=ShipmentStatus, max_length=24)),
                ('description', fields.CharField(null=True, max_length=500)),
                ('location', fields.CharField(null=True, max_length=200)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('external_id', fields.CharField(max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'tracking_event', 'app': 'oms', 'unique_together': (('shipment', 'sequence'), ('shipment', 'external_id')), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
