"""Password hashing runs off the event loop, a few at a time."""

from __future__ import annotations

import asyncio
import threading

from domain.secrets import SecretHasher, secret_matches


async def test_the_event_loop_keeps_turning_while_a_password_is_hashed() -> None:
    hasher = SecretHasher(1)
    hashing = asyncio.create_task(hasher.hash("correct horse battery"))
    turns = 0
    while not hashing.done():
        await asyncio.sleep(0)
        turns += 1
    assert turns > 10  # argon2 takes tens of milliseconds; the loop ran all along
    assert secret_matches("correct horse battery", hashing.result())
    assert await hasher.matches("correct horse battery", hashing.result())
    assert not await hasher.matches("wrong horse battery", hashing.result())


async def test_no_more_than_the_concurrency_hash_at_once() -> None:
    hasher = SecretHasher(2)
    entered = threading.Semaphore(0)
    release = threading.Event()

    def work() -> int:
        entered.release()
        release.wait(10)
        return 1

    tasks = [asyncio.create_task(hasher.run(work)) for _ in range(4)]
    for _ in range(2):
        assert await asyncio.to_thread(entered.acquire, timeout=10)
    assert not await asyncio.to_thread(entered.acquire, timeout=0.3)  # the other two wait
    release.set()
    assert sum(await asyncio.gather(*tasks)) == 4
