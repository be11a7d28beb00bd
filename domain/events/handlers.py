"""What follows a published event: handlers registered against event types at start-up.

The relay hands every batch it publishes to one :class:`HandlerRegistry`:

- ``in_transaction`` handlers run in the transaction that marks the rows published, so
  what they write (webhook deliveries, owed notifications, marketplace listings to push)
  exists exactly once: both or neither. They add their writes to the pass's ``Writes``,
  sent together (one statement on PostgreSQL) before that commit;
- the others run after that commit (cache invalidation, marketplace pushes, wake-ups).

Each handler sees only the messages of the event types it registered for, in order.
Adding a handler is one ``register`` call where the registry is built (api/handlers.py);
no flow that emits events changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.db import Writes
from domain.events.catalogue import EventType, event_type_of
from domain.events.models import OutboxMessage

Batch = list[OutboxMessage]
AfterHandler = Callable[[Batch], Awaitable[object]]
RecordHandler = Callable[[BaseDBAsyncClient, Batch, Writes], Awaitable[object]]


@dataclass(frozen=True)
class _Entry:
    name: str
    types: frozenset[EventType] | None  # None: every message, uncatalogued ones included
    after: AfterHandler | None = None
    record: RecordHandler | None = None


class HandlerRegistry:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def register(self, name: str, handler: AfterHandler,
                 types: Iterable[EventType] | None = None) -> None:
        """Call ``handler`` after commit with the published messages of ``types`` (None:
        every message)."""
        self._entries.append(_Entry(name, self._types(types), after=handler))

    def register_in_transaction(self, name: str, handler: RecordHandler,
                                types: Iterable[EventType] | None = None) -> None:
        """Call ``handler`` in the transaction that marks the messages of ``types`` (None:
        every message) published, with the ``Writes`` that pass sends before its commit."""
        self._entries.append(_Entry(name, self._types(types), record=handler))

    @staticmethod
    def _types(types: Iterable[EventType] | None) -> frozenset[EventType] | None:
        if types is None:
            return None
        chosen = frozenset(types)
        if not chosen:
            raise ValueError("A handler listens to at least one event type")
        return chosen

    def handlers(self) -> list[tuple[str, frozenset[EventType], bool]]:
        """(name, event types, runs in the transaction) of every handler, in order."""
        return [(e.name, frozenset(EventType) if e.types is None else e.types,
                 e.record is not None) for e in self._entries]

    @staticmethod
    def _matching(entry: _Entry, published: Batch) -> Batch:
        if entry.types is None:
            return published
        return [m for m in published if event_type_of(m.payload) in entry.types]

    async def record(self, conn: BaseDBAsyncClient, published: Batch, writes: Writes) -> None:
        for entry in self._entries:
            if entry.record is not None and (mine := self._matching(entry, published)):
                await entry.record(conn, mine, writes)

    async def after_publish(self, published: Batch) -> None:
        for entry in self._entries:
            if entry.after is not None and (mine := self._matching(entry, published)):
                await entry.after(mine)
