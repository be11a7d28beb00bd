"""The app factory: the one place where settings become a wired application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from api import database
from api.graphql.schema import build_schema
from api.graphql.view import GraphQLView
from api.settings import Settings
from domain.events.ports import EventBus
from domain.events.relay import OutboxRelay
from integrations.bus.memory import InMemoryBus
from integrations.bus.redis import RedisBus

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the running app holds: the bus and the relay feeding it."""

    bus: EventBus
    relay: OutboxRelay


def make_bus(settings: Settings) -> EventBus:
    return RedisBus(settings.redis_url) if settings.redis_url else InMemoryBus()


def create_app(settings: Settings | None = None, *, migrate: bool | None = None) -> Starlette:
    """Build the ASGI app. ``migrate`` defaults to True on the embedded SQLite database."""
    settings = settings or Settings.from_env()
    run_migrations = settings.is_sqlite if migrate is None else migrate

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_migrations:
            await database.migrate(settings)
        await database.connect(settings)
        bus = make_bus(settings)
        relay = OutboxRelay(bus, interval=settings.relay_interval)
        relay.start()
        app.state.services = Services(bus=bus, relay=relay)
        try:
            yield
        finally:
            await relay.stop()
            await bus.close()
            await database.close()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await database.ping()
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable: {error}"
        if settings.redis_url:
            try:
                await request.app.state.services.bus.ping()
                checks["redis"] = "ok"
            except Exception as error:
                checks["redis"] = f"unreachable: {error}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    view = GraphQLView(build_schema(settings), settings)
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
