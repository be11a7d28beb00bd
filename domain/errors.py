"""Business errors, named after the fact they report.

DomainError
 ├── InvalidInput            a value breaks a format or size rule
 │    ├── InvalidAddress     an address breaks the address rule (domain/addresses.py)
 │    └── FileRejected       an imported file has bad rows (each with its line number)
 ├── NotFound                a referenced object does not exist
 │    ├── UnknownSku
 │    ├── UnknownChannel
 │    └── UnknownLocation
 ├── Duplicate               a unique code or SKU is taken
 ├── CurrencyMismatch        a price's currency differs from the channel's
 ├── NoPrice                 no price list nor the variant's own price sells a SKU there
 ├── VariantArchived         an archived product's variant cannot be ordered
 ├── InsufficientStock       not enough sellable units for a SKU
 ├── StockBelowReserved      on hand would drop below what orders hold
 ├── InvalidTransition       a state machine forbids the move
 ├── EditConflict            the order changed since its edit began (a shipment, an edit)
 ├── QuantityExceedsRemaining  shipping or returning more than is left
 ├── PaymentFailed           the gateway declined, or did not answer
 │    └── PaidAtMarketplace  a marketplace order's money is refunded on the marketplace
 ├── CarrierFailed           the carrier refused, or did not answer
 ├── AlreadyRefunded         more refunded than remains refundable
 ├── WrongCredentials        an email and password (or a refresh token) that do not match
 ├── IdempotencyKeyReused    a key already used for a different request
 ├── VoucherInvalid          a voucher code that cannot be redeemed on this order
 └── DomainErrors            several of the above, collected before failing

They carry the ids and values a caller needs, never HTTP or GraphQL codes:
``api/`` maps each class to its error code in one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Field = tuple[str, ...]


class DomainError(Exception):
    """Base of every business error; ``field`` points at the offending input."""

    def __init__(self, message: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field: Field | None = tuple(field) if field is not None else None


class InvalidInput(DomainError):
    pass


class InvalidAddress(InvalidInput):
    """A country, subdivision, postal code or required line of an address is wrong."""


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with a file, at a line (and a column, where one is to blame)."""

    line: int
    column: str | None
    error: DomainError

    @property
    def message(self) -> str:
        return self.error.message

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class FileRejected(InvalidInput):
    """Nothing of the file was written: these lines are wrong (the first ones, at most
    MAX_PROBLEMS of them)."""

    MAX_PROBLEMS = 100

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        listed = sorted(problems, key=lambda p: p.line)[: self.MAX_PROBLEMS]
        super().__init__("The file was not imported: " + "; ".join(str(p) for p in listed[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        self.problems = listed


class NotFound(DomainError):
    def __init__(self, kind: str, ref: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(f"{kind} {ref!r} does not exist", field=field)
        self.kind = kind
        self.ref = ref


class UnknownSku(NotFound):
    def __init__(self, sku: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__("SKU", sku, field=field)
        self.sku = sku


class UnknownChannel(NotFound):
    def __init__(self, code: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__("Channel", code, field=field)
        self.code = code


class UnknownLocation(NotFound):
    def __init__(self, code: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__("Location", code, field=field)
        self.code = code


class Duplicate(DomainError):
    def __init__(self, kind: str, value: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(f"{kind} {value!r} already exists", field=field)
        self.kind = kind
        self.value = value


class CurrencyMismatch(DomainError):
    def __init__(
        self, sku: str, currency: str, expected: str, *, field: Sequence[str] | None = None
    ) -> None:
        super().__init__(
            f"SKU {sku!r} is priced in {currency}, but the channel sells in {expected}",
            field=field,
        )
        self.sku = sku
        self.currency = currency
        self.expected = expected


class NoPrice(DomainError):
    """No active price list of the channel prices the SKU in its currency, and the
    variant's own price is in another currency."""

    def __init__(self, sku: str, channel: str, currency: str, *,
                 field: Sequence[str] | None = None) -> None:
        super().__init__(f"SKU {sku!r} has no price in {currency} on channel {channel!r}",
                         field=field)
        self.sku = sku
        self.channel = channel
        self.currency = currency


class VariantArchived(DomainError):
    def __init__(self, sku: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(f"SKU {sku!r} belongs to an archived product and cannot be ordered",
                         field=field)
        self.sku = sku


class InsufficientStock(DomainError):
    def __init__(
        self, sku: str, requested: int, available: int, *, field: Sequence[str] | None = None
    ) -> None:
        super().__init__(
            f"Not enough stock for {sku}: {requested} requested, {available} available",
            field=field,
        )
        self.sku = sku
        self.requested = requested
        self.available = available


class StockBelowReserved(DomainError):
    def __init__(
        self, sku: str, location: str, on_hand: int, reserved: int,
        *, field: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            f"{sku} at {location}: on hand would be {on_hand}, "
            f"below the {reserved} units reserved by orders",
            field=field,
        )
        self.sku = sku
        self.location = location
        self.on_hand = on_hand
        self.reserved = reserved


class InvalidTransition(DomainError):
    def __init__(self, entity: str, ref: str, current: str, target: str) -> None:
        super().__init__(f"{entity} {ref} is {current} and cannot become {target}")
        self.entity = entity
        self.ref = ref
        self.current = current
        self.target = target


class EditConflict(DomainError):
    """The order changed after its edit session began (a shipment, another edit, a payment):
    the edit is not applied; begin a new one from the order as it is now."""

    def __init__(self, number: str, *, field: Sequence[str] | None = ("id",)) -> None:
        super().__init__(f"Order {number} changed since this edit began; nothing "
                             "was applied: begin a new edit", field=field)
        self.number = number


class QuantityExceedsRemaining(DomainError):
    def __init__(
        self, what: str, requested: int, remaining: int, *, field: Sequence[str] | None = None
    ) -> None:
        super().__init__(f"{what}: {requested} requested, {remaining} remaining", field=field)
        self.requested = requested
        self.remaining = remaining


class PaymentFailed(DomainError):
    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class PaidAtMarketplace(PaymentFailed):
    """A marketplace order's payment: the marketplace holds the money, so it is refunded
    there (and never here, where no money would move)."""

    def __init__(self, payment_id: int, marketplace: str) -> None:
        super().__init__(f"Payment {payment_id} was paid on {marketplace}, which holds the "
                         f"money: refund it on {marketplace}; nothing is refunded here")
        self.payment_id = payment_id
        self.marketplace = marketplace


class CarrierFailed(DomainError):
    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class AlreadyRefunded(DomainError):
    def __init__(self, requested: object, refundable: object, currency: str,
                 *, field: Sequence[str] | None = ("amount",)) -> None:
        from domain.money import format_amount  # money raises these errors itself

        super().__init__(
            f"{format_amount(str(requested), currency)} asked, only "
            f"{format_amount(str(refundable), currency)} remains refundable",
            field=field,
        )
        self.requested = requested
        self.refundable = refundable


class NotPermitted(DomainError):
    """The caller may not do or read this at all (not a row it cannot see: that is NotFound)."""


class WrongCredentials(DomainError):
    def __init__(self, message: str = "Email or password is wrong") -> None:
        super().__init__(message)


class IdempotencyKeyReused(DomainError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency key {key!r} was already used for a different request",
            field=("idempotencyKey",),
        )
        self.key = key


class DomainErrors(DomainError):
    """Several failures found in one pass, so the caller can fix them all at once."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def raise_all(errors: Sequence[DomainError]) -> None:
    """Raise nothing, the one error, or all of them together (nested groups flattened, so
    each error keeps its own field)."""
    errors = [inner for error in errors
              for inner in (error.errors if isinstance(error, DomainErrors) else [error])]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DomainErrors(errors)


class AlreadyInvoiced(DomainError):
    """The order has its invoice already: an order is invoiced once (refunds are credited)."""

    def __init__(self, order: str, number: str) -> None:
        super().__init__(f"Order {order} is invoiced already: invoice {number}",
                         field=("orderId",))
        self.order = order
        self.number = number


class VoucherInvalid(DomainError):
    """A voucher code that cannot be redeemed on the order: unknown, not active, not valid
    yet, expired, used up, used as often as one customer may, below its minimum subtotal,
    for another channel, currency or customer group, or giving nothing on the order."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{reason}: {code}" if code else reason, field=("voucherCode",))
        self.code = code
        self.reason = reason


class CreditLimitExceeded(DomainError):
    """A company's order would take what it owes (its open receivables) past its credit
    limit."""

    def __init__(self, company: str, *, limit: str, owed: str, total: str,
                 currency: str) -> None:
        super().__init__(f"Company {company}'s credit limit is {limit} {currency}: it owes "
                         f"{owed} {currency}, and this order of {total} {currency} would take "
                         f"it past the limit", field=("companyId",))
        self.company = company
