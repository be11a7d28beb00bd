"""Running a service call at most once per client and idempotency key (DESIGN rule 5)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain import validation as v
from domain.errors import IdempotencyKeyReused, InvalidInput
from domain.idempotency.models import IdempotencyRecord
from domain.uow import unit_of_work

T = TypeVar("T")


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
    stores nothing, so it can be retried with the same key.
    """
    if key is None:
        async with unit_of_work() as conn:
            return await run(conn)
    _check(key)
    digest = request_hash(operation, request)
    for _ in range(3):
        existing = await IdempotencyRecord.get_or_none(client=key.client, key=key.key)
        if existing is not None:
            if existing.operation != operation or existing.request_hash != digest:
                raise IdempotencyKeyReused(key.key)
            return await decode(existing.result)
        try:
            async with unit_of_work() as conn:
                try:
                    record = await IdempotencyRecord.create(
                        client=key.client, key=key.key, operation=operation,
                        request_hash=digest, result={}, using_db=conn,
                    )
                except IntegrityError:
                    raise _KeyTaken() from None
                result = await run(conn)
                record.result = encode(result)
                await record.save(update_fields=["result"], using_db=conn)
                return result
        except _KeyTaken:
            continue
    raise IdempotencyKeyReused(key.key)


class _KeyTaken(Exception):
    """A concurrent request claimed the key first; read its result instead."""


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
