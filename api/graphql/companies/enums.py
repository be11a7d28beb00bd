"""The enums of companies, shared by the order types (an order's payment terms)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="When a company's order is due: when placed, or NET days after.")
class PaymentTerms(Enum):
    DUE_ON_RECEIPT = "DUE_ON_RECEIPT"
    NET_15 = "NET_15"
    NET_30 = "NET_30"
    NET_60 = "NET_60"


@strawberry.enum(description="What a contact does for its company.")
class CompanyContactRole(Enum):
    BUYER = "BUYER"
    ADMIN = "ADMIN"
