"""What the business counts as it runs, for the operator's metrics endpoint.

The domain only counts (``count("orders_refused", code="INSUFFICIENT_STOCK")``); the API
exposes the counts in Prometheus' format. Each name is declared here once, with its help
text and label names, so the set of series is known and bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders_placed": ("Orders placed", ("channel",)),
    "orders_refused": ("orderCreate calls refused, by error code", ("code",)),
    "reservation_conflicts": ("Guarded stock reservations that found too little stock", ()),
    "webhook_deliveries": ("Outbound webhook delivery attempts, by outcome", ("outcome",)),
    "notifications": ("Customer notifications and staff alerts sent, by outcome", ("outcome",)),
    "background_failures": ("Failed passes of background loops", ("loop",)),
    "catalog_cache_invalidations": ("Catalogue changes heard on the event bus, each of which "
                                    "dropped cached catalogue entries", ()),
    "risk_settings_cache_invalidations": ("Risk settings changes heard on the event bus, "
                                          "each of which dropped the cached settings", ()),
    "tax_rates_cache_invalidations": ("Tax rate changes heard on the event bus, each of "
                                      "which dropped the cached rates", ()),
    "promotions_cache_invalidations": ("Promotion changes heard on the event bus, each of "
                                       "which dropped the cached automatic promotions", ()),
}


@dataclass
class _Sink:
    count: Callable[[str, dict[str, str], float], None] | None = None


_sink = _Sink()


def count(name: str, amount: float = 1, **labels: str) -> None:
    """Add to a declared counter; nothing happens until the API installs a sink."""
    if name not in COUNTERS:
        raise KeyError(f"undeclared metric {name!r}")
    if _sink.count is not None:
        _sink.count(name, labels, amount)


def install(sink: Callable[[str, dict[str, str], float], None] | None) -> None:
    _sink.count = sink
