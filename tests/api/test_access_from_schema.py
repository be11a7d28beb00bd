"""Who sees what, read off the schema: every root query, every Node type, every field that
leads from one object to another, every report export and every subscription, asked by each
kind of caller. A field added tomorrow is asked the day it is added.

The shop holds three buyers' data, each marked with strings found nowhere else: a signed-in
customer's order on channel web, a guest's order on web, and a buyer's order on channel
other. Each caller may see the markers of what is its own and nothing else; the admin sees
every marker, which shows that the documents reach them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)

from api.graphql.schema import build_schema
from domain.access import Permission
from domain.staff.roles import BUILT_IN
from tests import factories
from tests.api.test_customers_and_guests import _register, bearer
from tests.api.test_partners import _bearer
from tests.api.test_staff import staff
from tests.api.test_subscriptions import subscriber
from tests.support import ADMIN_TOKEN, GraphQLClient

SCHEMA = build_schema()._schema
MAX_DEPTH = 7  # object levels below a root field; deep enough for order.customer.orders...
TOKEN_BUDGET = 2500  # half the document limit
LOOKUPS = ("id", "email", "number", "trackingNumber", "channel")
CATALOGUE = {"channels", "locations", "products", "variant", "availability", "me"}
STOCK_FIELDS = {"onHand", "reserved", "safetyStock"}
TODAY = datetime.now(UTC).date().isoformat()

PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number } orderAccessToken userErrors { code } } }"""


def _address(line1: str, name: str) -> dict[str, str]:
    return {"name": name, "line1": line1, "city": "Berlin", "postalCode": "10115",
            "country": "DE"}


async def _world(api: GraphQLClient) -> dict[str, Any]:
    await factories.location("a")
    await factories.location("b")
    await factories.channel("web", locations=["a"])
    await factories.channel("other", locations=["b"])
    await factories.product("SHOE")
    await factories.product("SECRETSKU")
    await factories.stock("SHOE", {"a": 10})
    await factories.stock("SECRETSKU", {"b": 10})
    xena_tokens = await _register(api, "xena.marker@victim.test")
    zed_tokens = await _register(api, "zed.marker@victim.test")
    xena = bearer(xena_tokens["accessToken"])

    async def place(headers: dict[str, str] | None, channel: str, sku: str, email: str,
                    line1: str, name: str) -> dict[str, Any]:
        data = (await api(PLACE, {"input": {
            "channel": channel, "email": email, "lines": [{"sku": sku, "quantity": 1}],
            "shippingAddress": _address(line1, name), "poNumber": f"PO-{name}",
            "externalId": f"EXT-{name}", "payment": {"provider": "manual", "method": "invoice"}}},
            admin=headers is None, headers=headers or {}))["orderCreate"]
        assert data["userErrors"] == [], data
        return data

    a = await place(xena, "web", "SHOE", "xena.marker@victim.test", "Xena Street 1", "XenaName")
    g = await place(None, "web", "SHOE", "gina.marker@victim.test", "Gina Lane 2", "GinaName")
    o = await place(None, "other", "SECRETSKU", "otto.marker@victim.test", "Otto Road 3",
                    "OttoName")
    for order in (a, g, o):
        gid = order["order"]["id"]
        await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
                  {"id": gid})
        shipped = await api("mutation($o: ID!) { shipmentCreate(input: {orderId: $o}) "
                            "{ shipment { id } userErrors { code } } }", {"o": gid})
        sid = shipped["shipmentCreate"]["shipment"]["id"]
        await api('mutation($s: ID!, $n: String!) { shipmentShip(input: {shipmentId: $s, '
                  'trackingNumber: $n}) { userErrors { code } } }',
                  {"s": sid, "n": f"TRK{order['order']['number']}"})
    ids = await api("""{ orders(first: 10) { edges { node { id number customer { id }
        shipments { id trackingNumber } payments { id } lines { id } } } } }""")
    by_number = {e["node"]["number"]: e["node"] for e in ids["orders"]["edges"]}
    returned = await api("""mutation($o: ID!, $l: ID!) { returnRequest(input: {orderId: $o,
        lines: [{orderLineId: $l, quantity: 1, reason: "OttoReturnReason"}]}) {
        return { id } userErrors { code } } }""", {
        "o": o["order"]["id"], "l": by_number[o["order"]["number"]]["lines"][0]["id"]})
    assert returned["returnRequest"]["userErrors"] == []

    def markers(order: dict[str, Any], *strings: str) -> set[str]:
        node = by_number[order["order"]["number"]]
        return {node["id"], node["shipments"][0]["id"], node["payments"][0]["id"],
                node["lines"][0]["id"], node["shipments"][0]["trackingNumber"], *strings}

    # Staff notes and private metadata are the shop's: never shown to the buyer whose order
    # (or record) they are on. Public metadata is shown with the order.
    notes = {}
    for order, name in ((a, "Xena"), (g, "Gina"), (o, "Otto")):
        notes[name] = f"{name}StaffNoteMarker"
        added = await api("""mutation($o: ID!, $m: String!) { orderNoteAdd(input: {orderId: $o,
            message: $m}) { userErrors { code } } }""", {"o": order["order"]["id"],
                                                          "m": notes[name]})
        assert added["orderNoteAdd"]["userErrors"] == []
    product_gid = (await api('{ variant(sku: "SHOE") { product { id } } }'))["variant"][
        "product"]["id"]
    xena_customer_gid = (await api('{ customer(email: "xena.marker@victim.test") { id } }'))[
        "customer"]["id"]
    for gid, mutation, marker in (
            (a["order"]["id"], "metadataUpdate", "XenaPublicMetaMarker"),
            (a["order"]["id"], "privateMetadataUpdate", "XenaOrderPrivateMarker"),
            (xena_customer_gid, "privateMetadataUpdate", "XenaCustomerPrivateMarker"),
            (product_gid, "privateMetadataUpdate", "ShoePrivateMarker")):
        done = await api(f"""mutation($id: ID!, $v: String!) {{ {mutation}(id: $id,
            input: [{{key: "k", value: $v}}]) {{ userErrors {{ code }} }} }}""",
                         {"id": gid, "v": marker})
        assert done[mutation]["userErrors"] == []
    private = {"XenaOrderPrivateMarker", "XenaCustomerPrivateMarker", "ShoePrivateMarker",
               "XenaCustomerNoteMarker"}
    noted = await api("""mutation($id: ID!) { customerNoteAdd(input: {customerId: $id,
        message: "XenaCustomerNoteMarker"}) { userErrors { code } } }""",
                      {"id": xena_customer_gid})
    assert noted["customerNoteAdd"]["userErrors"] == []

    xena_order = markers(a, "xena.marker", "Xena Street", "PO-XenaName", "EXT-XenaName",
                         "XenaPublicMetaMarker")
    gina_order = markers(g, "gina.marker", "Gina Lane", "PO-GinaName", "EXT-GinaName")
    otto_order = markers(o, "otto.marker", "Otto Road", "PO-OttoName", "EXT-OttoName",
                         "OttoReturnReason", returned["returnRequest"]["return"]["id"])
    customers = {n["customer"]["id"]: n for n in by_number.values() if n["customer"]}
    customer_of = {n["number"]: n["customer"]["id"] for n in by_number.values()}
    xena_customer = {customer_of[a["order"]["number"]]}
    zed_customer = {(await api('{ customer(email: "zed.marker@victim.test") { id } }'))[
        "customer"]["id"]}
    other_customers = set(customers) - xena_customer
    web_reports = set()  # what a web partner's reports may show of the other channel: nothing
    world = {
        "ids": sorted(_gids(xena_order | gina_order | otto_order | set(customers) | zed_customer)),
        "emails": ["xena.marker@victim.test", "gina.marker@victim.test",
                   "otto.marker@victim.test", "zed.marker@victim.test"],
        "numbers": sorted(by_number),
        "tracking": sorted(n["shipments"][0]["trackingNumber"] for n in by_number.values()),
        "everything": xena_order | gina_order | otto_order | set(customers) | zed_customer
        | {"SECRETSKU"} | set(notes.values()) | private,
        "reports_other": {"SECRETSKU"} | web_reports,
    }
    web = await _bearer(api, ["orders:read", "inventory:read", "reports:read", "returns:write"],
                        channels=["web"])
    other = await _bearer(api, ["orders:read", "inventory:read", "reports:read"],
                          channels=["other"])
    world["callers"] = {
        # name: (headers, markers it may see, may it read stock levels)
        "anonymous": ({}, set(), False),
        "storefront": (await _storefront(api), set(), False),
        "customer": (xena, xena_order | xena_customer, False),
        "other customer": (bearer(zed_tokens["accessToken"]), zed_customer, False),
        "guest": (bearer(g["orderAccessToken"]), gina_order, False),
        "web partner": (web, xena_order | gina_order | {notes["Xena"], notes["Gina"]}, True),
        "other partner": (other, otto_order | {"SECRETSKU", notes["Otto"]}, True),
        "scopeless partner": (await _bearer(api, ["inventory:read"]), set(), True),
        "admin": ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, world["everything"], True),
    }
    # Staff of each built-in role see the whole shop their permissions reach: stock only
    # with inventory:read.
    for role in BUILT_IN:
        world["callers"][f"{role} staff"] = (
            await staff(api, f"{role}.staff@shop.test", role), world["everything"],
            Permission.INVENTORY_READ in BUILT_IN[role][1])
    assert other_customers  # the guests' records exist: nobody but the admin may see them
    return world


def _gids(markers: set[str]) -> set[str]:
    return {m for m in markers if _kind(m)}


def _kind(gid: str) -> str | None:
    try:
        kind, _, pk = base64.urlsafe_b64decode(gid + "==").decode().partition(":")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    return kind if pk.isdigit() and kind.isalpha() else None


async def _storefront(api: GraphQLClient) -> dict[str, str]:
    key = await api('mutation { storefrontKeyCreate(channel: "web") { key userErrors { code } } }')
    return bearer(key["storefrontKeyCreate"]["key"])


# -- documents from the schema ---------------------------------------------------------------


def _unwrap(t: GraphQLType) -> GraphQLType:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def _literal(name: str, t: GraphQLType, world: dict[str, Any]) -> list[str] | None:
    """Values to try for an argument, as GraphQL literals; None when it cannot be filled."""
    named = get_named_type(t)
    listed = isinstance(t.of_type if isinstance(t, GraphQLNonNull) else t, GraphQLList)
    pool: list[str]
    if named.name == "ID":
        pool = [json.dumps(i) for i in world["ids"]]
    elif name == "email":
        pool = [json.dumps(e) for e in world["emails"]]
    elif name == "number":
        pool = [json.dumps(n) for n in world["numbers"]]
    elif name == "trackingNumber":
        pool = [json.dumps(n) for n in world["tracking"]]
    elif name == "sku":
        return ['"SHOE"', '"SECRETSKU"']
    elif name == "skus":
        return ['["SHOE", "SECRETSKU"]']
    elif name == "channel":
        pool = ['"web"', '"other"']
    elif name == "kind" and named.name == "String":  # notificationPreview: a kind of message
        return ['"order_placed"']
    elif named.name == "AddressInput":  # addressValidate: reads nothing stored
        return ['{name: "Ann", line1: "1 Main St", city: "Berlin", postalCode: "10115", '
                'country: "DE"}']
    elif named.name == "Date":
        pool = [json.dumps(TODAY)]
    elif named.name == "String" and name == "currency":
        pool = ['"EUR"']
    elif isinstance(named, GraphQLEnumType):
        pool = [next(iter(named.values))]
    elif named.name == "Int":
        pool = ["10"]
    elif named.name == "Boolean":
        pool = ["false"]
    else:
        return None
    return [f"[{v}]" for v in pool] if listed else pool


def _fields(t: GraphQLObjectType, world: dict[str, Any]
            ) -> tuple[list[str], list[tuple[str, GraphQLNamedType]]]:
    """A type's scalar fields, and its object fields (with their arguments) and types."""
    scalars, objects = [], []
    for name, field in t.fields.items():
        args = _first_args(field, world)
        if args is None:
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            scalars.append(name + args)
        else:
            objects.append((name + args, inner))
    return scalars, objects


def _tokens(text: str) -> int:
    return len(re.findall(r'"[^"]*"|[_A-Za-z][_0-9A-Za-z]*|\d+|[{}():,\[\]!$.]', text))


def _selections(t: GraphQLNamedType, world: dict[str, Any], path: tuple[str, ...] = ()
                ) -> list[str]:
    """Selections of ``t`` that together ask for every field reachable within MAX_DEPTH
    (a type at most twice on one path), each small enough to be one document."""
    if isinstance(t, GraphQLInterfaceType | GraphQLUnionType):
        return [f"__typename ... on {p.name} {{ {part} }}"
                for p in SCHEMA.get_possible_types(t) for part in _selections(p, world, path)]
    assert isinstance(t, GraphQLObjectType)
    if len(path) >= MAX_DEPTH or path.count(t.name) >= 2:
        return ["__typename"]
    scalars, objects = _fields(t, world)
    base = " ".join(["__typename", *scalars])
    parts = [f"{name} {{ {sub} }}" for name, inner in objects
             for sub in _selections(inner, world, (*path, t.name))]
    packed, current = [], base
    for part in parts:  # as few documents as the size limit allows
        if _tokens(current) + _tokens(part) > TOKEN_BUDGET and current != base:
            packed.append(current)
            current = base
        current += " " + part
    return [*packed, current]


def _first_args(field: GraphQLField, world: dict[str, Any]) -> str | None:
    """Nested fields: their required arguments with a first value, and small pages."""
    given = ["first: 3"] if "first" in field.args else []
    for name, arg in field.args.items():
        if not isinstance(arg.type, GraphQLNonNull) or arg.default_value is not Undefined:
            continue
        values = _literal(name, arg.type, world)
        if not values:
            return None
        given.append(f"{name}: {values[0]}")
    return f"({', '.join(given)})" if given else ""


def _root_documents(world: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(root field, document) for every query root field, once per value of each lookup
    argument (every ID of the right kind, email, number...), with the other arguments at
    their defaults."""
    for name, field in SCHEMA.query_type.fields.items():
        returned = get_named_type(field.type)
        required = {a: field.args[a] for a in field.args
                    if isinstance(field.args[a].type, GraphQLNonNull)
                    and field.args[a].default_value is Undefined}
        fixed = {a: (_literal(a, arg.type, world) or [None])[0] for a, arg in required.items()}
        if None in fixed.values():
            raise AssertionError(f"the access test cannot fill {name}'s arguments: teach it")
        if "first" in field.args:
            fixed["first"] = "3"
        lookups = [a for a in field.args if a in LOOKUPS and a not in required]
        calls: list[tuple[dict[str, str], GraphQLNamedType]] = []
        for a, arg in field.args.items():
            if a in required and get_named_type(arg.type).name == "ID":
                lookups, fixed = [a], {k: v for k, v in fixed.items() if k != a}
        calls.append((fixed, returned))
        for lookup in lookups:
            for value in _literal(lookup, field.args[lookup].type, world) or []:
                target = returned
                if get_named_type(field.args[lookup].type).name == "ID":
                    kind = _kind(json.loads(value))
                    if isinstance(returned, GraphQLInterfaceType):
                        target = SCHEMA.get_type(kind or "")  # type: ignore[assignment]
                    elif kind != (returned.name if lookup == "id" or not lookup.endswith("Id")
                                  else lookup[0].upper() + lookup[1:-2]):
                        continue  # an ID of another type (orderId: an Order's)
                calls.append(({**fixed, lookup: value}, target))
        for args, target in calls:
            given = f"({', '.join(f'{k}: {v}' for k, v in args.items())})" if args else ""
            if isinstance(target, GraphQLScalarType | GraphQLEnumType):
                yield name, f"{{ {name}{given} }}"
                continue
            for part in _selections(target, world):
                if target is not returned:
                    part = f"__typename ... on {target.name} {{ {part} }}"
                yield name, f"{{ {name}{given} {{ {part} }} }}"


def _keys(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _leaks(text: str, allowed: set[str], world: dict[str, Any], root: str) -> set[str]:
    secret = world["everything"] - allowed
    if root in CATALOGUE:
        secret -= {"SECRETSKU"}  # the catalogue is public
    return {m for m in secret if m in text}


@pytest.fixture
async def world(api: GraphQLClient, uncosted: None) -> dict[str, Any]:
    # Documents are sized to reach every field, not to the cost limit (tested elsewhere).
    return await _world(api)


async def test_every_query_field_shows_each_caller_only_what_is_theirs(
        api: GraphQLClient, world: dict[str, Any]) -> None:
    documents = list(_root_documents(world))
    assert {"node", "order", "orders", "customer", "shipment", "salesReport"} <= {
        r for r, _ in documents}
    seen_by_admin: set[str] = set()
    problems = []
    for caller, (headers, allowed, stock) in world["callers"].items():
        for root, document in documents:
            response = await api.raw(document, admin=False, headers=headers)
            assert response.status_code == 200, (caller, document, response.text)
            body = response.json()
            for error in body.get("errors") or ():
                code = error.get("extensions", {}).get("code")
                if code not in ("UNAUTHENTICATED", "FORBIDDEN", "BAD_REQUEST", "NOT_FOUND"):
                    problems.append((caller, root, error))
            text = json.dumps(body.get("data"))
            if caller == "admin":
                seen_by_admin |= {m for m in world["everything"] if m in text}
            leaked = _leaks(text, allowed, world, root)
            if leaked:
                problems.append((caller, root, sorted(leaked)))
            if not stock:
                shown = {k for k, v in _keys(body.get("data")) if k in STOCK_FIELDS
                         and v is not None}
                if shown:
                    problems.append((caller, root, f"stock levels {sorted(shown)}"))
    assert problems == []
    # The documents reach every marker: a leak would be seen.
    assert seen_by_admin == world["everything"]


async def test_every_report_export_keeps_to_the_callers_channels(
        app: Any, api: GraphQLClient, world: dict[str, Any]) -> None:
    routes = [r.path for r in app.router.routes if getattr(r, "path", "").startswith("/reports/")]
    assert len(routes) >= 4
    for path in routes:
        for caller, (headers, allowed, _) in world["callers"].items():
            response = await api.http.get(path, params={"from": TODAY, "to": TODAY,
                                                         "groupBy": "SKU"}, headers=headers)
            if caller in ("admin", "web partner", "other partner") or (
                    caller.endswith(" staff")
                    and Permission.REPORTS_READ in BUILT_IN[caller.removesuffix(" staff")][1]):
                assert response.status_code == 200, (path, caller, response.text)
                leaked = _leaks(response.text, allowed, world, path)
                assert not leaked, (path, caller, leaked)
                if caller == "admin" and "sales" in path:
                    assert "SECRETSKU" in response.text
            else:
                assert response.status_code in (401, 403), (path, caller, response.status_code)


async def test_every_subscription_follows_only_what_the_caller_may_read(
        app: Any, api: GraphQLClient, world: dict[str, Any]) -> None:
    for name, field in SCHEMA.subscription_type.fields.items():
        id_args = [a for a, arg in field.args.items() if get_named_type(arg.type).name == "ID"]
        if not id_args:
            assert name == "availabilityChanged", f"teach the access test about {name}"
            continue
        selection = _selections(_unwrap(field.type), world)[0]  # type: ignore[arg-type]
        for caller, (headers, allowed, _) in world["callers"].items():
            token = headers.get("Authorization", " ").split(" ", 1)[1] or None
            for gid in world["ids"]:
                async with subscriber(app) as sub:
                    if (await sub.init(token))["type"] != "connection_ack":
                        continue
                    await sub.subscribe(f"subscription($id: ID!) {{ {name}({id_args[0]}: $id)"
                                        f" {{ {selection} }} }}", {"id": gid})
                    first = await sub.next()
                    opened = first["type"] == "next" and not first["payload"].get("errors")
                    may = gid in allowed and _follows(name, gid, world)
                    if opened:
                        assert may, (caller, name, gid, first)
                        assert not _leaks(json.dumps(first), allowed, world, name)
                    elif caller == "admin":
                        assert not _follows(name, gid, world), (name, gid, first)


def _follows(subscription: str, gid: str, world: dict[str, Any]) -> bool:
    """Whether ``gid`` is the kind of object the subscription follows."""
    return {"orderEvents": "Order", "shipmentTracking": "Shipment"}.get(subscription) == _kind(gid)

