"""Settings, read once from the environment (``OMS_*``)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

from domain.risk.settings import RiskSettings
from domain.secrets import HashCost


class ConfigurationError(Exception):
    """A setting is missing or wrong; start-up stops with this one-line message."""


# A document's tokens are rarely longer than this on average, indentation included (the
# standard introspection query, pretty-printed: 9 bytes a token; the documents of the
# tests: 5): its raw size is refused past this many bytes per allowed token, before it is
# even parsed.
BYTES_PER_TOKEN = 10


def request_bytes(document_bytes: int, variables_bytes: int) -> int:
    """The most an HTTP body or a websocket message may hold, read no further: a document
    and its variables, with room for JSON's escapes (which at most double ordinary text)
    and the request's other members."""
    return 2 * (document_bytes + variables_bytes) + 1024


DEFAULT_SHIPPING_RATES = (
    '{"standard": {"EUR": "4.90", "USD": "5.90", "GBP": "4.50"},'
    ' "express": {"EUR": "9.90", "USD": "12.90", "GBP": "8.90"}}'
)


def parse_rates(raw: str) -> dict[str, dict[str, Decimal]]:
    """OMS_SHIPPING_RATES: JSON {service: {currency: amount}} for the built-in carrier."""
    try:
        table = json.loads(raw)
        return {str(service): {str(cur): Decimal(str(amount)) for cur, amount in prices.items()}
                for service, prices in table.items()}
    except (ValueError, AttributeError, ArithmeticError):
        raise ConfigurationError(
            'OMS_SHIPPING_RATES must be JSON like {"standard": {"EUR": "4.90"}}'
        ) from None


def parse_origins(raw: str) -> tuple[str, ...]:
    """``OMS_ALLOWED_ORIGINS``: ``*`` or origins as browsers send them (scheme://host[:port])."""
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc
                              or origin != f"{parts.scheme}://{parts.netloc}"):
            raise ConfigurationError(
                f"OMS_ALLOWED_ORIGINS takes * or origins like https://shop.example.com "
                f"(no path, no trailing slash), got {origin!r}")
    return origins


def _promises(raw: str | None) -> dict[str, int]:
    if not raw:
        return {"standard": 5, "express": 2}
    try:
        return {str(k): int(v) for k, v in json.loads(raw).items()}
    except (ValueError, AttributeError, TypeError):
        raise ConfigurationError('OMS_SHIPPING_PROMISES must be JSON like {"express": 2}') \
            from None


def _networks(raw: str | None) -> tuple[IPv4Network | IPv6Network, ...]:
    """OMS_TRUSTED_PROXIES: comma-separated addresses or CIDR blocks."""
    out = []
    for item in (raw or "").split(","):
        if item.strip():
            try:
                out.append(ip_network(item.strip(), strict=False))
            except ValueError:
                raise ConfigurationError("OMS_TRUSTED_PROXIES must list IP addresses or CIDR "
                                         f"blocks, got {item.strip()!r}") from None
    return tuple(out)


def parse_hash_cost(raw: str) -> HashCost:
    """``m=65536,t=3,p=4`` (as argon2 writes it in each hash): memory in KiB, passes, lanes;
    a part left out keeps its default, nothing at all is the default."""
    values: dict[str, int] = {}
    names = {"m": "memory_kib", "t": "time_cost", "p": "parallelism"}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        key, _, value = part.partition("=")
        if key.strip() not in names or not value.strip().isdigit():
            raise ConfigurationError("OMS_PASSWORD_HASH must look like m=65536,t=3,p=4, "
                                     f"got {raw!r}")
        values[names[key.strip()]] = int(value)
    return HashCost(**values)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def check_port(raw: str | int, name: str) -> int:
    """A port to listen on."""
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"{name} must be a port number from 1 to 65535, got {raw!r}")
    return port


_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def check_host(raw: str, name: str) -> str:
    """An address to listen on: an IP address or a host name."""
    try:
        ipaddress.ip_address(raw)
        return raw
    except ValueError:
        pass
    if len(raw) > 253 or not _HOSTNAME.match(raw):
        raise ConfigurationError(f"{name} must be an IP address or a host name, got {raw!r}")
    return raw


def _is_postgres_url(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql", "asyncpg")


def _check_database_url(url: str) -> None:
    """OMS_DATABASE_URL: sqlite://PATH or postgres://user:pass@host:port/db, nothing else."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if not url.removeprefix("sqlite://"):
            raise ConfigurationError("OMS_DATABASE_URL needs a file after sqlite://, "
                                     "e.g. sqlite://var/oms.sqlite3")
        return
    if parts.scheme not in ("postgres", "postgresql", "asyncpg"):
        raise ConfigurationError(
            f"OMS_DATABASE_URL must start with sqlite:// or postgres://, got {parts.scheme!r}"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as error:
        raise ConfigurationError(f"OMS_DATABASE_URL has a bad port: {error}") from None
    socket = "host=" in parts.query  # a Unix socket: postgres://user@/db?host=/run/postgresql
    if not (parts.hostname or socket) or parts.path.strip("/") == "":
        raise ConfigurationError("OMS_DATABASE_URL must look like "
                                 "postgres://user:password@host:5432/database")


@dataclass(frozen=True)
class Settings:
    var_dir: Path = Path("var")
    database_url: str = ""
    db_pool_min: int = 1
    db_pool_max: int = 20
    redis_url: str | None = None
    admin_token: str | None = None
    graphiql: bool = True
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_document_bytes: int = 50_000  # BYTES_PER_TOKEN x max_tokens unless set
    max_variables_bytes: int = 100_000  # a request's variables, as JSON
    relay_interval: float = 1.0
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    shipping_rates: dict[str, dict[str, Decimal]] = field(
        default_factory=lambda: parse_rates(DEFAULT_SHIPPING_RATES)
    )
    # Days each shipping method promises; the built-in carrier delivers in as many.
    shipping_promises: dict[str, int] = field(
        default_factory=lambda: {"standard": 5, "express": 2})
    carrier_webhook_secret: str | None = None
    tracking_url_template: str | None = None
    availability_cache_ttl: int = 30
    availability_local_ttl: int = 5
    # What orders read of the catalogue stays this many seconds at most in each process
    # (changes reach every process at once through the event bus); 0: read it every order.
    catalog_cache_ttl: int = 300
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    capture_policy: str = "manual"
    jwt_keys: str | None = None
    token_issuer: str = "oms"
    access_token_ttl: int = 900
    webhook_retry_base: float = 30.0
    webhook_allow_private_urls: bool = False  # development only: hooks on this host or a LAN
    max_query_cost: int = 5000
    rate_limit_points: int = 50_000
    # None: room for GraphiQL to read the schema twice a minute, however large the schema
    # grows (api.graphql.cost.public_budget), never above a partner's.
    public_rate_limit_points: int | None = None
    # Every Redis key and channel starts with it; None: "oms:" and this database's own id.
    redis_prefix: str | None = None
    rate_limit_prefix: str | None = None  # None: the Redis prefix's ":rate"
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = field(default_factory=tuple)
    token_audience: str = "oms"
    session_check_interval: float = 30.0  # how soon a revoked token's websocket is closed
    # Compressed websocket messages (permessage-deflate): off, because each connection that
    # negotiates it holds zlib state of its own (tens of KiB), and live events are small.
    ws_per_message_deflate: bool = False
    introspection: bool = True
    hash_concurrency: int = 2  # password hashes at once per process, off the event loop
    password_hash: HashCost = field(default_factory=HashCost)  # argon2id's memory, passes, lanes
    marketplace_sync_window: float = 5.0
    amazon_poll_interval: float = 120.0
    summary_refresh_interval: float = 30.0  # 0: only reports bring the summaries up to date
    kuaidi100_key: str | None = None
    kuaidi100_salt: str | None = None
    kuaidi100_callback_url: str | None = None
    kuaidi100_api_base: str | None = None
    easypost_api_key: str | None = None
    easypost_webhook_secret: str | None = None
    easypost_api_base: str | None = None
    log_format: str = "text"  # or json
    log_level: str = "INFO"
    # One line per request (uvicorn's own access log is off). From the environment: on in the
    # embedded mode, off by default on PostgreSQL, where request metrics count requests.
    access_log: bool = True
    metrics_token: str | None = None  # who may read /metrics (else the admin token)
    # Requests of one public caller (address, customer, guest) run at once; the rest wait.
    max_concurrent_per_caller: int = 2
    host: str = "127.0.0.1"  # `oms serve --host` wins
    port: int = 8000  # `oms serve --port` wins
    # Seconds between re-reads of the shared signing keys (a key rotated elsewhere signs here
    # from the next one; a token naming an unknown key triggers one sooner).
    key_refresh_interval: float = 60.0
    # Notifications (customers) and alerts (staff). No SMTP URL: messages go to the log.
    smtp_url: str | None = None  # smtp://user:pass@host:587 (STARTTLS) or smtps://host:465
    smtp_username: str | None = None  # beside the URL; wins over the URL's
    smtp_password: str | None = None
    email_from: str = "shop@localhost"
    shop_name: str = "Our shop"
    shop_address: tuple[str, ...] = ()  # the lines printed under every message
    notification_templates: Path | None = None  # a merchant's templates, looked in first
    pdf_font: Path | None = None  # invoices' font file; None: the system's CJK font
    notification_locale: str = "en"  # customers with no language of their own
    notification_retry_base: float = 30.0  # seconds before the first retry (backoff, 1 day)
    staff_alert_email: str | None = None
    staff_alert_locale: str = "en"
    ship_within_hours: int = 48  # orders confirmed and not shipped after this: staff alert
    late_shipment_check_interval: float = 300.0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None  # a number (+1...) or a messaging service (MG...)
    twilio_api_base: str | None = None
    # Risk screening of new orders: the deployment's defaults (the merchant changes them with
    # riskSettingsUpdate; a stored change wins over these).
    risk_screening: bool = True
    risk_hold_threshold: int = 70
    risk_velocity_limit: int = 5  # orders in the window from one buyer hold the next ones
    risk_velocity_window_minutes: int = 10
    risk_blocked_emails: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite://{self.var_dir / 'oms.sqlite3'}")
        _check_database_url(self.database_url)
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss"):
            raise ConfigurationError("OMS_REDIS_URL must start with redis:// or rediss://")
        if self.capture_policy not in ("manual", "confirmation", "first_shipment",
                                       "shipped_value"):
            raise ConfigurationError("OMS_CAPTURE_POLICY must be manual, confirmation, "
                                     "first_shipment or shipped_value")
        kuaidi = (self.kuaidi100_key, self.kuaidi100_salt, self.kuaidi100_callback_url)
        if any(kuaidi) and not all(kuaidi):
            raise ConfigurationError("Kuaidi100 needs OMS_KUAIDI100_KEY, OMS_KUAIDI100_SALT and "
                                     "OMS_KUAIDI100_CALLBACK_URL together")
        if self.log_format not in ("text", "json"):
            raise ConfigurationError(f"OMS_LOG_FORMAT must be text or json, got {self.log_format!r}")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigurationError("OMS_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, "
                                     f"got {self.log_level!r}")
        if self.session_check_interval <= 0:
            raise ConfigurationError("OMS_SESSION_CHECK_INTERVAL must be above 0")
        if self.key_refresh_interval <= 0:
            raise ConfigurationError("OMS_KEY_REFRESH_INTERVAL must be at least 1 second")
        if not 1 <= self.db_pool_min <= self.db_pool_max:
            raise ConfigurationError("Pool sizes need 1 <= OMS_DB_POOL_MIN <= OMS_DB_POOL_MAX")
        if self.risk_hold_threshold < 1 or self.risk_velocity_limit < 1 \
                or self.risk_velocity_window_minutes < 1:
            raise ConfigurationError("OMS_RISK_HOLD_THRESHOLD, OMS_RISK_VELOCITY_LIMIT and "
                                     "OMS_RISK_VELOCITY_WINDOW_MINUTES must be at least 1")
        if self.hash_concurrency < 1:
            raise ConfigurationError("OMS_HASH_CONCURRENCY must be at least 1")
        cost = self.password_hash
        if cost.time_cost < 1 or cost.parallelism < 1 or cost.memory_kib < 8 * cost.parallelism:
            raise ConfigurationError("OMS_PASSWORD_HASH needs t and p of at least 1 and m of at "
                                     f"least 8 times p (KiB), got {cost}")
        if self.smtp_url:
            from integrations.email.smtp import parse_smtp_url

            try:
                parse_smtp_url(self.smtp_url)
            except ValueError as error:
                raise ConfigurationError(str(error)) from None
        twilio = (self.twilio_account_sid, self.twilio_auth_token, self.twilio_from)
        if any(twilio) and not all(twilio):
            raise ConfigurationError("SMS needs OMS_TWILIO_ACCOUNT_SID, OMS_TWILIO_AUTH_TOKEN "
                                     "and OMS_TWILIO_FROM together")
        if self.notification_templates is not None and not self.notification_templates.is_dir():
            raise ConfigurationError("OMS_NOTIFICATION_TEMPLATES must be a directory, got "
                                     f"{str(self.notification_templates)!r}")
        if self.ship_within_hours < 1:
            raise ConfigurationError("OMS_SHIP_WITHIN_HOURS must be at least 1")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")

    @property
    def embedded(self) -> bool:
        """The zero-configuration mode: SQLite, in-process cache and event bus."""
        return self.is_sqlite and not self.redis_url

    @property
    def admin_token_file(self) -> Path:
        return self.var_dir / "admin-token"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            var_dir=Path(env.get("OMS_VAR_DIR", "var")),
            database_url=env.get("OMS_DATABASE_URL", ""),
            db_pool_min=_int(env, "OMS_DB_POOL_MIN", 1),
            db_pool_max=_int(env, "OMS_DB_POOL_MAX", 20),
            redis_url=env.get("OMS_REDIS_URL") or None,
            admin_token=env.get("OMS_ADMIN_TOKEN") or None,
            graphiql=_bool(env, "OMS_GRAPHIQL", True),
            max_depth=_int(env, "OMS_MAX_QUERY_DEPTH", 12),
            max_aliases=_int(env, "OMS_MAX_ALIASES", 30),
            max_tokens=_int(env, "OMS_MAX_TOKENS", 5000),
            max_document_bytes=_int(env, "OMS_MAX_DOCUMENT_BYTES",
                                    BYTES_PER_TOKEN * _int(env, "OMS_MAX_TOKENS", 5000)),
            max_variables_bytes=_int(env, "OMS_MAX_VARIABLES_BYTES", 100_000),
            allowed_origins=parse_origins(env.get("OMS_ALLOWED_ORIGINS", "")),
            shipping_rates=parse_rates(env.get("OMS_SHIPPING_RATES") or DEFAULT_SHIPPING_RATES),
            shipping_promises=_promises(env.get("OMS_SHIPPING_PROMISES")),
            carrier_webhook_secret=env.get("OMS_CARRIER_WEBHOOK_SECRET") or None,
            tracking_url_template=env.get("OMS_TRACKING_URL_TEMPLATE") or None,
            availability_cache_ttl=_int(env, "OMS_AVAILABILITY_CACHE_TTL", 30),
            availability_local_ttl=_int(env, "OMS_AVAILABILITY_LOCAL_TTL", 5),
            catalog_cache_ttl=_int(env, "OMS_CATALOG_CACHE_TTL", 300),
            stripe_api_key=env.get("OMS_STRIPE_API_KEY") or None,
            stripe_webhook_secret=env.get("OMS_STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("OMS_STRIPE_API_BASE") or None,
            capture_policy=env.get("OMS_CAPTURE_POLICY") or "manual",
            jwt_keys=env.get("OMS_JWT_KEYS") or None,
            token_issuer=env.get("OMS_TOKEN_ISSUER") or "oms",
            access_token_ttl=_int(env, "OMS_ACCESS_TOKEN_TTL", 900),
            webhook_retry_base=float(_int(env, "OMS_WEBHOOK_RETRY_BASE", 30)),
            webhook_allow_private_urls=_bool(env, "OMS_WEBHOOK_ALLOW_PRIVATE_URLS", False),
            max_query_cost=_int(env, "OMS_MAX_QUERY_COST", 5000),
            rate_limit_points=_int(env, "OMS_RATE_LIMIT_POINTS", 50_000),
            # unset: worked out from the schema at start (api.graphql.cost.public_budget)
            public_rate_limit_points=_int(env, "OMS_PUBLIC_RATE_LIMIT_POINTS", 0) or None,
            redis_prefix=env.get("OMS_REDIS_PREFIX") or None,
            rate_limit_prefix=env.get("OMS_RATE_LIMIT_PREFIX") or None,
            trusted_proxies=_networks(env.get("OMS_TRUSTED_PROXIES")),
            token_audience=env.get("OMS_TOKEN_AUDIENCE") or "oms",
            session_check_interval=float(_int(env, "OMS_SESSION_CHECK_INTERVAL", 30)),
            ws_per_message_deflate=_bool(env, "OMS_WS_PER_MESSAGE_DEFLATE", False),
            introspection=_bool(env, "OMS_INTROSPECTION", True),
            hash_concurrency=_int(env, "OMS_HASH_CONCURRENCY", 2),
            password_hash=parse_hash_cost(env.get("OMS_PASSWORD_HASH") or ""),
            marketplace_sync_window=float(_int(env, "OMS_MARKETPLACE_SYNC_WINDOW", 5)),
            amazon_poll_interval=float(_int(env, "OMS_AMAZON_POLL_INTERVAL", 120)),
            summary_refresh_interval=float(_int(env, "OMS_SUMMARY_REFRESH_INTERVAL", 30)),
            kuaidi100_key=env.get("OMS_KUAIDI100_KEY") or None,
            kuaidi100_salt=env.get("OMS_KUAIDI100_SALT") or None,
            kuaidi100_callback_url=env.get("OMS_KUAIDI100_CALLBACK_URL") or None,
            kuaidi100_api_base=env.get("OMS_KUAIDI100_API_BASE") or None,
            easypost_api_key=env.get("OMS_EASYPOST_API_KEY") or None,
            easypost_webhook_secret=env.get("OMS_EASYPOST_WEBHOOK_SECRET") or None,
            easypost_api_base=env.get("OMS_EASYPOST_API_BASE") or None,
            log_format=(env.get("OMS_LOG_FORMAT") or "text").lower(),
            log_level=(env.get("OMS_LOG_LEVEL") or "INFO").upper(),
            access_log=_bool(env, "OMS_ACCESS_LOG", not _is_postgres_url(
                env.get("OMS_DATABASE_URL", ""))),
            metrics_token=env.get("OMS_METRICS_TOKEN") or None,
            max_concurrent_per_caller=_int(env, "OMS_MAX_CONCURRENT_PER_CALLER", 2),
            host=check_host(env.get("OMS_HOST") or "127.0.0.1", "OMS_HOST"),
            port=check_port(env.get("OMS_PORT") or "8000", "OMS_PORT"),
            key_refresh_interval=float(_int(env, "OMS_KEY_REFRESH_INTERVAL", 60)),
            smtp_url=env.get("OMS_SMTP_URL") or None,
            smtp_username=env.get("OMS_SMTP_USERNAME") or None,
            smtp_password=env.get("OMS_SMTP_PASSWORD") or None,
            email_from=env.get("OMS_EMAIL_FROM") or "shop@localhost",
            shop_name=env.get("OMS_SHOP_NAME") or "Our shop",
            shop_address=tuple(line.strip() for line in re.split(
                r"[\n;]", env.get("OMS_SHOP_ADDRESS", "")) if line.strip()),
            notification_templates=Path(env["OMS_NOTIFICATION_TEMPLATES"])
            if env.get("OMS_NOTIFICATION_TEMPLATES") else None,
            pdf_font=Path(env["OMS_PDF_FONT"]) if env.get("OMS_PDF_FONT") else None,
            notification_locale=env.get("OMS_NOTIFICATION_LOCALE") or "en",
            notification_retry_base=float(_int(env, "OMS_NOTIFICATION_RETRY_BASE", 30)),
            staff_alert_email=env.get("OMS_STAFF_ALERT_EMAIL") or None,
            staff_alert_locale=env.get("OMS_STAFF_ALERT_LOCALE") or "en",
            ship_within_hours=_int(env, "OMS_SHIP_WITHIN_HOURS", 48),
            late_shipment_check_interval=float(_int(env, "OMS_LATE_SHIPMENT_CHECK_INTERVAL",
                                                    300)),
            twilio_account_sid=env.get("OMS_TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("OMS_TWILIO_AUTH_TOKEN") or None,
            twilio_from=env.get("OMS_TWILIO_FROM") or None,
            twilio_api_base=env.get("OMS_TWILIO_API_BASE") or None,
            risk_screening=_bool(env, "OMS_RISK_SCREENING", True),
            risk_hold_threshold=_int(env, "OMS_RISK_HOLD_THRESHOLD", 70),
            risk_velocity_limit=_int(env, "OMS_RISK_VELOCITY_LIMIT", 5),
            risk_velocity_window_minutes=_int(env, "OMS_RISK_VELOCITY_WINDOW_MINUTES", 10),
            risk_blocked_emails=tuple(
                item.strip().lower() for item in env.get("OMS_RISK_BLOCKED_EMAILS", "").split(",")
                if item.strip()),
        )


def risk_defaults(settings: Settings) -> RiskSettings:
    """The risk settings of this deployment, before the merchant's stored changes."""
    return RiskSettings(
        enabled=settings.risk_screening, hold_threshold=settings.risk_hold_threshold,
        velocity_limit=settings.risk_velocity_limit,
        velocity_window_minutes=settings.risk_velocity_window_minutes,
        blocked_emails=settings.risk_blocked_emails)
