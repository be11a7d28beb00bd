"""Settings, read once from the environment (``OMS_*``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit


class ConfigurationError(Exception):
    """A setting is missing or wrong; start-up stops with this one-line message."""


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
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    capture_policy: str = "manual"
    jwt_keys: str | None = None
    token_issuer: str = "oms"
    access_token_ttl: int = 900
    webhook_retry_base: float = 30.0
    max_query_cost: int = 5000
    rate_limit_points: int = 50_000
    rate_limit_prefix: str = "oms:rate"
    introspection: bool = True
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

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite://{self.var_dir / 'oms.sqlite3'}")
        scheme = urlsplit(self.database_url).scheme
        if scheme not in ("sqlite", "postgres", "postgresql", "asyncpg"):
            raise ConfigurationError(
                f"OMS_DATABASE_URL must start with sqlite:// or postgres://, got {scheme!r}"
            )
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
        if not 1 <= self.db_pool_min <= self.db_pool_max:
            raise ConfigurationError("Pool sizes need 1 <= OMS_DB_POOL_MIN <= OMS_DB_POOL_MAX")

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
            allowed_origins=parse_origins(env.get("OMS_ALLOWED_ORIGINS", "")),
            shipping_rates=parse_rates(env.get("OMS_SHIPPING_RATES") or DEFAULT_SHIPPING_RATES),
            shipping_promises=_promises(env.get("OMS_SHIPPING_PROMISES")),
            carrier_webhook_secret=env.get("OMS_CARRIER_WEBHOOK_SECRET") or None,
            tracking_url_template=env.get("OMS_TRACKING_URL_TEMPLATE") or None,
            availability_cache_ttl=_int(env, "OMS_AVAILABILITY_CACHE_TTL", 30),
            stripe_api_key=env.get("OMS_STRIPE_API_KEY") or None,
            stripe_webhook_secret=env.get("OMS_STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("OMS_STRIPE_API_BASE") or None,
            capture_policy=env.get("OMS_CAPTURE_POLICY") or "manual",
            jwt_keys=env.get("OMS_JWT_KEYS") or None,
            token_issuer=env.get("OMS_TOKEN_ISSUER") or "oms",
            access_token_ttl=_int(env, "OMS_ACCESS_TOKEN_TTL", 900),
            webhook_retry_base=float(_int(env, "OMS_WEBHOOK_RETRY_BASE", 30)),
            max_query_cost=_int(env, "OMS_MAX_QUERY_COST", 5000),
            rate_limit_points=_int(env, "OMS_RATE_LIMIT_POINTS", 50_000),
            rate_limit_prefix=env.get("OMS_RATE_LIMIT_PREFIX") or "oms:rate",
            introspection=_bool(env, "OMS_INTROSPECTION", True),
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
        )
