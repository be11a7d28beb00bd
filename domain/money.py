"""Money as Decimal plus an ISO 4217 currency; amounts are rounded to the currency's exponent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from domain.errors import InvalidInput

# Active ISO 4217 codes. Most have two minor digits; the exceptions are listed by exponent.
_TWO_DIGITS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG"
)
_ZERO_DIGITS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DIGITS = "BHD IQD JOD KWD LYD OMR TND"

CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DIGITS.split(), 2),
    **dict.fromkeys(_ZERO_DIGITS.split(), 0),
    **dict.fromkeys(_THREE_DIGITS.split(), 3),
}


# A price, and an order's total, stay below this: the money columns are numeric(18, 4)
# and the sales summaries add many orders up in them.
MAX_AMOUNT = Decimal("1e12")


def validate_currency(code: str, *, field: tuple[str, ...] = ("currency",)) -> str:
    """Return the code if it is an active ISO 4217 currency; raise InvalidInput otherwise."""
    if code not in CURRENCY_EXPONENTS:
        raise InvalidInput(f"{code!r} is not an ISO 4217 currency code", field=field)
    return code


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS[currency]


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN)


def format_amount(amount: Decimal | int | str, currency: str) -> str:
    """An amount as people read it: the currency's minor units ("100.00 EUR", "500 JPY")."""
    value = Decimal(amount)
    if currency in CURRENCY_EXPONENTS and value.is_finite():
        value = quantize(value, currency)
    return f"{value:f} {currency}"


def parse_price(value: Decimal | str, currency: str, *, field: tuple[str, ...]) -> Decimal:
    """A price must be finite, not negative, and have no more digits than its currency allows."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not a decimal amount", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput("A price must be a finite amount of zero or more", field=field)
    if amount >= MAX_AMOUNT:
        raise InvalidInput("A price must be below 1,000,000,000,000", field=field)
    if quantize(amount, currency) != amount:
        raise InvalidInput(
            f"{currency} amounts have {exponent(currency)} decimal places at most", field=field
        )
    return quantize(amount, currency)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(quantize(Decimal(amount), currency), currency)


def plain(value: Decimal) -> Decimal:
    """A decimal without trailing zeros or an exponent (19.0000 -> 19, 7.2500 -> 7.25)."""
    return Decimal(format(Decimal(value).normalize(), "f"))
