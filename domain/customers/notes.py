"""Staff notes on a customer: the shop's own record of them, never shown to the customer
(domain/access reads them to the shop's staff and unlimited partner apps only)."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.customers.models import Customer, CustomerNote
from domain.errors import NotFound
from domain.idempotency.service import IdempotencyKey, idempotent

MAX_NOTE = 5000


async def add_note(*, customer_id: int, message: str, actor: str,
                   idempotency: IdempotencyKey | None = None) -> CustomerNote:
    """Add a note to the customer. A blank note, or one over MAX_NOTE characters, is
    INVALID_INPUT and writes nothing."""
    text = v.required_text(message, field=("message",), max_length=MAX_NOTE)

    async def run(conn: BaseDBAsyncClient) -> CustomerNote:
        if not await Customer.filter(id=customer_id).using_db(conn).exists():
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        return await CustomerNote.create(customer_id=customer_id, message=text, actor=actor,
                                         using_db=conn)

    return await idempotent(
        key=idempotency, operation="customer:note", request=[customer_id, text], run=run,
        encode=lambda note: {"note": note.id},
        decode=lambda result: CustomerNote.get(id=result["note"]),
    )
