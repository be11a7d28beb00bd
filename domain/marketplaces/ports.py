"""The marketplace port: reading their order notifications, verified."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class InvalidNotification(Exception):
    """A marketplace webhook whose signature does not verify."""


@dataclass(frozen=True)
class ImportedOrder:
    external_id: str
    lines: Sequence[tuple[str, int]]
    email: str | None = None
    shipping_address: Mapping[str, Any] | None = None
    po_number: str | None = None  # the marketplace's human reference, e.g. "#1042"


@dataclass(frozen=True)
class Notification:
    kind: str  # order_created | order_cancelled | ignored
    delivery_id: str
    order: ImportedOrder | None = None
    external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Marketplace(Protocol):
    provider: str

    def parse_notification(self, body: bytes, headers: Mapping[str, str],
                           settings: Mapping[str, Any]) -> Notification:
        """Verify against the raw body with the channel's secret; InvalidNotification if not."""
