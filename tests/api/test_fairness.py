"""Public callers take turns: a burst from one address waits for its own slots and never
holds up another caller; past a short queue it is told to slow down."""

from __future__ import annotations

import asyncio

import pytest

from api.auth import ADMIN, customer_principal
from api.fairness import Busy, FairTurns, turn_key


async def test_a_burst_waits_its_turn_and_others_go_at_once() -> None:
    turns = FairTurns(per_caller=2, queue=1)
    release = asyncio.Event()
    running: list[str] = []

    async def request(key: str, name: str) -> None:
        async with turns.turn(key):
            running.append(name)
            await release.wait()

    burst = [asyncio.create_task(request("address:10.0.0.9", f"b{i}")) for i in range(3)]
    other = asyncio.create_task(request("address:10.0.0.7", "other"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(running) == ["b0", "b1", "other"]  # b2 waits; the other caller did not
    with pytest.raises(Busy):
        async with turns.turn("address:10.0.0.9"):
            pass  # a fourth is past the queue
    release.set()
    await asyncio.gather(*burst, other)
    assert sorted(running) == ["b0", "b1", "b2", "other"]
    assert turns._lines == {}  # nothing kept for callers that left


def test_who_takes_turns() -> None:
    assert turn_key(None, "10.0.0.9") == "address:10.0.0.9"
    assert turn_key(customer_principal(7), "10.0.0.9") == "customer:7"
    assert turn_key(ADMIN, "10.0.0.9") is None  # staff and partners are budgeted by points
