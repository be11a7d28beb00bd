"""Reading what vendors send: JSON of bounded depth, and fields of the types they document.

Every problem is one ``UnreadablePayload`` (a ``ValueError``) whose message names
the field, so the inbound edge answers each the same way (400) and nothing
malformed reaches the domain: not a ``None`` where a mapping was documented, not
a number where text was, not a string longer than the column that stores it.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 64  # far beyond any vendor's documented payload or any GraphQL input


class UnreadablePayload(ValueError):
    """A body (signed or not) whose content is not of the documented shape."""


def json_value(data: str | bytes, what: str = "the body") -> Any:
    """Any JSON value, nested at most MAX_DEPTH deep; invalid UTF-8 is unreadable too."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise UnreadablePayload(f"{what} is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise UnreadablePayload(f"{what} is not JSON: {error}") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else ()
        if children and depth >= MAX_DEPTH:
            raise UnreadablePayload(f"{what} is nested more than {MAX_DEPTH} deep")
        stack.extend((child, depth + 1) for child in children)
    return value


def json_object(data: str | bytes, what: str = "the body") -> dict[str, Any]:
    return mapping(json_value(data, what), what)


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnreadablePayload(f"{what} is not an object")
    return value


def optional_mapping(value: Any, what: str) -> dict[str, Any]:
    """A mapping, or an empty one where the vendor sent null or nothing."""
    return {} if value is None else mapping(value, what)


def items(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise UnreadablePayload(f"{what} is not a list")
    return value


def text(value: Any, what: str, *, max_length: int = 255) -> str:
    """A string (or a number, which vendors use for ids) of at most max_length characters."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnreadablePayload(f"{what} is not text")
    found = str(value)
    if not found or len(found) > max_length:
        raise UnreadablePayload(f"{what} is empty or longer than {max_length} characters")
    return found


def optional_text(value: Any, what: str, *, max_length: int = 255) -> str | None:
    return None if value is None or value == "" else text(value, what, max_length=max_length)


def integer(value: Any, what: str, *, minimum: int = 0, maximum: int = 10**15) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UnreadablePayload(f"{what} is not a whole number from {minimum} to {maximum}")
    return value


def amount(value: Any, what: str) -> Decimal:
    """A decimal amount, as vendors send them: a string ("19.99") or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnreadablePayload(f"{what} is not an amount")
    try:
        found = Decimal(str(value).strip())
    except InvalidOperation:
        raise UnreadablePayload(f"{what} is not an amount") from None
    if not found.is_finite() or len(str(value)) > 40:
        raise UnreadablePayload(f"{what} is not a finite amount")
    return found


def optional_amount(value: Any, what: str) -> Decimal | None:
    return None if value is None or value == "" else amount(value, what)
