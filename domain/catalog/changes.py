"""Recording a catalogue change: its event in the change's transaction, and the order
path's cache told in this process at once (and in the others through the event bus)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.catalog.cache import catalogue_cache
from domain.events.catalogue import CATALOG_EVENTS, CatalogChangedPayload, EventType
from domain.events.models import OutboxMessage
from domain.events.ports import catalog_topic
from domain.uow import unit_of_work

MAX_LISTED_SKUS = 1000  # a change of more SKUs than this tells caches to drop every SKU


@dataclass
class CatalogChange:
    """The transaction of one catalogue change and the events it will write."""

    conn: BaseDBAsyncClient
    actor: str | None
    events: list[CatalogChangedPayload] = field(default_factory=list)

    def record(self, type: EventType, ref: object, *, skus: Iterable[str] | None = (),
               routing: bool = False) -> None:
        if type not in CATALOG_EVENTS:
            raise TypeError(f"{type!r} is not a catalogue event")
        listed = None if skus is None else sorted(set(skus))
        if listed is not None and len(listed) > MAX_LISTED_SKUS:
            listed = None
        self.events.append(CatalogChangedPayload(
            type=type.value, ref=str(ref), skus=listed, routing=routing, actor=self.actor,
            created_at=datetime.now(UTC).isoformat()))


@asynccontextmanager
async def changing_catalogue(actor: str | None) -> AsyncIterator[CatalogChange]:
    """One transaction for a change: what ``record`` noted is written as outbox rows in it,
    and after the commit this process's cache forgets what the change touched."""
    async with unit_of_work() as conn:
        change = CatalogChange(conn, actor)
        yield change
        await OutboxMessage.bulk_create(
            [OutboxMessage(topic=catalog_topic(), payload=event.to_json())
             for event in change.events], using_db=conn)
    for event in change.events:
        catalogue_cache.forget(skus=event.skus, routing=event.routing)
