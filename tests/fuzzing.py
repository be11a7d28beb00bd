"""GraphQL documents drawn from the schema, and how the endpoint answered them.

Shared by the fuzz test (tests/api/test_fuzz.py) and the longer run (bench/fuzz.py).
Arguments mix values that reach real rows (harvested IDs, codes, SKUs) with the
input a careless or hostile client sends: NUL bytes, very long strings, IDs of
huge primary keys, year 1 and year 9999, non-finite and huge decimals.
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

HARVEST = """{
  channels { id code currency }
  locations { id code }
  products(first: 20) { edges { node { id variants { id sku } } } }
  orders(first: 20) { edges { node { id number email
    lines { id } shipments { id trackingNumber } returns { id } payments { id } } } }
  customers(first: 20, sortBy: LAST_ORDER) { edges { node { id email } } }
}"""

EDGE_INTS = (0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30)
EDGE_DATES = ("0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31", "2024-02-29", "2026-13-01",
              "0000-01-01", "10000-01-01", "")
EDGE_DATETIMES = ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                  "9999-12-31T23:59:59-12:00", "2026-01-01T00:00:00", "1970-01-01T00:00:00+00:00")
EDGE_DECIMALS = ("NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "inf", "1e1000000", "-1e999",
                 "1E-1000000", "9" * 40, "0." + "0" * 40 + "1", "-0", "0", "0.01", "12.345", "1e2",
                 "99999999999999.99", "100000000000000", " 1", "1,5", "")
TIME_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Etc/GMT+12",
              "Not/AZone", "../../etc/passwd", "utc", "Europe/Berlin\x00", "+01:00")


@dataclass
class Pool:
    """Values that name real rows of the database under test."""

    ids: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)

    def add(self, values: Iterable[Any], into: list[str]) -> None:
        for value in values:
            if isinstance(value, str) and value not in into:
                into.append(value)


def harvest(data: Mapping[str, Any]) -> Pool:
    """Every id and every readable reference in the answer to HARVEST."""
    pool = Pool()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "id":
                    pool.add([item], pool.ids)
                elif isinstance(item, str):
                    pool.add([item], pool.strings)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return pool


def _gid(type_name: str, pk: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _forged_cursors() -> st.SearchStrategy[str]:
    """Cursors as the lists make them ([key] or [sort value, key]), holding anything."""
    part = st.one_of(st.sampled_from(EDGE_INTS), st.integers(), st.text(max_size=8),
                     st.sampled_from(EDGE_DECIMALS + EDGE_DATETIMES), st.floats(), st.booleans(),
                     st.none())
    return st.lists(part, min_size=1, max_size=3).map(_cursor)


def _node_types(schema: graphql.GraphQLSchema) -> list[str]:
    return sorted(
        name for name, kind in schema.type_map.items()
        if isinstance(kind, graphql.GraphQLObjectType)
        and any(interface.name == "Node" for interface in kind.interfaces)
    )


def _hostile_text() -> st.SearchStrategy[str]:
    printable = st.text(alphabet=string.ascii_letters + string.digits + "-_.@ ", max_size=12)
    return st.one_of(
        st.text(max_size=20),  # any code point but surrogates, NUL included
        st.builds(lambda a, b: f"{a}\x00{b}", printable, printable),
        st.builds(lambda char, n: char * n, st.sampled_from("a7-é\x00 "),
                  st.sampled_from((65, 101, 201, 256, 2001, 5000, 70_000))),
    )


def scalars(schema: graphql.GraphQLSchema, pool: Pool) -> dict[str, st.SearchStrategy[Any]]:
    """Strategies for every scalar of the schema, as GraphQL value nodes."""
    types = _node_types(schema)
    known_ids = st.sampled_from(pool.ids) if pool.ids else st.nothing()
    known_strings = st.sampled_from(pool.strings) if pool.strings else st.nothing()
    forged_ids = st.builds(_gid, st.sampled_from(types),
                           st.one_of(st.sampled_from(EDGE_INTS), st.integers(), st.text(max_size=8)))
    text = st.one_of(known_strings, known_strings, _hostile_text(), st.sampled_from(TIME_ZONES),
                     _forged_cursors())
    dates = st.one_of(st.dates().map(date.isoformat), st.sampled_from(EDGE_DATES),
                      st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
                      .map(date.isoformat))
    datetimes = st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        st.sampled_from(EDGE_DATETIMES), st.text(max_size=10),
    )
    decimals = st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(EDGE_DECIMALS), st.integers().map(str),
        st.decimals(min_value=0, max_value=1000, places=2).map(str),
    )
    return {
        "ID": st.one_of(known_ids, known_ids, forged_ids, _hostile_text()).map(nodes.String),
        "String": text.map(nodes.String),
        "Date": dates.map(nodes.String),
        "DateTime": datetimes.map(nodes.String),
        "Decimal": decimals.map(nodes.String),
    }


def documents(
    schema: graphql.GraphQLSchema, pool: Pool, *, negative: bool = False
) -> st.SearchStrategy[str]:
    """Queries and mutations of one root field each; ``negative`` adds one schema violation.

    One root field a document, so that one refused argument does not hide the others.
    """
    custom = scalars(schema, pool)
    mode = Mode.NEGATIVE if negative else Mode.POSITIVE
    # A schema violation needs an argument to put it in.
    roots = [name for root in (schema.query_type, schema.mutation_type) if root is not None
             for name, field in root.fields.items() if field.args or not negative]
    return st.one_of([from_schema(schema, fields=[name], custom_scalars=custom, mode=mode)
                      for name in roots])


def outcome(status: int, body: Any) -> str:
    """One word for an answer: 'crash' for a 500, a non-JSON body or an uncoded error."""
    if status >= 500 or not isinstance(body, dict):
        return "crash"
    errors = body.get("errors") or []
    codes = sorted({(error.get("extensions") or {}).get("code") or "NO_CODE" for error in errors})
    if "INTERNAL_SERVER_ERROR" in codes or "NO_CODE" in codes:
        return "crash"
    if codes:
        return "error:" + ",".join(codes)
    return "ok"


def first_crash(body: Any) -> str:
    """The message of the first uncoded or internal error, to show beside the document."""
    if not isinstance(body, dict):
        return repr(body)[:500]
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL_SERVER_ERROR"):
            return f"{error.get('path')}: {error.get('message')}"
    return ""
