"""Every mutation of the schema, sent by a staff member of each built-in role: refused with
FORBIDDEN exactly when the role lacks the permission the mutation states, and let through
otherwise. A mutation added tomorrow is tried by every role the day it is added; the
operations a shop's people rely on are also held to a table written by hand."""

from __future__ import annotations

import base64

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
)

from api.graphql.permissions import Requires
from api.graphql.schema import build_schema
from domain.access import Permission
from domain.staff.roles import BUILT_IN
from tests import factories
from tests.api.test_staff import staff
from tests.support import GraphQLClient

SCHEMA = build_schema()
MISSING = base64.urlsafe_b64encode(b"Nothing:2147480000").decode()  # no row of any kind
SCALARS = {"ID": f'"{MISSING}"', "String": '"filler"', "Int": "1", "Float": "1.0",
           "Boolean": "false", "Decimal": '"1.00"', "DateTime": '"2026-01-01T00:00:00Z"',
           "Date": '"2026-01-01"'}
ALLOWED, FORBIDDEN = "allowed", "FORBIDDEN"

# What each role's people do every day, and what they must not: written by hand, so a
# change to a role or to a mutation's permission that breaks the shop's day shows here.
DAILY: dict[str, dict[str, set[str]]] = {
    "owner": {ALLOWED: {"staffCreate", "oauthClientCreate", "webhookSubscriptionCreate",
                        "paymentRefund", "inventoryAdjust", "productCreate"}, FORBIDDEN: set()},
    "manager": {ALLOWED: {"staffCreate", "staffPasswordReset", "productCreate", "orderCancel",
                          "paymentRefund", "inventoryAdjust", "shipmentShip"},
                FORBIDDEN: {"oauthClientCreate", "storefrontKeyCreate",
                            "webhookSubscriptionCreate", "marketplaceConnect"}},
    "warehouse": {ALLOWED: {"inventoryAdjust", "inventoryTransfer", "shipmentCreate",
                            "shipmentShip", "shipmentTrackingEventAdd"},
                  FORBIDDEN: {"paymentRefund", "paymentCapture", "orderCancel", "staffCreate",
                              "productCreate", "returnApprove"}},
    "customer_service": {ALLOWED: {"orderCreate", "orderHold", "orderCancel", "returnApprove",
                                   "returnRequest"},
                         FORBIDDEN: {"inventoryAdjust", "paymentCapture", "shipmentShip",
                                     "staffCreate", "productCreate"}},
    "finance": {ALLOWED: {"paymentCapture", "paymentRefund", "paymentCreate"},
                FORBIDDEN: {"inventoryAdjust", "shipmentShip", "orderCancel", "staffCreate",
                            "returnApprove"}},
}


def permission_of(mutation: str) -> Permission | None:
    """The permission the mutation states (``requires(...)``); None for public ones."""
    field = SCHEMA.get_field_for_type(mutation, "Mutation")
    assert field is not None, mutation
    for extension in field.extensions:
        for check in getattr(extension, "permissions", ()):
            if isinstance(check, Requires):
                return check.permission
    raise AssertionError(f"{mutation} states no permission")


def filler(t: GraphQLInputType) -> str:
    """A literal of the type: required fields only, rows that do not exist."""
    if isinstance(t, GraphQLNonNull):
        return filler(t.of_type)
    if isinstance(t, GraphQLList):
        return f"[{filler(t.of_type)}]"
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType):
        given = [f"{name}: {filler(f.type)}" for name, f in t.fields.items()
                 if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined]
        return "{" + ", ".join(given) + "}"
    return SCALARS[t.name]


def document(mutation: str) -> str:
    field = SCHEMA._schema.mutation_type.fields[mutation]
    args = [f"{name}: {filler(a.type)}" for name, a in field.args.items()
            if isinstance(a.type, GraphQLNonNull)]
    given = f"({', '.join(args)})" if args else ""
    return f"mutation {{ {mutation}{given} {{ __typename }} }}"


async def outcome(api: GraphQLClient, mutation: str, headers: dict[str, str]) -> str:
    body = (await api.raw(document(mutation), admin=False, headers=headers)).json()
    # Errors of the field's execution (with a path), not of the document's validation.
    found = [e.get("extensions", {}).get("code") for e in body.get("errors") or ()
             if e.get("path") == [mutation]]
    if FORBIDDEN in found:
        return FORBIDDEN
    if (body.get("data") or {}).get(mutation) is not None or "BAD_REQUEST" in found:
        return ALLOWED  # it ran (a filler's userErrors), or its arguments were checked after
    raise AssertionError(f"the role test cannot send {mutation}: teach it ({body})")


@pytest.fixture
async def members(api: GraphQLClient, uncosted: None) -> dict[str, dict[str, str]]:
    await factories.shop({"SHOE": {"a": 5}})
    return {role: await staff(api, f"{role}@shop.test", role) for role in BUILT_IN}


async def test_every_mutation_is_refused_to_exactly_the_roles_without_its_permission(
        api: GraphQLClient, members: dict[str, dict[str, str]]) -> None:
    gated = {name: permission_of(name) for name in SCHEMA._schema.mutation_type.fields}
    gated = {name: p for name, p in gated.items() if p is not None}
    assert {"staffCreate", "inventoryAdjust", "paymentRefund"} <= set(gated)
    seen: dict[str, dict[str, str]] = {}
    for role, headers in members.items():
        held = BUILT_IN[role][1]
        for mutation, permission in sorted(gated.items()):
            got = await outcome(api, mutation, headers)
            seen.setdefault(role, {})[mutation] = got
            assert got == (ALLOWED if permission in held else FORBIDDEN), (role, mutation, got)
    for role, table in DAILY.items():
        for expected, mutations in table.items():
            assert {m: seen[role][m] for m in mutations} == dict.fromkeys(mutations, expected), \
                role
    # The owner holds every permission: nothing is refused to them.
    assert set(seen["owner"].values()) == {ALLOWED}


async def test_a_members_reads_follow_their_role(
        api: GraphQLClient, members: dict[str, dict[str, str]]) -> None:
    await factories.place({"SHOE": 1})
    reads = {"orders": "{ orders(first: 5) { edges { node { number } } } }",
             "stock": '{ variant(sku: "SHOE") { stock { onHand } } }',
             "report": '{ salesReport(from: "2026-01-01", to: "2026-01-02") { __typename } }',
             "staff": "{ staffMembers(first: 5) { edges { node { email } } } }"}
    expected = {
        "owner": {"orders", "stock", "report", "staff"},
        "manager": {"orders", "stock", "report", "staff"},
        "warehouse": {"orders", "stock"},
        "customer_service": {"orders", "stock"},
        "finance": {"orders", "stock", "report"},
    }
    for role, headers in members.items():
        shown = set()
        for name, query in reads.items():
            body = (await api.raw(query, admin=False, headers=headers)).json()
            data = body.get("data") or {}
            if name == "stock":
                stock = (data.get("variant") or {}).get("stock") or []
                if stock and stock[0]["onHand"] is not None:
                    shown.add(name)
            elif not body.get("errors"):
                shown.add(name)
        assert shown == expected[role], role


