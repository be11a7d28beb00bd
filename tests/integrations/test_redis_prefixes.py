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
            await one.check(**who)
            await one.failed(**who)
        with pytest.raises(SignInThrottled) as throttled:
            await two.check(**who)  # another worker of the same deployment
        assert throttled.value.retry_after == 1.0
        await elsewhere.check(**who)  # another deployment on the same Redis: no delay
        now[0] += 1
        await two.check(**who)
        await two.succeeded(**who)  # the owner got in: every worker forgets the failures
        for _ in range(4):
            await one.failed(**who)
        await two.check(**who)
    finally:
        for log in logs:
            await log.close()
