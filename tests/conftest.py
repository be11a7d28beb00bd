"""Wiring: one app per session on SQLite, or on PostgreSQL and Redis when configured."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from graphlib import TopologicalSorter
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest
from tortoise import Tortoise, connections

from api.app import create_app
from api.graphql.cost import Limits
from api.settings import Settings
from domain.catalog.cache import catalogue_cache
from domain.customers.throttle import SignInThrottle
from domain.risk.settings import RiskSettings
from domain.secrets import HashCost
from domain.settings_cache import clear_all as clear_settings_caches
from integrations.ratelimit.memory import InMemoryRateLimiter
from integrations.ratelimit.redis import RedisRateLimiter
from integrations.ratelimit.spent import BURST_WINDOW
from integrations.throttle.memory import InMemoryFailureLog
from tests.support import ADMIN_TOKEN, ALLOWED_ORIGIN, GraphQLClient, Inbox

DATABASE_URL = os.environ.get("OMS_TEST_DATABASE_URL") or None
REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL") or None
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHEAP_HASH = HashCost(memory_kib=8, time_cost=1, parallelism=1)


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=2):
            return True
    except OSError:
        return False


def _require(url: str | None, name: str, port: int) -> None:
    """A configured service must answer: fail in CI, skip with the reason elsewhere."""
    if url is None or _reachable(url, port):
        return
    message = f"{name} at {url} is unreachable"
    if IN_CI:
        pytest.fail(message + " (CI needs it)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    _require(DATABASE_URL, "PostgreSQL", 5432)
    _require(REDIS_URL, "Redis", 6379)
    var_dir = tmp_path_factory.mktemp("var")
    return Settings(
        var_dir=var_dir,
        database_url=DATABASE_URL or f"sqlite://{var_dir / 'test.sqlite3'}",
        redis_url=REDIS_URL,
        admin_token=ADMIN_TOKEN,
        relay_interval=0.2,
        summary_refresh_interval=0,  # in the background it would race the tables' truncation
        rate_limit_points=10**9,  # tests about budgets set their own
        public_rate_limit_points=10**9,
        # Budgets of their own: the servers that tests start share this Redis, not its spend.
        rate_limit_prefix=f"oms-test-{os.getpid()}:rate",
        session_check_interval=0.2,  # revoked tokens' websockets close within this
        allowed_origins=(ALLOWED_ORIGIN,),
        # Tests of other features place many orders to one address within minutes, which the
        # risk rules would hold; the fixture `risk_screening` turns on the product's defaults.
        risk_screening=False,
        # Passwords are hashed at the least cost argon2 allows: tests sign in hundreds of
        # times, and tests/domain/test_secret_hashing.py checks the product's own cost.
        password_hash=CHEAP_HASH,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings, migrate=True)
    async with application.router.lifespan_context(application):
        yield application


# Not test data: the deployment's id and the signing keys outlive the data, as they do in
# production, and the servers tests start must agree on them.
_KEPT = ("deployment", "signing_key")
_pg_cleanup: str | None = None  # the statements emptying the tables, worked out once


async def _pg_cleanup_script(conn: Any, tables: list[str]) -> str:
    """DELETE from every table, referencing tables before the tables they reference, then
    sequences back to 1 (as TRUNCATE ... RESTART IDENTITY would): a test leaves a few rows in
    a few tables, and deleting them takes milliseconds where truncating ~60 tables, each
    given new files, takes most of a second."""
    _, references = await conn.execute_query(
        "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent "
        "FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid")
    order = TopologicalSorter({table: set() for table in tables})
    for row in references:
        if row["child"] in tables and row["parent"] in tables:
            order.add(row["parent"], row["child"])  # the parent's rows go after the child's
    # The outbox first: a relay's transaction locks its rows first too, so the cleanup
    # waits for a running pass instead of deadlocking with it over the tables that pass reads.
    # The report notes last: the triggers note the deleted orders' slots in report_dirty,
    # and copy those (and note parcels and customers) in summary_dirty.
    noted = ("report_dirty", "summary_dirty")
    ordered = sorted(order.static_order(), key=lambda t: (t != "outbox_message") + (
        1 + noted.index(t) if t in noted else 0))
    _, sequences = await conn.execute_query(
        "SELECT DISTINCT s.oid::regclass::text AS name FROM pg_class s "
        "JOIN pg_depend d ON d.objid = s.oid JOIN pg_class t ON t.oid = d.refobjid "
        "WHERE s.relkind = 'S' AND t.relname = ANY($1::text[])", [tables])
    restart = ", ".join(f"('{row['name']}')" for row in sequences)
    # Every table locked first: a transaction of a loop still running from the test before
    # (an insert not yet committed) is waited for, and its rows deleted with the rest;
    # otherwise they would outlive the cleanup, beside sequences set back to 1, and the next
    # test's first insert would meet a duplicate key.
    locks = ", ".join(f'"{table}"' for table in ordered)
    return (f"SET LOCAL lock_timeout = '5s'; LOCK TABLE {locks} IN ACCESS EXCLUSIVE MODE;"
            + "".join(f'DELETE FROM "{table}";' for table in ordered)
            + (f"SELECT setval(s::regclass, 1, false) FROM (VALUES {restart}) AS v(s);"
               if restart else ""))


async def _truncate() -> None:
    global _pg_cleanup
    conn = connections.get("default")
    tables = [model._meta.db_table for model in Tortoise.apps["oms"].values()  # type: ignore[index]
              if model._meta.db_table not in _KEPT]
    if conn.capabilities.dialect == "postgres":
        if _pg_cleanup is None:
            _pg_cleanup = await _pg_cleanup_script(conn, tables)
        # A background pass locking rows in another order can still meet it in a deadlock (or
        # hold a lock past the timeout); PostgreSQL then cancels one side, and the cleanup
        # (one transaction) is tried again.
        for attempt in range(5):
            try:
                await conn.execute_script(_pg_cleanup)
                break
            except Exception as error:
                if not any(word in str(error).lower() for word in ("deadlock", "lock timeout")
                           ) or attempt == 4:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys = OFF;"
            + "".join(f"DELETE FROM {t};" for t in tables)
            + "DELETE FROM sqlite_sequence; PRAGMA foreign_keys = ON;"
        )


@pytest.fixture
async def db(app: object) -> AsyncIterator[None]:
    """A clean database for each test (and no catalogue or risk settings remembered from an
    earlier one)."""
    await _truncate()
    catalogue_cache.clear()
    clear_settings_caches()
    yield


@pytest.fixture
async def api(app: object, db: None, fresh_budgets: None) -> AsyncIterator[GraphQLClient]:
    # Every test starts with its own budgets: refused documents are charged by their size.
    app.state.services.login_throttle = SignInThrottle(  # type: ignore[attr-defined]
        InMemoryFailureLog())
    inbox = app.state.services.mailer = Inbox()  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as http:
        yield GraphQLClient(http, inbox)


@pytest.fixture
def uncosted(app: Any) -> Iterator[None]:
    """No cost limit: for tests about something else (access, statements, other limits)
    whose documents reach further than one document may cost."""
    services = app.state.services
    original = services.limits
    services.limits = replace(original, max_cost=10**9)
    yield
    services.limits = original


@pytest.fixture
async def local_relay_stopped(app: Any) -> AsyncIterator[None]:
    """Servers a test starts on the shared database relay its outbox: the test's own app,
    whose relay publishes to the session's Redis, must not take their rows."""
    services = app.state.services
    await services.relay.stop()
    yield
    services.relay.start()


@pytest.fixture
def is_postgres() -> bool:
    return DATABASE_URL is not None


@pytest.fixture
def needs_postgres() -> None:
    if DATABASE_URL is None:
        pytest.skip("needs PostgreSQL: runs in the OMS_TEST_DATABASE_URL leg of .ci/run")


@asynccontextmanager
async def budgets_of_their_own(app: Any, **options: Any) -> AsyncIterator[None]:
    """The app's rate limiter replaced by a fresh one of the same kind (``options`` passed
    to it) for the block."""
    services = app.state.services
    original = services.rate_limiter
    # Budgets are counted per minute and bursts per ten seconds of the wall clock: a test
    # that counts what a budget allows starts with a couple of seconds of both left.
    if time.time() % BURST_WINDOW > BURST_WINDOW - 2:
        await asyncio.sleep(BURST_WINDOW - time.time() % BURST_WINDOW + 0.05)
    fresh: Any
    if isinstance(original, RedisRateLimiter):
        fresh = RedisRateLimiter(original.url, prefix=f"test:{uuid4().hex}", **options)
    else:
        fresh = InMemoryRateLimiter(**options)
    services.rate_limiter = fresh
    try:
        yield
    finally:
        services.rate_limiter = original
        if isinstance(fresh, RedisRateLimiter):
            await fresh.close()


@pytest.fixture
async def fresh_budgets(app: Any) -> AsyncIterator[None]:
    """Budgets no earlier test has touched, in the same kind of store."""
    async with budgets_of_their_own(app):
        yield


@pytest.fixture
def limits(app: Any, fresh_budgets: None) -> Iterator[Limits]:
    services = app.state.services
    original = services.limits
    services.limits = Limits(max_cost=100, budget=200)
    yield services.limits
    services.limits = original


@pytest.fixture
def risk_screening(app: Any) -> Iterator[None]:
    """Orders are screened with the product's default risk settings (velocity, value,
    countries, block lists), as in a deployment that sets nothing."""
    services = app.state.services
    original = services.deps
    services.deps = replace(original, risk=RiskSettings())
    yield
    services.deps = original
