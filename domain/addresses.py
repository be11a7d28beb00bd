"""The one address rule: every path that takes an address (orders, locations, customers'
addresses, marketplace imports, ``addressValidate``) checks and normalises it here.

- ``country``: an ISO 3166-1 alpha-2 code known to pycountry, upper-cased ("de" -> "DE");
  "XX" and other unassigned codes are refused.
- ``region``: optional. One that names a subdivision of the country, by code ("CA" or
  "US-CA") or by its name ("California"), is stored as its ISO 3166-2 code ("US-CA"); a
  name of another level or language ("Greater London", "Bavaria") is kept as written, as
  marketplaces send free text; the code of another country's subdivision ("DE-BY" for
  US) is refused. A name shared by two subdivisions means the higher-level one.
- ``postalCode``: upper-cased with runs of spaces collapsed; required and checked against
  the format for the countries in ``POSTCODE_RES``; any other country takes any postal code
  up to 20 characters (no maintained per-country table is packaged, so the fallback is
  permissive).
- text lines are trimmed; name, line1, city and country are required.

A broken rule is ``InvalidAddress`` naming the field (``shippingAddress.country``); all
problems of one address are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import pycountry

from domain.errors import DomainError, InvalidAddress, InvalidInput, raise_all

MAX_NAME = 200

# Postal code formats for the countries where the format is well defined (upper-cased input).
POSTCODE_RES: dict[str, re.Pattern[str]] = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "IT": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Z]{2}$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
    "CA": re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"),
    "CN": re.compile(r"^\d{6}$"),
    "JP": re.compile(r"^\d{3}-?\d{4}$"),
    "AU": re.compile(r"^\d{4}$"),
}
LIMITS = {"name": MAX_NAME, "line1": MAX_NAME, "line2": MAX_NAME, "city": 100,
          "region": 100, "postalCode": 20, "country": 2, "phone": 32}
REQUIRED = ("name", "line1", "city", "country")


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@lru_cache(maxsize=512)
def _subdivisions(country: str) -> dict[str, str]:
    """Lower-cased code (with and without the country prefix) and name -> ISO 3166-2 code."""
    found: dict[str, str] = {}
    # Lower levels first, so that a name two subdivisions share means the higher-level one.
    subs = sorted(pycountry.subdivisions.get(country_code=country) or (),
                  key=lambda sub: sub.parent_code is None)
    for sub in subs:
        found[sub.code.lower()] = sub.code
        found[sub.code.split("-", 1)[1].lower()] = sub.code
        found[sub.name.lower()] = sub.code
    return found


def country_code(value: str, *, field: Sequence[str]) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; InvalidAddress otherwise."""
    code = (value or "").strip().upper()
    if code not in _countries():
        raise InvalidAddress(f"{value!r} is not a country code (ISO 3166-1 alpha-2)",
                             field=field)
    return code


def subdivision_code(country: str, value: str, *, field: Sequence[str]) -> str:
    """The ISO 3166-2 code of one of the country's subdivisions, by code or name."""
    code = _subdivisions(country).get((value or "").strip().lower())
    if code is None:
        raise InvalidAddress(f"{value!r} is not a subdivision (ISO 3166-2) of {country}",
                             field=field)
    return code


def warm() -> None:
    """Load the country and subdivision tables now (about 0.2 s, once per process), so
    that the first address of a request does not wait for them."""
    _countries()
    _subdivisions("DE")


_OTHER_CODE = re.compile(r"^([A-Za-z]{2})-[A-Za-z0-9]{1,3}$")


def _text(value: Any, *, field: tuple[str, ...], limit: int, required: bool) -> str | None:
    label = ".".join(field)
    if value is None:
        if required:
            raise InvalidAddress(f"{label} is required", field=field)
        return None
    if isinstance(value, str) and not value.strip():
        if required:
            raise InvalidAddress(f"{label} must not be blank", field=field)
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidAddress(f"{label} is not text", field=field)
    cleaned = value.strip()
    if len(cleaned) > limit:
        raise InvalidAddress(f"At most {limit} characters are allowed", field=field)
    return cleaned


def _failed(errors: list[DomainError], field: tuple[str, ...]) -> bool:
    return any(tuple(error.field or ()) == field for error in errors)


def normalise(value: Mapping[str, Any] | None, *, field: Sequence[str]) -> dict[str, Any] | None:
    """Check an address and return it normalised; every problem is reported at once."""
    if value is None:
        return None
    base = tuple(field)
    errors: list[DomainError] = []
    cleaned: dict[str, Any] = {}
    for key, bound in (("latitude", 90), ("longitude", 180)):
        coordinate = value.get(key)
        if coordinate is None:
            continue
        if not -bound <= coordinate <= bound:
            errors.append(InvalidInput(f"{key.title()} is between -{bound} and {bound}",
                                       field=(*base, key)))
        else:
            cleaned[key] = float(coordinate)
    for key, limit in LIMITS.items():
        try:
            part = _text(value.get(key), field=(*base, key), limit=limit,
                         required=key in REQUIRED)
        except DomainError as error:
            errors.append(error)
            continue
        if part is not None:
            cleaned[key] = part
    country = str(cleaned.get("country", "")).upper()
    known = False
    if country:
        cleaned["country"] = country
        known = country in _countries()
        if not known:
            errors.append(InvalidAddress(
                f"{country!r} is not an ISO 3166-1 alpha-2 country code",
                field=(*base, "country")))
    region = cleaned.get("region")
    if known and region is not None:
        code = _subdivisions(country).get(region.lower())
        other = _OTHER_CODE.match(region)
        if code is not None:
            cleaned["region"] = code
        elif other is not None and other.group(1).upper() != country:
            errors.append(InvalidAddress(
                f"{region!r} is not a subdivision (ISO 3166-2) of {country}",
                field=(*base, "region")))
    postcode = cleaned.get("postalCode")
    if postcode is not None:
        postcode = " ".join(postcode.upper().split())
        cleaned["postalCode"] = postcode
    pattern = POSTCODE_RES.get(country)
    if pattern is not None and not _failed(errors, (*base, "postalCode")):
        if postcode is None:
            errors.append(InvalidAddress(f"A postal code is required for {country}",
                                         field=(*base, "postalCode")))
        elif not pattern.match(postcode):
            errors.append(InvalidAddress(f"{postcode!r} is not a postal code of {country}",
                                         field=(*base, "postalCode")))
    raise_all(errors)
    return cleaned
