"""Live events fanned out once per process: one bus subscription per topic, one execution
per event and audience, the same text sent to every subscriber of that audience.

A websocket subscription that follows a sequence of events (an order's, a parcel's) is
handed over here once its resolver has checked who is asking. Its follower is small: where
it stands (``last``), whom to send to, and the ``Audience`` it belongs to. An audience is
every follower of a topic with the same document, variables, operation and view of the
data (``Scope.view_key``: what the read rules depend on): each live event is executed and
encoded once for it, and each of its followers gets that text with only its operation's id
(and extensions) around it. Replays, gaps and resynchronisations are read from the
database and executed per follower, as before; the live path is shared.

A follower first catches up (everything after ``after``), holding what arrives live
meanwhile; it goes live once nothing is held and nothing is missing, so no event is lost
or sent twice. A send to a client whose connection is not taking data finishes on its own
and the follower's later sends queue behind it: one slow client never holds up the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from graphql.execution import Executor, execute_subscription_event

from api.graphql.frames import text_frame
from api.observability import metrics
from domain.events.ports import RESYNC, EventBus

log = logging.getLogger(__name__)
Message = dict[str, Any]
Loader = Callable[[int, int | None], Awaitable[list[Any]]]
KEEP = 64  # recent payloads kept per audience: a burst's, for followers catching up


@dataclass(eq=False, slots=True)
class Operation:
    """The websocket operation running in this task, as the resolver may hand it over."""

    id: str
    document: str
    variables: dict[str, Any] | None
    operation_name: str | None
    send: Callable[[str], Coroutine[Any, Any, None]]  # one text frame to the client
    encode: Callable[[Any], str]
    # Writes a whole frame straight to the connection, or declines (``api.graphql.frames``)
    write: Callable[[bytes], bool] | None = None
    # What the operation's results carry beside their data (its cost), set as it starts.
    extensions: dict[str, Any] = field(default_factory=dict)
    follower: Follower | None = None  # once handed over


OPERATION: ContextVar[Operation | None] = ContextVar("live_operation", default=None)


class Audience:
    """The followers of one topic that see the same thing: one execution per event."""

    def __init__(self, key: Hashable, executor: Executor, schema: Any,
                 accepts: Callable[[Message], bool], encode: Callable[[Any], str]) -> None:
        self.key = key
        self.executor = executor
        self.schema = schema  # strawberry's: errors are logged as everywhere else
        self.accepts = accepts
        self.encode = encode
        self.followers: set[Follower] = set()
        self._recent: OrderedDict[int, tuple[Message, str]] = OrderedDict()

    async def payload(self, event: Any) -> str:
        """The event's "next" payload as JSON text, less extensions."""
        forget = getattr(self.executor.context_value, "forget_reads", None)
        if forget is not None:  # each event reads the rows as they are now
            forget()
        result = execute_subscription_event(self.executor.build_per_event_executor(event))
        if isinstance(result, Awaitable):
            result = await result
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            self.schema.process_errors(result.errors)
            payload["errors"] = [error.formatted for error in result.errors]
        return self.encode(payload)

    async def shared(self, message: Message, build: Callable[[Message], Any]) -> str:
        """A live message's payload, executed once for the whole audience."""
        number = int(message["sequence"])
        kept = self._recent.get(number)
        if kept is not None and kept[0] == message:
            return kept[1]
        text = await self.payload(build(message))
        self._recent[number] = (message, text)
        if len(self._recent) > KEEP:
            self._recent.popitem(last=False)
        return text


class Follower:
    __slots__ = ("audience", "backlog", "catching_up", "feed", "held", "last", "load",
                 "operation", "prefix", "suffix")

    def __init__(self, feed: Feed, audience: Audience, operation: Operation, *,
                 after: int, load: Loader) -> None:
        self.feed, self.audience, self.operation = feed, audience, operation
        self.last = after
        self.load = load
        self.held: list[Message] | None = []  # live messages held while catching up
        self.catching_up: asyncio.Task[None] | None = None
        self.backlog: deque[str] | None = None  # sends queued behind a slow one
        self.prefix = f'{{"id":{json.dumps(operation.id)},"type":"next","payload":'
        extensions = operation.extensions
        self.suffix = (f',"extensions":{operation.encode(extensions)}}}}}' if extensions
                       else "}}")

    def deliver(self, payload: str) -> None:
        """Send one payload (JSON text ending in "}") now, or after the sends before it:
        straight to the connection when it takes it (``api.graphql.frames``), else
        through ASGI."""
        text = self.prefix + payload[:-1] + self.suffix
        if self.backlog is not None:
            self.backlog.append(text)
            return
        write = self.operation.write
        if write is not None and write(text_frame(text.encode())):
            return
        coroutine = self.operation.send(text)
        try:
            waiting = coroutine.send(None)  # most sends finish here, never suspending
        except StopIteration:
            return
        except Exception:  # the client left: its connection's handler ends the follower
            return
        # The connection is not taking data: finish this send, then the ones after it,
        # in a task of their own (what 3.12's eagerly started tasks do).
        self.backlog = deque()
        task = asyncio.ensure_future(self._drain(coroutine, waiting))
        task.add_done_callback(_retrieved)

    async def _drain(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            await _finish(coroutine, waiting)
            while self.backlog:
                await self.operation.send(self.backlog.popleft())
        except Exception:
            pass  # the client left
        finally:
            self.backlog = None


async def _finish(coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Run a coroutine that was stepped once by hand, and suspended on ``waiting``, to its end."""
    try:
        while True:
            try:
                if waiting is None:
                    await asyncio.sleep(0)
                else:
                    await waiting
            except BaseException as error:
                waiting = coroutine.throw(error)
            else:
                waiting = coroutine.send(None)
    except StopIteration:
        return
    finally:
        coroutine.close()


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class Feed:
    """One topic's bus subscription in this process and the audiences that follow it."""

    def __init__(self, topic: str, build: Callable[[Message], Any]) -> None:
        self.topic = topic
        self.build = build  # the GraphQL object a message carries
        self.audiences: dict[Hashable, Audience] = {}
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.joining = 0  # followers waiting for the subscription to be open

    def followers(self) -> list[Follower]:
        return [f for audience in self.audiences.values() for f in audience.followers]


class LiveFeeds:
    """The process's feeds, by topic."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._feeds: dict[str, Feed] = {}
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    async def follow(self, operation: Operation, *, topic: str, view: Hashable,
                     schema: Any, context: Any, after: int, load: Loader,
                     build: Callable[[Message], Any],
                     accepts: Callable[[Message], bool]) -> None:
        """Hand the operation over: replay what it missed after ``after``, then live events.
        Returns once it is live; it ends with ``leave``."""
        feed = self._feeds.get(topic)
        if feed is None:
            feed = self._feeds[topic] = Feed(topic, build)
            feed.task = asyncio.create_task(self._listen(feed), name=f"live:{topic}")
        feed.joining += 1
        try:
            await asyncio.shield(feed.ready)  # subscribed before anything is read
            key = (operation.document, json.dumps(operation.variables, sort_keys=True,
                                                  default=str), operation.operation_name, view)
            audience = feed.audiences.get(key)
            if audience is None:
                # the schema's executor class, as every other operation runs with
                executor = schema.execution_context_class.build(
                    schema._schema, self._document(operation.document), context_value=context,
                    raw_variable_values=operation.variables,
                    operation_name=operation.operation_name)
                if isinstance(executor, list):  # strawberry checked them already
                    raise GraphQLError(str(executor[0].message))
                audience = feed.audiences[key] = Audience(key, executor, schema, accepts,
                                                          operation.encode)
        finally:
            feed.joining -= 1
            self._forget_if_unfollowed(feed)
        follower = Follower(feed, audience, operation, after=after, load=load)
        audience.followers.add(follower)
        operation.follower = follower
        metrics.SUBSCRIPTIONS.inc()
        try:
            await self._catch_up(follower)
        except BaseException:
            self.leave(follower)
            operation.follower = None  # not handed over: its stream ends as any other
            raise

    def leave(self, follower: Follower) -> None:
        """The operation ended (completed, its socket closed, its token ended)."""
        feed, audience = follower.feed, follower.audience
        if follower not in audience.followers:
            return
        audience.followers.discard(follower)
        metrics.SUBSCRIPTIONS.dec()
        if follower.catching_up is not None:
            follower.catching_up.cancel()
        if not audience.followers and feed.audiences.get(audience.key) is audience:
            del feed.audiences[audience.key]
        self._forget_if_unfollowed(feed)

    def _forget_if_unfollowed(self, feed: Feed) -> None:
        if not feed.audiences and not feed.joining and self._feeds.get(feed.topic) is feed:
            del self._feeds[feed.topic]
            if feed.task is not None:
                feed.task.cancel()

    def _document(self, text: str) -> DocumentNode:
        document = self._documents.get(text)
        if document is None:
            document = self._documents[text] = parse(text)
            if len(self._documents) > 256:
                self._documents.popitem(last=False)
        return document

    async def _listen(self, feed: Feed) -> None:
        while True:
            try:
                async with self.bus.subscribe(feed.topic) as messages:
                    if not feed.ready.done():
                        feed.ready.set_result(None)
                    async for message in messages:
                        await self._dispatch(feed, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following %s failed; following again", feed.topic)
                await asyncio.sleep(1.0)
                await self._dispatch(feed, dict(RESYNC))

    async def _dispatch(self, feed: Feed, message: Message) -> None:
        if message.get("kind") == RESYNC["kind"]:
            for follower in feed.followers():
                self._hold(follower, message)
            return
        number: int | None = None
        for audience in list(feed.audiences.values()):
            if not audience.accepts(message):
                continue  # not about what they follow, or not theirs to see
            if number is None:
                number = int(message["sequence"])
            payload = None
            for follower in list(audience.followers):
                if follower.held is not None:
                    follower.held.append(message)
                elif number <= follower.last:
                    continue  # already sent (a replay, or published twice)
                elif number > follower.last + 1:
                    self._hold(follower, message)  # a gap: read it from the database
                else:
                    if payload is None:
                        payload = await audience.shared(message, feed.build)
                    follower.deliver(payload)
                    follower.last = number

    def _hold(self, follower: Follower, message: Message) -> None:
        """Hold live messages while the follower reads what it missed from the database."""
        if follower.held is not None:
            follower.held.append(message)
            return
        follower.held = [message]
        follower.catching_up = asyncio.create_task(self._catch_up(follower),
                                                   name="live:catch-up")
        follower.catching_up.add_done_callback(_retrieved)

    async def _catch_up(self, follower: Follower) -> None:
        """Send the stored events after ``last``, then what was held, then go live."""
        audience, build = follower.audience, follower.feed.build
        try:
            while True:
                for event in await follower.load(follower.last, None):
                    follower.deliver(await audience.payload(event))
                    follower.last = event.sequence
                held = follower.held if follower.held is not None else []
                while held:
                    message = held.pop(0)
                    if message.get("kind") == RESYNC["kind"]:
                        break  # read the database again
                    number = int(message["sequence"])
                    if number <= follower.last:
                        continue
                    if number > follower.last + 1:
                        held.insert(0, message)
                        break  # missing in between: read the database again
                    follower.deliver(await audience.shared(message, build))
                    follower.last = number
                if not held:
                    follower.held = None  # nothing awaited since the check: live from here
                    return
        finally:
            follower.catching_up = None

    async def close(self) -> None:
        feeds = list(self._feeds.values())
        self._feeds.clear()
        for feed in feeds:
            if feed.task is not None:
                feed.task.cancel()
        for feed in feeds:
            if feed.task is not None:
                with suppress(asyncio.CancelledError, Exception):
                    await feed.task


def record_extensions(extensions: Mapping[str, Any]) -> None:
    """Record what the running operation's results carry beside their data (its cost): a
    live event sent to it carries them too."""
    operation = OPERATION.get()
    if operation is not None:
        operation.extensions.update(extensions)
