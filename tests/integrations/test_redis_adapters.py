"""The Redis adapters against a Redis server the test owns, stopped and started again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from domain.events.ports import RESYNC
from integrations.bus.redis import RedisBus
from integrations.cache.redis import RedisAvailabilityCache
from tests.conftest import REDIS_URL
from tests.servers import RedisServer

pytestmark = pytest.mark.skipif(
    REDIS_URL is None, reason="needs Redis: runs in the OMS_TEST_REDIS_URL leg of .ci/run"
)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


async def test_the_bus_comes_back_after_a_restart_and_says_so(redis: RedisServer) -> None:
    bus = RedisBus(redis.url)
    try:
        async with bus.subscribe("t1", "t2") as live:
            await bus.publish("t1", {"n": 1})
            await bus.publish("t2", {"n": 2})
            assert [await asyncio.wait_for(anext(live), 5) for _ in range(2)] == [
                {"n": 1}, {"n": 2}]
            redis.stop()
            with pytest.raises(Exception):  # noqa: B017 - any connection error
                await bus.publish("t1", {"n": 3})
            redis.start()
            assert await asyncio.wait_for(anext(live), 20) == RESYNC
            await bus.publish("t2", {"n": 4})
            assert await asyncio.wait_for(anext(live), 5) == {"n": 4}
    finally:
        await bus.close()


async def test_a_publish_to_a_redis_that_stopped_answering_fails_and_the_bus_goes_on(
    redis: RedisServer,
) -> None:
    from redis.exceptions import RedisError

    from integrations.bus.redis import PUBLISH_TIMEOUT

    bus = RedisBus(redis.url)
    try:
        async with bus.subscribe("t1") as live:
            await bus.publish("t1", {"n": 1})
            assert await asyncio.wait_for(anext(live), 5) == {"n": 1}
            with redis.hung():
                started = asyncio.get_running_loop().time()
                # a bounded wait, not one for as long as Redis is away
                with pytest.raises(RedisError):
                    await asyncio.wait_for(bus.publish("t1", {"n": 2}), PUBLISH_TIMEOUT * 5)
                assert asyncio.get_running_loop().time() - started < PUBLISH_TIMEOUT * 3
            await bus.publish("t1", {"n": 3})
            # Redis may still carry out the PUBLISH it was sent while stopped: the relay's
            # publishes are at least once anyway
            heard = [await asyncio.wait_for(anext(live), 10)]
            if heard[-1] != {"n": 3}:
                heard.append(await asyncio.wait_for(anext(live), 10))
            assert heard in ([{"n": 3}], [{"n": 2}, {"n": 3}])
    finally:
        await bus.close()


async def test_the_cache_misses_instead_of_failing_while_redis_is_down(
    redis: RedisServer,
) -> None:
    cache = RedisAvailabilityCache(redis.url, ttl=30)
    try:
        await cache.set_many({"SKU": {"available": 3}}, "web")
        assert await cache.get_many(["SKU", "OTHER"], "web") == {"SKU": {"available": 3}}
        await cache.invalidate(["SKU"])
        assert await cache.get_many(["SKU"], "web") == {}
        redis.stop()
        assert await cache.get_many(["SKU"], "web") == {}
        await cache.set_many({"SKU": {"available": 1}}, "web")
        await cache.invalidate(["SKU"])
    finally:
        await cache.close()


async def test_a_batch_is_published_in_one_pipeline_in_order(
    redis: RedisServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender, listener = RedisBus(redis.url), RedisBus(redis.url)  # as two processes
    try:
        async def one_at_a_time(*_: object) -> None:
            raise AssertionError("a batch must not publish message by message")

        monkeypatch.setattr(sender._redis, "publish", one_at_a_time)
        async with listener.subscribe("t1", "t2") as live:
            await sender.publish_many([("t1", {"n": 1}), ("t2", {"n": 2}), ("t1", {"n": 3})])
            assert [await asyncio.wait_for(anext(live), 5) for _ in range(3)] == [
                {"n": 1}, {"n": 2}, {"n": 3}]
    finally:
        await sender.close()
        await listener.close()



async def _layered(url: str, count: int) -> list[Any]:
    from integrations.cache.layered import LocalFirstAvailabilityCache

    caches = [LocalFirstAvailabilityCache(RedisAvailabilityCache(url, ttl=30), RedisBus(url),
                                          ttl=30) for _ in range(count)]
    for cache in caches:
        await cache.start()
    return caches


async def _dropped(cache: Any, sku: str, *, within: float) -> bool:
    """Whether the process's own layer lets go of the SKU within ``within`` seconds."""
    for _ in range(int(within / 0.05)):
        if await cache.local.get_many([sku], "web") == {}:
            return True
        await asyncio.sleep(0.05)
    return await cache.local.get_many([sku], "web") == {}


async def _closed(caches: list[Any]) -> None:
    for cache in caches:
        await cache.close()
        await cache.bus.close()


async def test_a_change_in_one_process_drops_what_another_holds_in_memory(
        redis: RedisServer) -> None:
    caches = await _layered(redis.url, 2)
    one, other = caches
    try:
        await one.set_many({"SKU": {"available": 3}, "KEPT": {"available": 1}}, "web")
        assert await other.get_many(["SKU"], "web") == {"SKU": {"available": 3}}  # from Redis
        assert await other.local.get_many(["SKU"], "web") == {"SKU": {"available": 3}}
        await one.invalidate(["SKU"])
        assert await _dropped(other, "SKU", within=5)
        assert await other.get_many(["SKU", "KEPT"], "web") == {"KEPT": {"available": 1}}
    finally:
        await _closed(caches)


async def test_a_change_is_dropped_and_announced_in_one_round_trip(
        redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    caches = await _layered(redis.url, 2)
    one, other = caches
    try:
        sent: list[list[str]] = []
        real = one.shared._redis.pipeline

        def pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = real(*args, **kwargs)
            execute = pipe.execute

            async def counted(*a: Any, **k: Any) -> Any:
                sent.append([str(c[0][0]) for c in pipe.command_stack])
                return await execute(*a, **k)

            pipe.execute = counted
            return pipe

        async def alone(*_: object) -> None:
            raise AssertionError("the announcement goes with the drop, not on its own")

        monkeypatch.setattr(one.shared._redis, "pipeline", pipeline)
        monkeypatch.setattr(one.shared._redis, "delete", alone)
        monkeypatch.setattr(one.bus._redis, "publish", alone)
        await other.set_many({"SKU": {"available": 3}}, "web")
        await one.invalidate(["SKU"])
        assert sent == [["DEL", "PUBLISH"]]
        assert await one.shared.get_many(["SKU"], "web") == {}  # dropped in Redis
        assert await _dropped(other, "SKU", within=5)  # and heard by the other process
    finally:
        await _closed(caches)


async def test_a_process_whose_bus_reconnected_forgets_what_it_held(redis: RedisServer) -> None:
    caches = await _layered(redis.url, 1)
    (cache,) = caches
    try:
        await cache.set_many({"SKU": {"available": 3}}, "web")
        redis.stop()  # what it holds it answers without Redis
        assert await cache.get_many(["SKU"], "web") == {"SKU": {"available": 3}}
        redis.start()
        # changes made meanwhile were not heard: all of it is dropped
        assert await _dropped(cache, "SKU", within=20)
    finally:
        await _closed(caches)


async def test_each_process_drops_a_change_once(redis: RedisServer) -> None:
    caches = await _layered(redis.url, 2)
    one, other = caches
    dropped: dict[str, list[list[str] | None]] = {"one": [], "other": []}
    one.watch(dropped["one"].append)
    other.watch(dropped["other"].append)
    try:
        await one.invalidate(["SKU"])  # dropped here as it commits, announced to the other
        await other.invalidate(["LATER"])  # heard by the first after its own announcement
        for _ in range(100):
            if dropped["one"][-1:] == [["LATER"]] and dropped["other"][:1] == [["SKU"]]:
                break
            await asyncio.sleep(0.05)
        assert dropped == {"one": [["SKU"], ["LATER"]], "other": [["SKU"], ["LATER"]]}
    finally:
        await _closed(caches)
