"""A live event's sends: a client that is not taking data holds up nobody else."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from api.graphql.live import Follower, Operation


def _follower(send: Any, id: str, extensions: dict[str, Any] | None = None) -> Follower:
    operation = Operation(id=id, document="subscription { x }", variables=None,
                          operation_name=None, send=send, encode=json.dumps,
                          extensions=extensions or {})
    return Follower(cast(Any, None), cast(Any, None), operation, after=0,
                    load=cast(Any, None))


async def test_a_stalled_client_gets_its_events_in_order_once_it_takes_data_again() -> None:
    taking = asyncio.Event()
    stalled: list[str] = []
    others: list[str] = []

    async def slow(text: str) -> None:
        await taking.wait()  # as uvicorn's send waits while the socket's buffer is full
        stalled.append(text)

    async def fast(text: str) -> None:
        others.append(text)

    slow_one, fast_one = _follower(slow, "s"), _follower(fast, "f")
    for n in (1, 2, 3):
        slow_one.deliver(json.dumps({"data": {"n": n}}))
        fast_one.deliver(json.dumps({"data": {"n": n}}))
    # the others got every event at once, without waiting for the stalled client
    assert [json.loads(t)["payload"]["data"]["n"] for t in others] == [1, 2, 3]
    assert all(json.loads(t)["id"] == "f" for t in others)
    assert stalled == []
    taking.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert [json.loads(t)["payload"]["data"]["n"] for t in stalled] == [1, 2, 3]
    assert slow_one.backlog is None  # back to sending at once
    slow_one.deliver(json.dumps({"data": {"n": 4}}))
    assert json.loads(stalled[-1])["payload"]["data"]["n"] == 4


async def test_a_live_payload_carries_the_operations_own_extensions() -> None:
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    follower = _follower(send, "7", {"cost": {"actual": 3}})
    follower.deliver('{"data":{"n":1}}')
    assert json.loads(sent[0]) == {"id": "7", "type": "next", "payload": {
        "data": {"n": 1}, "extensions": {"cost": {"actual": 3}}}}
