"""Scalars that refuse what no column holds: non-finite or huge decimals, timestamps near year 1.

They replace strawberry's Decimal and DateTime under the same names, so the schema's
text does not change; a value they refuse is a BAD_REQUEST before anything runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from operator import methodcaller

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

# Money columns are numeric(18, 4): fourteen digits before the point.
DECIMAL_BOUND = Decimal(10) ** 14
FIRST_YEAR, LAST_YEAR = 1900, 9998


def parse_decimal(value: object) -> Decimal:
    try:
        amount = Decimal(value if isinstance(value, str) else str(value))
    except DecimalException:
        raise StrawberryInputCoercionError(f"Value cannot represent a Decimal: {value!r}.") from None
    if not amount.is_finite():
        raise StrawberryInputCoercionError(f"A Decimal is a finite number, not {value!r}.")
    if abs(amount) >= DECIMAL_BOUND:
        raise StrawberryInputCoercionError("A Decimal has at most 14 digits before the point.")
    return amount


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(f"Value cannot represent a DateTime: {value!r}.")
    try:
        moment = dateutil.parser.isoparse(value)
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise StrawberryInputCoercionError(
            f"Value cannot represent a DateTime: {value!r}. {error}") from None
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise StrawberryInputCoercionError(
            f"A DateTime is between the years {FIRST_YEAR} and {LAST_YEAR} (UTC).")
    return moment


DecimalScalar = ScalarDefinition(
    name="Decimal", description="Decimal (fixed-point)", specified_by_url=None,
    serialize=str, parse_value=parse_decimal, parse_literal=None, origin=Decimal,
)
DateTimeScalar = ScalarDefinition(
    name="DateTime", description="Date with time (isoformat)", specified_by_url=None,
    serialize=methodcaller("isoformat"), parse_value=parse_datetime, parse_literal=None, origin=datetime,
)
SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {Decimal: DecimalScalar, datetime: DateTimeScalar}
