"""Running a service call at most once per client and idempotency key (DESIGN rule 5)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.db import execute, fetch, insert_sql
from domain.errors import IdempotencyKeyReused, InvalidInput
from domain.idempotency.models import IdempotencyRecord
from domain.uow import unit_of_work

T = TypeVar("T")
_RESULT = IdempotencyRecord._meta.fields_map["result"]


@dataclass(frozen=True)
class IdempotencyKey:
    client: str
    key: str


def request_hash(operation: str, request: Any) -> str:
    body = json.dumps([operation, request], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


async def idempotent(
    *,
    key: IdempotencyKey | None,
    operation: str,
    request: Any,
    run: Callable[[BaseDBAsyncClient], Awaitable[T]],
    encode: Callable[[T], dict[str, Any]],
    decode: Callable[[dict[str, Any]], Awaitable[T]],
) -> T:
    """Run ``run`` in one transaction, recording its result under the key in that transaction.

    A repeated key with the same request returns the stored result (decoded
    afresh) and changes nothing; with a different request it raises
    IdempotencyKeyReused. The key is claimed first, so a concurrent duplicate
    waits for the first to commit and then replays it. A call that fails
    stores nothing, so it can be retried with the same key. A new key costs the
    call two statements (the claim and its result); a repeated one, a transaction with a
    claim that finds the key taken and the read of its record.
    """
    if key is None:
        async with unit_of_work() as conn:
            return await run(conn)
    _check(key)
    digest = request_hash(operation, request)
    for _ in range(3):
        async with unit_of_work() as conn:
            # Claimed in the call's own transaction, in one statement: a concurrent duplicate
            # waits here for the claim's commit (then finds the record) or its rollback
            # (then claims the key itself).
            record = IdempotencyRecord(client=key.client, key=key.key, operation=operation,
                                       request_hash=digest, result={})
            sql, params = insert_sql(conn, [record])
            if await fetch(conn, f'{sql} ON CONFLICT ("client", "key") DO NOTHING'
                                 ' RETURNING "id"', params):
                result = await run(conn)
                await execute(conn, 'UPDATE "idempotency_record" SET "result" = ?'
                                    ' WHERE "client" = ? AND "key" = ?',
                              [_RESULT.to_db_value(encode(result), record), key.client, key.key])
                return result
            stored = await fetch(conn, 'SELECT "operation", "request_hash", "result" FROM'
                                       ' "idempotency_record" WHERE "client" = ? AND "key" = ?',
                                 [key.client, key.key])
        if stored:  # (none: its claim was rolled back meanwhile, so claim it again)
            found = stored[0]
            if found["operation"] != operation or found["request_hash"] != digest:
                raise IdempotencyKeyReused(key.key)
            value = found["result"]
            return await decode(json.loads(value) if isinstance(value, str) else value)
    raise IdempotencyKeyReused(key.key)


def _check(key: IdempotencyKey) -> None:
    """A key (from the input or the Idempotency-Key header) fits its column."""
    if not key.key.strip() or len(key.key) > v.MAX_IDEMPOTENCY_KEY or "\x00" in key.key:
        raise InvalidInput(f"An idempotency key has 1 to {v.MAX_IDEMPOTENCY_KEY} characters",
                           field=("idempotencyKey",))


async def remembered(
    *,
    key: IdempotencyKey | None,
    operation: str,
    request: Any,
    run: Callable[[], Awaitable[T]],
    encode: Callable[[T], dict[str, Any]],
    decode: Callable[[dict[str, Any]], Awaitable[T]],
) -> T:
    """Idempotency for flows that span transactions and a gateway call (payments).

    A stored key replays its result; otherwise the flow runs and its result is
    stored under the key afterwards. The flow itself must be safe to repeat
    (gateway calls carry their own idempotency keys), since two concurrent
    requests with a new key both run it.
    """
    if key is None:
        return await run()
    _check(key)
    digest = request_hash(operation, request)
    existing = await IdempotencyRecord.get_or_none(client=key.client, key=key.key)
    if existing is not None:
        if existing.operation != operation or existing.request_hash != digest:
            raise IdempotencyKeyReused(key.key)
        return await decode(existing.result)
    result = await run()
    await IdempotencyRecord.bulk_create(
        [IdempotencyRecord(client=key.client, key=key.key, operation=operation,
                           request_hash=digest, result=encode(result))],
        ignore_conflicts=True)
    return result
