"""What the use cases depend on, as one typed set built once when the app starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.fulfillment.ports import Carrier
from domain.payments.flows import CapturePolicy
from domain.payments.ports import PaymentGateway
from domain.risk.ports import RiskProvider
from domain.risk.settings import RiskSettings
from domain.taxes.ports import TaxProvider
from domain.taxes.table import TableTaxProvider


@dataclass(frozen=True)
class Deps:
    gateways: Mapping[str, PaymentGateway]
    carriers: Mapping[str, Carrier]
    capture_policy: CapturePolicy = CapturePolicy.MANUAL
    shipping_promises: Mapping[str, int] = field(default_factory=dict)  # days per method
    # Risk screening of placed orders: the deployment's default settings (the merchant's
    # stored changes apply over them), and external providers asked before the transaction.
    risk: RiskSettings = field(default_factory=RiskSettings)
    risk_providers: tuple[RiskProvider, ...] = ()
    # Who computes tax: the merchant's own rate table unless an external service is set.
    taxes: TaxProvider = field(default_factory=TableTaxProvider)
