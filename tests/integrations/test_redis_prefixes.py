"""The Redis adapters keep to their prefix, and workers with one prefix share sign-in delays."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest

from domain.customers.throttle import SignInThrottle, SignInThrottled
from integrations.bus.redis import RedisBus
from integrations.cache.redis import RedisAvailabilityCache
from integrations.throttle.redis import RedisFailureLog
from tests.servers import RedisServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server")


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


async def test_buses_with_different_prefixes_do_not_hear_each_other(redis: RedisServer
                                                                    ) -> None:
    ours, theirs = RedisBus(redis.url, prefix="oms:a"), RedisBus(redis.url, prefix="oms:b")
    try:
        async with ours.subscribe("order.1") as mine, theirs.subscribe("order.1") as other:
            await theirs.publish("order.1", {"shop": "b"})
            await ours.publish("order.1", {"shop": "a"})
            assert await asyncio.wait_for(anext(mine), 5) == {"shop": "a"}
            assert await asyncio.wait_for(anext(other), 5) == {"shop": "b"}
    finally:
        await ours.close()
        await theirs.close()


async def test_caches_with_different_prefixes_keep_their_own_entries(redis: RedisServer
                                                                     ) -> None:
    ours = RedisAvailabilityCache(redis.url, prefix="oms:a")
    theirs = RedisAvailabilityCache(redis.url, prefix="oms:b")
    try:
        await ours.set_many({"SKU": {"available": 3}}, "web")
        assert await theirs.get_many(["SKU"], "web") == {}
        await theirs.set_many({"SKU": {"available": 9}}, "web")
        await theirs.invalidate(["SKU"])
        assert await ours.get_many(["SKU"], "web") == {"SKU": {"available": 3}}
    finally:
        await ours.close()
        await theirs.close()


async def test_workers_sharing_redis_apply_the_same_sign_in_delays(redis: RedisServer
                                                                   ) -> None:
    now = [1_000_000.0]
    logs = [RedisFailureLog(redis.url, prefix=p) for p in ("oms:a", "oms:a", "oms:b")]
    one, two, elsewhere = (SignInThrottle(log, clock=lambda: now[0]) for log in logs)
    who = {"account": "eve@example.com", "address": "203.0.113.9"}
    try:
        for _ in range(5):
            await one.begin(**who)  # five attempts that do not succeed
        now[0] += 0.5  # checking the last password took a while: the delay runs from its end
        await one.failed(**who)
        for _ in range(3):
            with pytest.raises(SignInThrottled) as throttled:
                await two.begin(**who)  # another worker of the same deployment
            assert throttled.value.retry_after == 1.0  # refused ones count nothing
        await elsewhere.begin(**who)  # another deployment on the same Redis: no delay
        now[0] += 1
        await two.begin(**who)
        await two.succeeded(**who)  # the owner got in: every worker forgets the failures
        for _ in range(4):
            await one.begin(**who)
        await two.begin(**who)
    finally:
        for log in logs:
            await log.close()


async def test_attempts_sent_at_once_to_several_workers_get_five_tries_between_them(
    redis: RedisServer,
) -> None:
    logs = [RedisFailureLog(redis.url, prefix="oms:c") for _ in range(4)]
    workers = [SignInThrottle(log) for log in logs]

    async def attempt(n: int) -> bool:
        try:
            await workers[n % 4].begin(account="ann@example.com", address=f"192.0.2.{n}")
        except SignInThrottled:
            return False
        return True

    try:
        # From 40 addresses at once: the account's delay holds back only failing addresses,
        # so each fresh one gets its try; from one address, five in all.
        assert sum(await asyncio.gather(*(attempt(n) for n in range(40)))) == 40
        burst = [workers[n % 4].begin(account=f"u{n}@example.com", address="203.0.113.7")
                 for n in range(40)]
        outcomes = await asyncio.gather(*burst, return_exceptions=True)
        assert sum(o is None for o in outcomes) == 5
    finally:
        for log in logs:
            await log.close()
