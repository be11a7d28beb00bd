"""Setting the merchant's tax rates, and a buyer's tax exemption.

``taxRatesSet`` writes every rate given (one per country, region and tax class: a second
one for the same key replaces the first) in one transaction, or none when any is wrong;
``taxRatesDelete`` removes rates by their key. Either drops the rates every process keeps
(``domain.taxes.table.rates_cache``). Orders already placed keep the tax they were
charged: each line stores its rate, its name and its tax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain import validation as v
from domain.addresses import country_code, subdivision_code
from domain.customers.models import Customer
from domain.errors import DomainError, InvalidInput, NotFound, raise_all
from domain.events.models import OutboxMessage
from domain.events.ports import settings_topic
from domain.taxes.models import TaxClass, TaxRate
from domain.taxes.table import rates_cache
from domain.uow import unit_of_work

MAX_RATES = 500  # one call
MAX_TAX_NUMBER = 32


@dataclass(frozen=True)
class RateSpec:
    country: str
    tax_class: TaxClass
    rate: Decimal | str
    region: str | None = None
    name: str | None = None


Key = tuple[str, str | None, TaxClass]


def _key(country: str, region: str | None, tax_class: TaxClass, *, at: tuple[str, ...],
         errors: list[DomainError]) -> Key | None:
    try:
        code = country_code(country, field=(*at, "country"))
        named = v.text(region, field=(*at, "region"), max_length=100)
        area = subdivision_code(code, named, field=(*at, "region")) if named else None
    except InvalidInput as error:  # a country is no address: INVALID_INPUT like the rest
        errors.append(InvalidInput(error.message, field=error.field))
        return None
    return code, area, tax_class


def _rate(value: Decimal | str, *, field: tuple[str, ...]) -> Decimal:
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{value!r} is not a number", field=field) from None
    if not rate.is_finite() or not 0 <= rate < 100 or rate.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidInput("A rate is a percentage from 0 to below 100, with at most 4 "
                           "decimals", field=field)
    return rate


def _cleaned(specs: Sequence[RateSpec]) -> dict[Key, tuple[Decimal, str]]:
    if not specs:
        raise InvalidInput("Give at least one rate", field=("rates",))
    if len(specs) > MAX_RATES:
        raise InvalidInput(f"At most {MAX_RATES} rates at once", field=("rates",))
    errors: list[DomainError] = []
    cleaned: dict[Key, tuple[Decimal, str]] = {}
    for i, spec in enumerate(specs):
        at = ("rates", str(i))
        key = _key(spec.country, spec.region, spec.tax_class, at=at, errors=errors)
        try:
            rate = _rate(spec.rate, field=(*at, "rate"))
            name = v.text(spec.name, field=(*at, "name"), max_length=64)
        except InvalidInput as error:
            errors.append(error)
            continue
        if key is None:
            continue
        if key in cleaned:
            errors.append(InvalidInput("Each country, region and tax class once",
                                       field=(*at, "country")))
            continue
        cleaned[key] = (rate, name or f"{key[1] or key[0]} {rate.normalize():f}%")
    raise_all(errors)
    return cleaned


async def set_rates(specs: Sequence[RateSpec]) -> list[TaxRate]:
    """Create or replace each rate (by country, region and tax class); all or none."""
    cleaned = _cleaned(specs)
    try:
        async with unit_of_work() as conn:
            written = []
            for (country, region, tax_class), (rate, name) in cleaned.items():
                row = await TaxRate.filter(country=country, region=region,
                                           tax_class=tax_class).using_db(conn).first()
                if row is None:
                    row = await TaxRate.create(country=country, region=region,
                                               tax_class=tax_class, rate=rate, name=name,
                                               using_db=conn)
                else:
                    row.rate, row.name = rate, name
                    await row.save(using_db=conn)
                written.append(row)
            await OutboxMessage.create(topic=settings_topic(), payload=rates_cache.changed(),
                                       using_db=conn)
            return written
    finally:  # the next order here is taxed with them, and elsewhere once told
        rates_cache.clear()


async def delete_rates(keys: Sequence[tuple[str, str | None, TaxClass]]) -> int:
    """Remove the rates with these keys; NOT_FOUND (nothing removed) for one that is not
    set."""
    if not keys:
        raise InvalidInput("Give at least one rate", field=("rates",))
    if len(keys) > MAX_RATES:
        raise InvalidInput(f"At most {MAX_RATES} rates at once", field=("rates",))
    errors: list[DomainError] = []
    cleaned = [_key(c, r, t, at=("rates", str(i)), errors=errors)
               for i, (c, r, t) in enumerate(keys)]
    raise_all(errors)
    try:
        async with unit_of_work() as conn:
            for i, key in enumerate(cleaned):
                assert key is not None
                removed = await TaxRate.filter(country=key[0], region=key[1],
                                               tax_class=key[2]).using_db(conn).delete()
                if not removed:
                    raise NotFound("Tax rate", " ".join(str(k) for k in key if k),
                                   field=("rates", str(i)))
            await OutboxMessage.create(topic=settings_topic(), payload=rates_cache.changed(),
                                       using_db=conn)
            return len(cleaned)
    finally:
        rates_cache.clear()


async def set_exemption(*, customer_id: int, exempt: bool, tax_number: str | None
                        ) -> Customer:
    """Make a customer tax-exempt (with the number that proves it) or not; their next
    orders are taxed accordingly, placed ones stay as they were."""
    number = v.text(tax_number, field=("taxNumber",), max_length=MAX_TAX_NUMBER)
    if exempt and number is None:
        raise InvalidInput("A tax-exempt customer needs their tax number",
                           field=("taxNumber",))
    async with unit_of_work() as conn:
        customer = await Customer.filter(id=customer_id).select_for_update().using_db(
            conn).first()
        if customer is None:
            raise NotFound("Customer", str(customer_id), field=("customerId",))
        customer.tax_exempt, customer.tax_number = exempt, number
        await customer.save(update_fields=["tax_exempt", "tax_number"], using_db=conn)
        return customer
