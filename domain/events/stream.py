"""Replay, then live: a subscriber gets every event after ``after`` once, in order.

The bus subscription is opened before the stored events are read, so an
event committed while the subscriber is being set up is either in the
replay or arrives live; whichever comes second is recognised by its
sequence and skipped. A live event that skips ahead (relays publishing out
of order) is filled in from the database first, and so is everything after
the last one seen when the bus says messages may have been lost (``RESYNC``).
A message that is not about what the subscriber asked for (``accepts``) is dropped,
whatever topic it came on: the topic routes, it does not vouch for the content.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from domain.events.ports import RESYNC, EventBus

log = logging.getLogger(__name__)
T = TypeVar("T")
Loader = Callable[[int, int | None], Awaitable[list[T]]]


async def replay_then_live(
    bus: EventBus, topic: str, *, after: int, load: Loader[T],
    sequence: Callable[[T], int], from_message: Callable[[dict[str, Any]], T],
    accepts: Callable[[dict[str, Any]], bool],
) -> AsyncIterator[T]:
    """``load(after, upto)`` reads stored events with after < sequence <= upto (None: no end)."""
    async with bus.subscribe(topic) as live:
        last = after
        for item in await load(last, None):
            yield item
            last = sequence(item)
        async for message in live:
            if message.get("kind") == RESYNC["kind"]:
                for item in await load(last, None):
                    yield item
                    last = sequence(item)
                continue
            if not accepts(message):
                continue
            number = int(message["sequence"])
            if number <= last:
                continue
            if number > last + 1:
                for item in await load(last, number - 1):
                    yield item
                    last = sequence(item)
            yield from_message(message)
            last = number


class Follower(Protocol):
    """A process's cache of what other processes change, told of it on a bus topic."""

    def apply(self, message: Mapping[str, Any]) -> None: ...
    def clear(self) -> None: ...


async def follow(bus: EventBus, topic: str, cache: Follower, *,
                 ready: asyncio.Event | None = None) -> None:
    """Tell ``cache`` of every message on ``topic``, until cancelled. Whatever happened while
    not listening is forgotten on (re)subscribing: the cache is cleared, so a Redis that
    went away and came back never leaves a process with what it missed."""
    while True:
        try:
            async with bus.subscribe(topic) as messages:
                cache.clear()
                if ready is not None:
                    ready.set()
                async for message in messages:
                    cache.apply(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("listening on %s failed; listening again", topic)
            cache.clear()
            await asyncio.sleep(1.0)
