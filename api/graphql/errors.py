"""Error codes of the contract, and the one table that maps domain errors onto them."""

from __future__ import annotations

from collections.abc import Awaitable
from enum import Enum
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from domain import errors as d
from domain.staff.accounts import SecondFactorRequired

T = TypeVar("T")


@strawberry.enum(description="Stable codes for business failures, returned in userErrors.")
class ErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL"
    UNKNOWN_LOCATION = "UNKNOWN_LOCATION"
    DUPLICATE = "DUPLICATE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    NO_PRICE = "NO_PRICE"
    VARIANT_ARCHIVED = "VARIANT_ARCHIVED"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    STOCK_BELOW_RESERVED = "STOCK_BELOW_RESERVED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    QUANTITY_EXCEEDS_REMAINING = "QUANTITY_EXCEEDS_REMAINING"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    ALREADY_REFUNDED = "ALREADY_REFUNDED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CARRIER_FAILED = "CARRIER_FAILED"
    EDIT_CONFLICT = "EDIT_CONFLICT"
    SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED"
    NOT_PERMITTED = "NOT_PERMITTED"
    ALREADY_INVOICED = "ALREADY_INVOICED"
    VOUCHER_INVALID = "VOUCHER_INVALID"
    CREDIT_LIMIT_EXCEEDED = "CREDIT_LIMIT_EXCEEDED"


@strawberry.type(description="A business failure: nothing was changed.")
class UserError:
    field: list[str] | None
    code: ErrorCode
    message: str


# Most specific class first: the first match wins.
ERROR_CODES: list[tuple[type[d.DomainError], ErrorCode]] = [
    (d.InvalidAddress, ErrorCode.INVALID_ADDRESS),
    (d.UnknownSku, ErrorCode.UNKNOWN_SKU),
    (d.UnknownChannel, ErrorCode.UNKNOWN_CHANNEL),
    (d.UnknownLocation, ErrorCode.UNKNOWN_LOCATION),
    (d.NotFound, ErrorCode.NOT_FOUND),
    (d.Duplicate, ErrorCode.DUPLICATE),
    (d.CurrencyMismatch, ErrorCode.CURRENCY_MISMATCH),
    (d.NoPrice, ErrorCode.NO_PRICE),
    (d.VariantArchived, ErrorCode.VARIANT_ARCHIVED),
    (d.InsufficientStock, ErrorCode.INSUFFICIENT_STOCK),
    (d.StockBelowReserved, ErrorCode.STOCK_BELOW_RESERVED),
    (d.EditConflict, ErrorCode.EDIT_CONFLICT),
    (d.InvalidTransition, ErrorCode.INVALID_TRANSITION),
    (d.QuantityExceedsRemaining, ErrorCode.QUANTITY_EXCEEDS_REMAINING),
    (d.IdempotencyKeyReused, ErrorCode.IDEMPOTENCY_KEY_REUSED),
    (d.PaymentFailed, ErrorCode.PAYMENT_FAILED),
    (d.AlreadyRefunded, ErrorCode.ALREADY_REFUNDED),
    (d.AlreadyInvoiced, ErrorCode.ALREADY_INVOICED),
    (d.VoucherInvalid, ErrorCode.VOUCHER_INVALID),
    (d.CreditLimitExceeded, ErrorCode.CREDIT_LIMIT_EXCEEDED),
    (d.WrongCredentials, ErrorCode.INVALID_CREDENTIALS),
    (SecondFactorRequired, ErrorCode.SECOND_FACTOR_REQUIRED),
    (d.NotPermitted, ErrorCode.NOT_PERMITTED),
    (d.CarrierFailed, ErrorCode.CARRIER_FAILED),
    (d.InvalidInput, ErrorCode.INVALID_INPUT),
]


def code_for(error: d.DomainError) -> ErrorCode:
    for cls, code in ERROR_CODES:
        if isinstance(error, cls):
            return code
    return ErrorCode.INVALID_INPUT


def user_errors(error: d.DomainError) -> list[UserError]:
    flat = error.errors if isinstance(error, d.DomainErrors) else [error]
    return [
        UserError(field=list(e.field) if e.field else None, code=code_for(e), message=e.message)
        for e in flat
    ]


def graphql_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def bad_request(message: str) -> GraphQLError:
    return graphql_error(message, "BAD_REQUEST")


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[UserError]]:
    """Await a service call; a DomainError becomes userErrors, with no result."""
    try:
        return await call, []
    except d.DomainError as error:
        return None, user_errors(error)


def invalid_filter(error: d.DomainError) -> GraphQLError:
    """A bad filter: BAD_REQUEST, with the userError code and field it would have had."""
    flat = error.errors if isinstance(error, d.DomainErrors) else [error]
    return GraphQLError("; ".join(f"{code_for(e).value}: {e.message}" for e in flat),
                        extensions={"code": "BAD_REQUEST", "errorCode": code_for(flat[0]).value,
                                    "field": list(flat[0].field or ())})
