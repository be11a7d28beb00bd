"""Every Redis client of the process is made here, on a pool that waits for a connection.

redis-py's own pool holds at most 100 connections and refuses the next command at once
("Too many connections") rather than waiting for one to be free. Under a burst of more than
100 concurrent requests in one process, the cache, the bus and the throttles then failed,
and the rate limiter, which lets a request through when Redis cannot answer, let the
burst through unlimited. Commands here wait (up to their socket timeout) for one of
``POOL_SIZE`` connections instead: a burst queues, and only a Redis that is really away
counts as unavailable.
"""

from __future__ import annotations

from redis import asyncio as aioredis

POOL_SIZE = 50  # connections per client and process; Redis answers one command at a time


def redis_client(url: str, *, decode_responses: bool = False,
                 socket_timeout: float | None = 1.0,
                 socket_connect_timeout: float = 1.0) -> aioredis.Redis:
    """A client whose commands wait for a free connection, at most ``socket_timeout``
    seconds (or the connect timeout when commands have none)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=socket_timeout or socket_connect_timeout,
        decode_responses=decode_responses, socket_timeout=socket_timeout,
        socket_connect_timeout=socket_connect_timeout)
    return aioredis.Redis.from_pool(pool)
