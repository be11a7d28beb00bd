"""What the use cases depend on, as one typed set built once when the app starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.fulfillment.ports import Carrier
from domain.payments.flows import CapturePolicy
from domain.payments.ports import PaymentGateway


@dataclass(frozen=True)
class Deps:
    gateways: Mapping[str, PaymentGateway]
    carriers: Mapping[str, Carrier]
    capture_policy: CapturePolicy = CapturePolicy.MANUAL
    shipping_promises: Mapping[str, int] = field(default_factory=dict)  # days per method
