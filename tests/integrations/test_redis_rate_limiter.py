"""The Redis budgets under concurrent callers: no point lost, none counted twice."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from integrations.ratelimit.memory import InMemoryRateLimiter
from integrations.ratelimit.redis import RedisRateLimiter
from tests.conftest import REDIS_URL

needs_redis = pytest.mark.skipif(
    REDIS_URL is None, reason="needs Redis: runs in the OMS_TEST_REDIS_URL leg of .ci/run"
)


@pytest.fixture
async def redis_limiters() -> list[RedisRateLimiter]:
    assert REDIS_URL is not None
    prefix = f"test:{uuid4().hex}"
    # Several connections, as several processes would have.
    limiters = [RedisRateLimiter(REDIS_URL, prefix=prefix) for _ in range(4)]
    yield limiters  # type: ignore[misc]
    for limiter in limiters:
        await limiter.close()


async def _used(limiter: RedisRateLimiter | InMemoryRateLimiter, limit: int) -> int:
    allowed, left = await limiter.consume("client", 0, limit)
    assert allowed
    return limit - left


@needs_redis
async def test_concurrent_requests_are_served_exactly_up_to_the_budget(
    redis_limiters: list[RedisRateLimiter],
) -> None:
    # 60 requests of 30 points at once against 1000: 33 fit, and only they are counted.
    outcomes = await asyncio.gather(*(
        redis_limiters[i % 4].consume("client", 30, 1000) for i in range(60)))
    assert sum(allowed for allowed, _ in outcomes) == 33
    assert await _used(redis_limiters[0], 1000) == 990


@needs_redis
async def test_concurrent_refusal_charges_are_all_paid(
    redis_limiters: list[RedisRateLimiter],
) -> None:
    # Refused documents charged while other requests spend: each charge takes what is
    # left, so the budget ends spent rather than given back.
    async def request(i: int) -> None:
        limiter = redis_limiters[i % 4]
        await limiter.consume("client", 1, 1000)  # the point to be read
        await limiter.charge("client", 150, 1000)  # refused: charged by its size

    await asyncio.gather(*(request(i) for i in range(20)))
    assert await _used(redis_limiters[0], 1000) == 1000
    allowed, left = await redis_limiters[1].consume("client", 1, 1000)
    assert (allowed, left) == (False, 0)


@needs_redis
async def test_a_charge_under_the_budget_is_paid_in_full(
    redis_limiters: list[RedisRateLimiter],
) -> None:
    await asyncio.gather(*(redis_limiters[i % 4].charge("client", 7, 1000) for i in range(50)))
    assert await _used(redis_limiters[0], 1000) == 350


async def test_the_in_process_budget_charges_the_same_way() -> None:
    limiter = InMemoryRateLimiter()
    assert await limiter.consume("client", 900, 1000) == (True, 100)
    assert await limiter.consume("client", 150, 1000) == (False, 100)
    assert await limiter.charge("client", 150, 1000) == 0
    assert await _used(limiter, 1000) == 1000
    assert await limiter.charge("other", 7, 1000) == 993


async def _bursts(limiter: RedisRateLimiter | InMemoryRateLimiter) -> list[bool]:
    # 60 concurrent documents of 10 points, 30 of them in the burst, against 1000 a minute and
    # 100 a burst window: ten fit, and the refused ones are charged nothing.
    outcomes = await asyncio.gather(*(
        limiter.consume_within("client", 10, 1000, (30, 100) if i % 2 else (0, 100))
        for i in range(60)))
    bursting = [allowed for i, (allowed, _, _) in enumerate(outcomes) if i % 2]
    assert all(wait is None or wait > 0 for _, _, wait in outcomes)
    assert all(allowed for i, (allowed, _, _) in enumerate(outcomes) if not i % 2)
    return bursting


@needs_redis
async def test_a_burst_window_is_shared_and_a_refusal_charges_nothing(
    redis_limiters: list[RedisRateLimiter],
) -> None:
    for limiter in redis_limiters:
        limiter.burst_window = 3600  # none ends during the test
    bursting = await asyncio.gather(*(
        redis_limiters[i % 4].consume_within("client", 10, 1000, (30, 100))
        for i in range(30)))
    assert sum(allowed for allowed, _, _ in bursting) == 3  # 3 x 30 of 100
    assert await _used(redis_limiters[0], 1000) == 30  # only what was let through


async def test_the_in_process_burst_window_counts_the_same_way() -> None:
    limiter = InMemoryRateLimiter(burst_window=3600)
    assert sum(await _bursts(limiter)) == 3
    assert await _used(limiter, 1000) == 30 * 10 + 3 * 10


@needs_redis
async def test_a_burst_larger_than_a_connection_pool_is_counted_not_let_through(
    redis_limiters: list[RedisRateLimiter],
) -> None:
    # 300 requests at once in one process: they wait for a connection of the pool, rather
    # than being refused by it, which the limiter would take for Redis being away.
    outcomes = await asyncio.gather(*(
        redis_limiters[0].consume("client", 1, 200) for _ in range(300)))
    assert sum(allowed for allowed, _ in outcomes) == 200
    assert await _used(redis_limiters[1], 200) == 200
