"""A websocket session lasts as long as the token that opened it.

The connection is closed with code 4401 ("Unauthorized" in graphql-transport-ws, the
code a client answers by authenticating again) when the token expires, timed to its
``exp``, and when it is revoked: a partner's client revoked (``oms client revoke`` or
``oauthClientRevoke``), or a customer's sessions revoked (a refresh token replayed), or a staff session
revoked (signed out, ended by a manager, the member deactivated or reset).
Revocation is looked up every ``OMS_SESSION_CHECK_INTERVAL`` seconds, so it is noticed
within that bound, from whichever process or command revoked it.

One task per process watches every session (``SessionWatch``): it wakes at the next
expiry, and every interval it looks up revocation for all the sessions at once, one query
per kind of token (staff sessions, partner clients, customers), however many connections
are open. A connection costs the watch one small entry, not a task of its own and a query
every interval (10,000 customers following their parcels were 333 queries a second).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from api.auth import Principal
from domain.customers.accounts import revoked_sessions
from domain.partners.service import active_clients
from domain.staff.sessions import open_sessions_among

CLOSE_CODE = 4401
CHUNK = 1000  # ids per look-up
log = logging.getLogger(__name__)
Ended = Callable[[str], Coroutine[Any, Any, None]]  # told why: "Token expired", "Token revoked"
T = TypeVar("T")


def watched(principal: Principal | None) -> bool:
    """Whether the session can end by itself (tokens do; the static admin token does not)."""
    return principal is not None and principal.expires_at is not None


@dataclass(eq=False, slots=True)
class _Session:
    principal: Principal | None  # None once over: a stale heap entry holds nothing
    end: Ended | None
    context: contextvars.Context | None  # its connection's: ``end`` runs in it


async def _in_chunks(look_up: Callable[[list[T]], Awaitable[set[Any]]],
                     keys: Iterable[T]) -> set[Any]:
    found: set[Any] = set()
    wanted = list(keys)
    for start in range(0, len(wanted), CHUNK):
        found |= await look_up(wanted[start:start + CHUNK])
    return found


async def _revoked(sessions: list[_Session]) -> list[_Session]:
    """The sessions whose token was revoked: one look-up per kind of token (per ``CHUNK``)."""
    staff: dict[_Session, int] = {}
    partners: dict[_Session, str] = {}
    customers: dict[_Session, tuple[int, float]] = {}
    for session in sessions:
        p = session.principal
        if p is None:
            continue
        if p.session_id is not None:  # a staff session: revoked, or its member deactivated
            staff[session] = p.session_id
        elif p.partner_id is not None:
            partners[session] = p.partner_id
        elif p.customer_id is not None and p.issued_at is not None:
            customers[session] = (p.customer_id, p.issued_at)
    open_staff = await _in_chunks(open_sessions_among, set(staff.values()))
    active = await _in_chunks(active_clients, set(partners.values()))
    gone = await _in_chunks(revoked_sessions, set(customers.values()))
    return ([s for s, key in staff.items() if key not in open_staff]
            + [s for s, key in partners.items() if key not in active]
            + [s for s, key in customers.items() if key in gone])


class SessionWatch:
    """Every websocket session of the process whose token can end, watched by one task."""

    def __init__(self, *, check_every: float) -> None:
        self.check_every = check_every
        self._sessions: set[_Session] = set()
        self._expiries: list[tuple[float, int, _Session]] = []  # a heap, with stale entries
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._plan = math.inf  # when the task wakes next
        self._task: asyncio.Task[None] | None = None
        self._checking: asyncio.Task[None] | None = None
        self._ending: set[asyncio.Task[None]] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._sessions)

    def watch(self, principal: Principal, end: Ended) -> Callable[[], None]:
        """Call ``end(reason)`` once, in a task of its own, when the principal's token has
        expired or been revoked. The function returned stops watching (the connection
        ended first)."""
        expires_at = principal.expires_at
        assert expires_at is not None, "the static admin token does not end"
        session = _Session(principal, end, contextvars.copy_context())
        self._sessions.add(session)
        heapq.heappush(self._expiries, (expires_at, next(self._order), session))
        if self._task is None or self._task.done():
            self._start()
        elif expires_at < self._plan:
            self._wake.set()
        return lambda: self._forget(session)

    def _start(self) -> None:
        """The watch's task, in a context of its own (not the connection's that started
        it), with an event of the running loop."""
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="ws-sessions",
                                         context=contextvars.Context())
        self._task.add_done_callback(self._stopped)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if self._closed or task.cancelled():
            return
        log.error("the websocket session watch stopped; starting it again",
                  exc_info=task.exception())
        asyncio.get_running_loop().call_later(1.0, self._restart)

    def _restart(self) -> None:
        if not self._closed and (self._task is None or self._task.done()):
            self._start()

    def _forget(self, session: _Session) -> None:
        self._sessions.discard(session)
        session.principal = session.end = session.context = None
        if len(self._expiries) > 2 * len(self._sessions) + 64:  # mostly stale: compact
            self._expiries = [e for e in self._expiries if e[2].end is not None]
            heapq.heapify(self._expiries)

    def _end(self, session: _Session, reason: str) -> None:
        end, context = session.end, session.context
        self._forget(session)
        if end is None:
            return
        task = asyncio.create_task(end(reason), name="ws-session-end", context=context)
        self._ending.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._ending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("ending a websocket session failed", exc_info=task.exception())

    async def _run(self) -> None:
        next_check = time.time() + self.check_every
        while True:
            now = time.time()
            while self._expiries and self._expiries[0][0] <= now:
                _, _, session = heapq.heappop(self._expiries)
                self._end(session, "Token expired")
            if now >= next_check:
                # beside this loop: a slow database holds up no expiry
                if self._checking is None or self._checking.done():
                    self._checking = asyncio.create_task(self._check(), name="ws-sessions-check")
                next_check = now + self.check_every
            nearest = self._expiries[0][0] if self._expiries else math.inf
            self._plan = min(nearest, next_check)
            self._wake.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, self._plan - time.time())):
                    await self._wake.wait()

    async def _check(self) -> None:
        sessions = list(self._sessions)
        if not sessions:
            return
        try:
            revoked = await _revoked(sessions)
        except Exception:  # the database is away: ask again next time; exp still holds
            log.warning("could not check whether %d websocket session(s) were revoked",
                        len(sessions), exc_info=True)
            return
        for session in revoked:
            self._end(session, "Token revoked")

    async def close(self) -> None:
        self._closed = True
        for task in (self._task, self._checking):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
