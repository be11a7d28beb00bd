"""Format and size rules for input, checked before any write so bad input changes nothing."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import addresses
from domain.errors import DomainError, InvalidInput, raise_all

MAX_NAME = 200
MAX_CODE = 64
MAX_TEXT = 2000
MAX_EMAIL = 254
MAX_IDEMPOTENCY_KEY = 200
MAX_TIME_ZONE = 64  # the longest IANA name has 32 characters
# Report days: wide enough for any history, narrow enough that a day's neighbours and its
# midnight in any time zone are still dates.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")



def _name(field: Sequence[str]) -> str:
    """The field as the caller wrote it ("reason", "lines.0.sku"), for messages read alone."""
    return ".".join(field) or "A value"


def text(
    value: str | None, *, field: Sequence[str], max_length: int = MAX_NAME, required: bool = False
) -> str | None:
    """Strip a free-text value and check its length; empty optional values become None."""
    if value is None:
        if required:
            raise InvalidInput(f"{_name(field)} is required", field=field)
        return None
    if "\x00" in value:
        raise InvalidInput("The NUL character is not allowed", field=field)
    cleaned = value.strip()
    if not cleaned:
        if required:
            raise InvalidInput(f"{_name(field)} must not be blank", field=field)
        return None
    if len(cleaned) > max_length:
        raise InvalidInput(f"At most {max_length} characters are allowed", field=field)
    return cleaned


def required_text(value: str, *, field: Sequence[str], max_length: int = MAX_NAME) -> str:
    """Stripped text that must be there: a blank or missing one is INVALID_INPUT naming it."""
    cleaned = text(value, field=field, max_length=max_length, required=True)
    assert cleaned is not None
    return cleaned


def code(value: str, *, field: Sequence[str]) -> str:
    """Codes and SKUs: letters, digits, dot, dash and underscore, 64 characters at most."""
    cleaned = required_text(value, field=field, max_length=MAX_CODE)
    if not CODE_RE.match(cleaned):
        raise InvalidInput(
            "Use letters, digits, '.', '-' and '_' only, starting with a letter or digit",
            field=field,
        )
    return cleaned


def email(value: str | None, *, field: Sequence[str]) -> str | None:
    cleaned = text(value, field=field, max_length=MAX_EMAIL)
    if cleaned is None:
        return None
    if not EMAIL_RE.match(cleaned):
        raise InvalidInput(f"{cleaned!r} is not an email address", field=field)
    return cleaned.lower()


def ip_address(value: str | None, *, field: Sequence[str], strict: bool = True) -> str | None:
    """An IP address in its canonical form; one that is not an address is refused (or,
    not ``strict``, where it was not given by a caller, left out)."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        if not strict:
            return None
        raise InvalidInput(f"{value[:64]!r} is not an IP address", field=field) from None


def quantity(value: int, *, field: Sequence[str], allow_zero: bool = False) -> int:
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(
            "Quantity must be zero or more" if allow_zero else "Quantity must be at least 1",
            field=field,
        )
    if value > 1_000_000_000:
        raise InvalidInput("Quantity is too large", field=field)
    return value


def time_zone(name: str, *, field: Sequence[str] = ("timeZone",)) -> ZoneInfo:
    """An IANA time zone by name (``Europe/Berlin``); a name zoneinfo cannot load is refused."""
    if len(name) <= MAX_TIME_ZONE and "\x00" not in name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    shown = name if len(name) <= MAX_TIME_ZONE else name[:MAX_TIME_ZONE] + "..."
    raise InvalidInput(f"{shown!r} is not an IANA time zone", field=field)


def day_range(start: date, end: date) -> None:
    """The days of a report: in order, and between FIRST_DAY and LAST_DAY."""
    for day, name in ((start, "from"), (end, "to")):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(f"Days are between {FIRST_DAY} and {LAST_DAY}", field=(name,))
    if end < start:
        raise InvalidInput("The range ends before it starts", field=("to",))


def address(value: Mapping[str, Any] | None, *, field: Sequence[str]) -> dict[str, Any] | None:
    """Check an address and return it normalised: the rule of ``domain.addresses``."""
    return addresses.normalise(value, field=field)


def collect(*checks: Any) -> None:
    """Run each check, gather the DomainErrors they raise, and raise them together."""
    errors: list[DomainError] = []
    for check in checks:
        try:
            check()
        except DomainError as error:
            errors.append(error)
    raise_all(errors)
