"""The address rule: ISO countries and subdivisions, postal code formats, normalisation."""

from __future__ import annotations

from typing import Any

import pytest

from domain import addresses
from domain.errors import DomainError, InvalidAddress


def _address(country: str, **parts: Any) -> dict[str, Any]:
    return {"name": " Ann Example ", "line1": " 1 Main St ", "city": "City ",
            "country": country, **parts}


def _fields(value: dict[str, Any]) -> list[tuple[str, ...] | None]:
    with pytest.raises(DomainError) as caught:
        addresses.normalise(value, field=("shippingAddress",))
    flat = getattr(caught.value, "errors", [caught.value])
    assert all(isinstance(error, InvalidAddress) for error in flat)
    return [error.field for error in flat]


@pytest.mark.parametrize(("given", "expected"), [
    (_address("de", postalCode="10115", region="BE"), {"country": "DE", "region": "DE-BE",
                                                      "postalCode": "10115"}),
    (_address("US", postalCode="94105-1234", region="ca"), {"country": "US", "region": "US-CA",
                                                           "postalCode": "94105-1234"}),
    (_address("US", postalCode="10001", region="New York"), {"region": "US-NY"}),
    (_address("CN", postalCode="518000", region="Guangdong Sheng"), {"region": "CN-GD"}),
    (_address("CN", postalCode="100000", region="CN-BJ"), {"region": "CN-BJ"}),
    (_address("gb", postalCode="sw1a  1aa"), {"country": "GB", "postalCode": "SW1A 1AA"}),
    (_address("GB", postalCode="M1 1AE"), {"postalCode": "M1 1AE"}),
    (_address("JP", postalCode="100-0001", region="13"), {"region": "JP-13"}),
    (_address("JP", postalCode="1000001"), {"postalCode": "1000001"}),
    # Free text, as marketplaces send it: kept as written.
    (_address("GB", postalCode="SW1A 1AA", region=" Greater London "),
     {"region": "Greater London"}),
    (_address("DE", postalCode="80331", region="Bavaria"), {"region": "Bavaria"}),
    # A name two subdivisions share: the higher-level one.
    (_address("ES", postalCode="39001", region="Cantabria"), {"region": "ES-CB"}),
    # No format on file for Brazil: any postal code of 20 characters or fewer is kept.
    (_address("BR", postalCode=" 01310-100 "), {"country": "BR", "postalCode": "01310-100"}),
])
def test_good_addresses_are_normalised(given: dict[str, Any], expected: dict[str, Any]) -> None:
    cleaned = addresses.normalise(given, field=("shippingAddress",))
    assert cleaned is not None
    assert {key: cleaned[key] for key in expected} == expected
    assert (cleaned["name"], cleaned["line1"], cleaned["city"]) == (
        "Ann Example", "1 Main St", "City")


@pytest.mark.parametrize(("given", "fields"), [
    (_address("XX", postalCode="12345"), [("shippingAddress", "country")]),
    (_address("ZZ"), [("shippingAddress", "country")]),
    (_address("DEU", postalCode="10115"), [("shippingAddress", "country")]),
    (_address("DE", postalCode="1011"), [("shippingAddress", "postalCode")]),
    (_address("DE"), [("shippingAddress", "postalCode")]),
    (_address("US", postalCode="10001", region="DE-BY"), [("shippingAddress", "region")]),
    (_address("US", postalCode="1\x00"), [("shippingAddress", "postalCode")]),
    (_address("CN", postalCode="51800"), [("shippingAddress", "postalCode")]),
    (_address("GB", postalCode="12345"), [("shippingAddress", "postalCode")]),
    (_address("JP", postalCode="100-000"), [("shippingAddress", "postalCode")]),
    ({"line1": "1 Main St", "city": " ", "country": "XX"},
     [("shippingAddress", "name"), ("shippingAddress", "city"), ("shippingAddress", "country")]),
])
def test_bad_addresses_name_every_field(given: dict[str, Any],
                                        fields: list[tuple[str, ...]]) -> None:
    assert _fields(given) == fields
