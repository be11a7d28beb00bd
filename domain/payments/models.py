"""Payment tables: one row per payment, and a log of every call made to its gateway.

A gateway call is first written as a PENDING operation (with its idempotency
key) and committed; the call happens outside any transaction; its outcome is
recorded in a new one. An operation left PENDING (the process died, or the
gateway did not answer) is retried with the same key, so the gateway applies
it once.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class PaymentState(StrEnum):
    PENDING = "PENDING"  # waiting for the customer (Stripe) or for the money (manual)
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    FAILED = "FAILED"


class OperationKind(StrEnum):
    AUTHORIZE = "AUTHORIZE"
    CAPTURE = "CAPTURE"
    VOID = "VOID"
    REFUND = "REFUND"


class OperationStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Payment(Model):
    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "oms.Order", related_name="payments", on_delete=fields.CASCADE
    )
    provider = fields.CharField(max_length=32)
    method = fields.CharField(max_length=32)
    state = fields.CharEnumField(PaymentState, max_length=16, default=PaymentState.PENDING)
    currency = fields.CharField(max_length=3)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    authorized_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=0)
    captured_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=0)
    refunded_amount = fields.DecimalField(max_digits=18, decimal_places=4, default=0)
    psp_reference = fields.CharField(max_length=128, null=True, db_index=True)
    client_secret = fields.CharField(max_length=256, null=True)
    disputed = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    order_id: int

    class Meta:
        table = "payment"


class PaymentOperation(Model):
    id = fields.IntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "oms.Payment", related_name="operations", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(OperationKind, max_length=16)
    status = fields.CharEnumField(OperationStatus, max_length=16, default=OperationStatus.PENDING)
    amount = fields.DecimalField(max_digits=18, decimal_places=4, default=0)
    # For captures: the last one for this payment (Stripe releases what is left).
    final = fields.BooleanField(default=True)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    psp_reference = fields.CharField(max_length=128, null=True)
    error = fields.CharField(max_length=500, null=True)
    # The return whose refund this is, if any.
    return_id = fields.IntField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)
    # Set while one process is calling the gateway with this operation's key, so a
    # concurrent repeat waits for it instead of calling too. It expires, in case that
    # process died mid-call.
    calling_since = fields.DatetimeField(null=True)

    payment_id: int

    class Meta:
        table = "payment_operation"


class AllocationKind(StrEnum):
    REFUND = "REFUND"  # money paid back, counted once its payment operation succeeded
    EXCHANGE = "EXCHANGE"  # returned goods credited towards an exchange's replacement order
    # Paid back because an order edit lowered the order: its lines already show the lower
    # amounts, so this is no refund of what remains of them, nor a refund in the sales.
    EDIT = "EDIT"


class RefundAllocation(Model):
    """What one refund (or exchange credit) pays back: an amount charged to one order line,
    or to the order's shipping (``order_line_id`` null). Written by
    ``domain.payments.allocation`` in the transaction that writes the refund's operation;
    the amounts of one refund add up to it exactly, in the currency's minor units."""

    id = fields.IntField(primary_key=True)
    order_id = fields.IntField(db_index=True)
    order_line_id = fields.IntField(null=True, db_index=True)
    payment_operation_id = fields.IntField(null=True, db_index=True)
    return_id = fields.IntField(null=True, db_index=True)
    kind = fields.CharEnumField(AllocationKind, max_length=16, default=AllocationKind.REFUND)
    amount = fields.DecimalField(max_digits=18, decimal_places=4)
    units = fields.IntField(null=True)  # units given back, where known (returns)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "refund_allocation"


PROVIDER_LENGTH = 96


class ProcessedWebhook(Model):
    """A gateway event or marketplace delivery already applied: the same one delivered again
    changes nothing. Written in the transaction that applies it, so a refused one is not."""

    id = fields.IntField(primary_key=True)
    # "stripe", or "<marketplace>:<channel code>" (a code has up to 64 characters).
    provider = fields.CharField(max_length=PROVIDER_LENGTH)
    event_id = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "processed_webhook"
        unique_together = (("provider", "event_id"),)
