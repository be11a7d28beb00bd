"""Each webhook delivery names the outbox row it was made from, once per subscription:
deliveries are made in the transaction that marks the row published, and the unique
constraint keeps a row from owing a subscription two of them. Attempts logged before
without an HTTP answer read as the log now says them, without the network's detail."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('oms', '0018_deployment_and_session_revocation')]

    initial = False

    operations = [
        ops.AddField(
            model_name='WebhookDelivery',
            name='outbox_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddConstraint(
            model_name='WebhookDelivery',
            constraint=UniqueConstraint(fields=('subscription', 'outbox_id'), name=None),
        ),
        ops.RunSQL(
            "UPDATE webhook_delivery SET last_error = 'could not connect'"
            " WHERE last_status IS NULL AND last_error IS NOT NULL",
            reverse_sql="SELECT 1",
        ),
    ]
