"""The app factory: the one place where settings become a wired application."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from api import database
from api.catalog_files import export_file, import_file
from api.cors import cors
from api.fairness import FairTurns
from api.graphiql import assets
from api.graphql.answers import AvailabilityAnswers
from api.graphql.cost import Limits, public_budget
from api.graphql.frames import FrameWriters
from api.graphql.live import LiveFeeds
from api.graphql.schema import build_schema
from api.graphql.view import GraphQLView
from api.handlers import build_handlers
from api.invoices_pdf import invoice_pdf
from api.oauth import StarletteAuthorizationServer
from api.observability import logs, metrics
from api.observability.middleware import RequestMiddleware
from api.reports_csv import fulfillment_csv, inventory_csv, returns_csv, sales_csv
from api.sessions import SessionWatch
from api.settings import Settings, risk_defaults
from api.tokens import TokenService
from api.webhooks import carrier_webhook, marketplace_webhook, payment_webhook
from domain import addresses
from domain.application import Deps
from domain.application import inbound as inbound_flows
from domain.background import Periodic
from domain.catalog.cache import catalogue_cache
from domain.catalog.cache import follow as follow_catalogue
from domain.customers.throttle import SignInThrottle
from domain.deployment import deployment_key
from domain.events.ports import EventBus
from domain.events.relay import OutboxRelay
from domain.events.service import on_commit
from domain.fulfillment.ports import Carrier
from domain.inventory.ports import AvailabilityCache
from domain.marketplaces.models import MarketplaceConnection
from domain.marketplaces.sync import (
    push_dirty,
    push_fulfillments,
)
from domain.messaging.ports import EmailTransport, Mailer
from domain.notifications.service import NotificationConfig, Notifier
from domain.orders.late import flag_late_orders
from domain.payments.flows import CapturePolicy
from domain.payments.ports import PaymentGateway
from domain.payments.service import retry_pending
from domain.reports.summaries import refresh_all as refresh_summaries
from domain.secrets import SecretHasher
from domain.secrets import configure as configure_hashing
from domain.settings_cache import configure_all as configure_settings_caches
from domain.settings_cache import follow as follow_settings
from domain.webhooks.service import RetryPolicy
from domain.webhooks.targets import UrlPolicy
from domain.webhooks.worker import DeliveryWorker
from integrations.bus.memory import InMemoryBus
from integrations.bus.redis import RedisBus
from integrations.cache.layered import LocalFirstAvailabilityCache
from integrations.cache.memory import InMemoryAvailabilityCache
from integrations.cache.redis import RedisAvailabilityCache
from integrations.carriers.builtin import BuiltinCarrier
from integrations.carriers.easypost import EasyPostCarrier
from integrations.carriers.kuaidi100 import Kuaidi100Carrier
from integrations.email.log import LogMailer
from integrations.email.smtp import SmtpMailer
from integrations.marketplaces.amazon import AmazonOrders, AmazonSeller
from integrations.marketplaces.shopify import ShopifyInventory, ShopifyMarketplace
from integrations.payments.manual import ManualGateway
from integrations.payments.marketplace import MarketplaceGateway
from integrations.payments.stripe import StripeGateway
from integrations.ratelimit.memory import InMemoryRateLimiter
from integrations.ratelimit.redis import RedisRateLimiter
from integrations.sms.twilio import TwilioSms
from integrations.throttle.memory import InMemoryFailureLog
from integrations.throttle.redis import RedisFailureLog
from integrations.webhooks.http import HttpWebhookSender
from integrations.webhooks.resolver import SystemResolver

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the running app holds: the bus, the relay feeding it, the cache and carriers."""

    bus: EventBus
    relay: OutboxRelay
    cache: AvailabilityCache | None
    carriers: dict[str, Carrier]
    gateways: dict[str, PaymentGateway]
    deps: Deps  # the use cases' dependencies (domain/application), built once at start-up
    unregister: Callable[[], None] = lambda: None
    # The catalogue's and the risk settings' caches dropping what other processes change.
    followers: tuple[asyncio.Task[None], ...] = ()
    sweeper: Periodic | None = None
    login_throttle: SignInThrottle = field(
        default_factory=lambda: SignInThrottle(InMemoryFailureLog()))
    trusted_proxies: tuple[Any, ...] = ()  # whose forwarded headers are believed
    webhooks: DeliveryWorker | None = None
    webhook_urls: UrlPolicy = field(default_factory=lambda: UrlPolicy(SystemResolver()))
    rate_limiter: Any = None
    limits: Limits = field(default_factory=lambda: Limits(
        max_cost=Settings.max_query_cost, budget=Settings.rate_limit_points))
    hasher: SecretHasher = field(default_factory=SecretHasher)
    turns: FairTurns = field(default_factory=FairTurns)
    marketplaces: dict[str, Any] = field(
        default_factory=lambda: {"shopify": ShopifyMarketplace()})
    marketplace_sync: Periodic | None = None
    amazon_poll: Periodic | None = None
    summaries: Periodic | None = None
    pushers: dict[str, Any] = field(default_factory=dict)
    mailer: Mailer = field(default_factory=LogMailer)
    notifier: Notifier | None = None
    late_shipments: Periodic | None = None
    # Availability answers kept per SKU, dropped with the cache's entries in this process.
    answers: AvailabilityAnswers | None = None
    live: LiveFeeds | None = None  # the websocket subscriptions' feeds, one per topic
    # Every websocket session whose token can end, watched by one task
    sessions: SessionWatch = field(default_factory=lambda: SessionWatch(
        check_every=Settings.session_check_interval))


def make_pushers() -> dict[str, Any]:
    """Each marketplace's stock and fulfilment pusher, by provider."""
    return {"shopify": ShopifyInventory(), "amazon": AmazonSeller()}


def make_carriers(settings: Settings) -> dict[str, Carrier]:
    builtin = BuiltinCarrier(rates=settings.shipping_rates,
                             delivery_days=settings.shipping_promises,
                             webhook_secret=settings.carrier_webhook_secret,
                             tracking_url_template=settings.tracking_url_template)
    carriers: dict[str, Carrier] = {builtin.code: builtin}
    if settings.easypost_api_key:
        carriers["easypost"] = EasyPostCarrier(api_key=settings.easypost_api_key,
                                               webhook_secret=settings.easypost_webhook_secret,
                                               api_base=settings.easypost_api_base,
                                               tracking_url_template=settings.tracking_url_template)
    if settings.kuaidi100_key and settings.kuaidi100_salt and settings.kuaidi100_callback_url:
        carriers["kuaidi100"] = Kuaidi100Carrier(
            key=settings.kuaidi100_key, salt=settings.kuaidi100_salt,
            callback_url=settings.kuaidi100_callback_url, api_base=settings.kuaidi100_api_base)
    return carriers


async def poll_amazon(deps: Deps) -> None:
    """Pull new Amazon orders for each connected Amazon channel."""
    for connection in await MarketplaceConnection.filter(provider="amazon").prefetch_related(
            "channel"):
        client = AmazonOrders(connection.settings)
        try:
            await inbound_flows.import_polled_orders(
                deps, channel=connection.channel.code,
                pages=client.pages(connection.settings["cursor"]), actor="marketplace:amazon")
        except Exception:
            log.exception("polling Amazon for %s failed; the cursor did not move past it",
                          connection.channel.code)
        finally:
            await client.close()


def make_notifier(settings: Settings) -> Notifier:
    """Customer notifications and staff alerts, by SMTP (else to the log) and Twilio SMS."""
    mailer: EmailTransport = LogMailer()
    if settings.smtp_url:
        mailer = SmtpMailer(settings.smtp_url, sender=settings.email_from,
                            username=settings.smtp_username, password=settings.smtp_password)
    sms = None
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        sms = TwilioSms(account_sid=settings.twilio_account_sid,
                        auth_token=settings.twilio_auth_token, sender=settings.twilio_from,
                        api_base=settings.twilio_api_base)
    config = NotificationConfig(
        shop_name=settings.shop_name, shop_address=settings.shop_address,
        email_from=settings.email_from, default_locale=settings.notification_locale,
        staff_email=settings.staff_alert_email, staff_locale=settings.staff_alert_locale,
        template_dir=settings.notification_templates,
        ship_within_hours=settings.ship_within_hours)
    return Notifier(config, mailer, sms, policy=RetryPolicy(base=settings.notification_retry_base))


def make_gateways(settings: Settings) -> dict[str, PaymentGateway]:
    gateways: dict[str, PaymentGateway] = {"manual": ManualGateway(),
                                           "marketplace": MarketplaceGateway()}
    if settings.stripe_api_key:
        gateways["stripe"] = StripeGateway(api_key=settings.stripe_api_key,
                                           webhook_secret=settings.stripe_webhook_secret,
                                           api_base=settings.stripe_api_base)
    return gateways


async def redis_prefix(settings: Settings) -> str:
    """What every Redis key and channel of this deployment starts with.

    By default "oms:" and the id stored in the database on first start: every process on
    one database agrees on it however it reaches the database, and two databases differ,
    so deployments sharing a Redis never read each other's events, cache or counts.
    """
    return settings.redis_prefix or f"oms:{await deployment_key()}"


async def start_services(settings: Settings) -> Services:
    """The bus, cache and relay of one process, from settings."""
    addresses.warm()  # the country tables, loaded before the first address needs them
    prefix = await redis_prefix(settings) if settings.redis_url else "oms"
    bus: EventBus = (RedisBus(settings.redis_url, prefix=prefix) if settings.redis_url
                     else InMemoryBus())
    ttl = settings.availability_cache_ttl
    cache: AvailabilityCache | None = None
    if ttl > 0:
        cache = (RedisAvailabilityCache(settings.redis_url, ttl=ttl, prefix=prefix)
                 if settings.redis_url else InMemoryAvailabilityCache(ttl=ttl))
        if settings.redis_url and settings.availability_local_ttl > 0:
            # Reads this process holds cost no round trip; changes are announced on the bus.
            layered = LocalFirstAvailabilityCache(
                cache, bus, ttl=min(settings.availability_local_ttl, ttl))
            await layered.start()
            cache = layered
    answers = None
    if isinstance(cache, InMemoryAvailabilityCache | LocalFirstAvailabilityCache):
        # Kept as long as the entries of this process they come from, dropped with them; a
        # cache with no layer here (Redis alone) hears no other process's changes: none kept.
        local = cache.local if isinstance(cache, LocalFirstAvailabilityCache) else cache
        answers = AvailabilityAnswers(ttl=local.ttl,
                                      catalogue=lambda: catalogue_cache.generation)
        cache.watch(answers.forget)

    webhook_urls = UrlPolicy(SystemResolver(), allow_private=settings.webhook_allow_private_urls)
    webhooks = DeliveryWorker(HttpWebhookSender(webhook_urls),
                              policy=RetryPolicy(base=settings.webhook_retry_base))

    pushers = make_pushers()
    async def sync_marketplaces() -> None:
        await push_dirty(pushers)
        await push_fulfillments(pushers)

    marketplace_sync = Periodic("marketplace-sync", sync_marketplaces,
                                interval=settings.marketplace_sync_window)
    gateways = make_gateways(settings)
    carriers = make_carriers(settings)
    deps = Deps(gateways=gateways, carriers=carriers,
                capture_policy=CapturePolicy(settings.capture_policy),
                shipping_promises=settings.shipping_promises, risk=risk_defaults(settings))

    async def poll() -> None:
        await poll_amazon(deps)

    amazon_poll = Periodic("amazon-poll", poll, interval=settings.amazon_poll_interval)

    notifier = make_notifier(settings)
    handlers = build_handlers(webhooks=webhooks, notifier=notifier)
    relay = OutboxRelay(bus, interval=settings.relay_interval, record=handlers.record,
                        after_publish=handlers.after_publish)
    # This process's own commits drop their SKUs from the cache before the caller hears back.
    unregister = on_commit(cache.invalidate) if cache is not None else (lambda: None)
    catalogue_cache.configure(ttl=settings.catalog_cache_ttl)
    configure_settings_caches(ttl=settings.catalog_cache_ttl)
    listening = (asyncio.Event(), asyncio.Event())
    followers = (
        asyncio.create_task(follow_catalogue(bus, ready=listening[0]),
                            name="catalogue-follower"),
        asyncio.create_task(follow_settings(bus, ready=listening[1]),
                            name="settings-follower"))
    # Listening before the first request: a change made from then on is heard of.
    waiting: asyncio.Future[Any] = asyncio.ensure_future(
        asyncio.gather(*(ready.wait() for ready in listening)))
    await asyncio.wait([waiting, *followers], timeout=5, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    relay.start()
    webhooks.start()
    marketplace_sync.start()
    amazon_poll.start()

    async def sweep() -> None:  # repeat gateway calls whose outcome was never recorded
        await retry_pending(gateways=gateways, older_than=timedelta(minutes=2),
                            actor="system:sweep")

    sweeper = Periodic("payment-sweep", sweep, interval=60.0)
    sweeper.start()
    notifier.start()
    ship_within = timedelta(hours=settings.ship_within_hours)

    async def late() -> None:
        await flag_late_orders(ship_within=ship_within)

    late_shipments = Periodic("late-shipments", late,
                              interval=settings.late_shipment_check_interval)
    late_shipments.start()
    # Reports bring the summaries up to date themselves; this keeps what is left small.
    summaries = None
    if settings.summary_refresh_interval > 0:
        summaries = Periodic("report-summaries", refresh_summaries,
                             interval=settings.summary_refresh_interval)
        summaries.start()
    limiter = (RedisRateLimiter(settings.redis_url,
                                prefix=settings.rate_limit_prefix or f"{prefix}:rate")
               if settings.redis_url else InMemoryRateLimiter())
    failures = (RedisFailureLog(settings.redis_url, prefix=prefix) if settings.redis_url
                else InMemoryFailureLog())
    return Services(bus=bus, relay=relay, cache=cache, carriers=carriers, live=LiveFeeds(bus),
                    gateways=gateways, deps=deps,
                    unregister=unregister, followers=followers,
                    webhooks=webhooks, webhook_urls=webhook_urls,
                    rate_limiter=limiter,
                    limits=Limits(max_cost=settings.max_query_cost,
                                  budget=settings.rate_limit_points,
                                  public_budget=settings.public_rate_limit_points,
                                  max_bytes=settings.max_document_bytes,
                                  max_variables_bytes=settings.max_variables_bytes),
                    sweeper=sweeper, marketplace_sync=marketplace_sync,
                    amazon_poll=amazon_poll, summaries=summaries, pushers=pushers,
                    login_throttle=SignInThrottle(failures),
                    trusted_proxies=settings.trusted_proxies,
                    hasher=SecretHasher(settings.hash_concurrency),
                    turns=FairTurns(per_caller=settings.max_concurrent_per_caller),
                    mailer=notifier.mailer, notifier=notifier, late_shipments=late_shipments,
                    answers=answers,
                    sessions=SessionWatch(check_every=settings.session_check_interval))


async def stop_services(services: Services) -> None:
    services.unregister()
    for follower in services.followers:
        follower.cancel()
    await asyncio.gather(*services.followers, return_exceptions=True)
    for loop in (services.sweeper, services.marketplace_sync, services.amazon_poll,
                 services.summaries, services.late_shipments, services.notifier):
        if loop is not None:
            await loop.stop()
    await services.relay.stop()
    if services.webhooks is not None:
        await services.webhooks.stop()
        await services.webhooks.sender.close()  # type: ignore[attr-defined]
    if services.live is not None:
        await services.live.close()
    await services.sessions.close()
    await services.bus.close()
    for closeable in (services.cache, services.rate_limiter, services.login_throttle.log,
                      *services.carriers.values(),
                      *services.pushers.values()):
        close = getattr(closeable, "close", None)
        if close is not None:
            await close()


def create_app(settings: Settings | None = None, *, migrate: bool | None = None) -> Starlette:
    """Build the ASGI app. ``migrate`` defaults to True on the embedded SQLite database.
    Built from the environment (as ``oms serve`` does in each worker), it also sets up the
    process's logging."""
    if settings is None:
        settings = Settings.from_env()
        logs.configure(settings.log_format, settings.log_level)
    metrics.install()
    configure_hashing(settings.password_hash)
    run_migrations = settings.is_sqlite if migrate is None else migrate
    # Large documents are parsed in a worker thread; the event loop waits for Python's lock
    # at most this long (5 ms by default) each time it wants it back, so small requests
    # slow down less beside it.
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_migrations:
            await database.migrate(settings)
        await database.connect(settings)
        await tokens.load()  # the keys every process on this database shares
        key_refresh = Periodic("signing-keys", tokens.load,
                               interval=settings.key_refresh_interval)
        key_refresh.start()
        app.state.services = await start_services(settings)
        if settings.public_rate_limit_points is None:
            app.state.services.limits.public_budget = public_budget(
                schema._schema, settings.rate_limit_points)
        # What start-up allocated lives as long as the process: out of the cyclic
        # collector's sight, so its passes during requests only walk what requests made.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await key_refresh.stop()
            await stop_services(app.state.services)
            await database.close()
            if schema.preparation is not None and schema.preparation.checking is not None:
                schema.preparation.checking.close()

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

    tokens = TokenService.from_settings(settings)
    oauth = StarletteAuthorizationServer(tokens)

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse(tokens.jwks(), headers={"Cache-Control": "max-age=300"})

    schema = build_schema(settings)
    view = GraphQLView(schema, settings, tokens)
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            *([assets()] if settings.graphiql else []),
            Route("/webhooks/carriers/{carrier}", carrier_webhook, methods=["POST"]),
            Route("/webhooks/stripe", payment_webhook, methods=["POST"]),
            Route("/webhooks/marketplaces/{provider}/{channel}", marketplace_webhook,
                  methods=["POST"]),
            Route("/oauth/token", oauth.token_endpoint, methods=["POST"]),
            Route("/.well-known/jwks.json", jwks),
            Route("/reports/sales.csv", sales_csv),
            Route("/reports/inventory.csv", inventory_csv),
            Route("/reports/returns.csv", returns_csv),
            Route("/reports/fulfillment.csv", fulfillment_csv),
            Route("/invoices/{id}.pdf", invoice_pdf),
            Route("/catalog/import/{kind}", import_file, methods=["POST"]),
            Route("/catalog/export/{kind}", export_file),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.endpoint),
        ],
        middleware=[cors(settings.allowed_origins)],
        lifespan=lifespan,
    )
    app.add_middleware(RequestMiddleware, access_log=settings.access_log)
    app.add_middleware(FrameWriters)  # outermost: it needs the server's own send
    app.state.settings = settings
    app.state.tokens = tokens
    return app
