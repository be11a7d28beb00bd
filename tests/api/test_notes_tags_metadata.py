"""Staff notes in an order's timeline, tags and metadata on orders, customers and products,
and finding orders by what they hold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.annotations.models import MetadataEntry, Tag
from domain.customers.models import Customer as CustomerModel
from domain.events.catalogue import INTERNAL_EVENTS, EventType
from domain.events.models import OrderEvent as OrderEventModel
from domain.notifications import kinds
from domain.orders.models import Order as OrderModel
from tests import factories
from tests.api.test_customers_and_guests import _register, bearer
from tests.api.test_partners import _bearer
from tests.api.test_staff import staff
from tests.api.test_subscriptions import ORDER_EVENTS, subscriber
from tests.support import GraphQLClient

PLACE = """mutation($input: OrderCreateInput!) { orderCreate(input: $input) {
  order { id number } orderAccessToken userErrors { code } } }"""
NOTE = """mutation($input: OrderNoteAddInput!) { orderNoteAdd(input: $input) {
  order { id } event { sequence type message actor actorStaffId }
  userErrors { code field message } } }"""
EVENTS = "query($id: ID!) { order(id: $id) { events { sequence type message actor } } }"
TAGS_ADD = """mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) {
  node { ... on Order { tags } ... on Customer { tags } ... on Product { tags } }
  userErrors { code field message } } }"""
TAGS_REMOVE = """mutation($id: ID!, $tags: [String!]!) { tagsRemove(id: $id, tags: $tags) {
  node { ... on Order { tags } ... on Customer { tags } ... on Product { tags } }
  userErrors { code field message } } }"""
META = """mutation($id: ID!, $input: [MetadataInput!]!) { %s(id: $id, input: $input) {
  node { id } userErrors { code field message } } }"""
META_DELETE = """mutation($id: ID!, $keys: [String!]!) { %s(id: $id, keys: $keys) {
  node { id } userErrors { code field message } } }"""
ORDERS = """query($filter: OrderFilter, $first: Int, $after: String) {
  orders(filter: $filter, first: $first, after: $after) {
    edges { node { number } } pageInfo { hasNextPage endCursor } } }"""


def _input(channel: str = "web", sku: str = "SHOE", quantity: int = 1,
           email: str = "ann@example.com", **extra: Any) -> dict[str, Any]:
    return {"input": {"channel": channel, "email": email,
                      "lines": [{"sku": sku, "quantity": quantity}],
                      "shippingAddress": factories.address(), **extra}}


async def _place(api: GraphQLClient, headers: dict[str, str] | None = None,
                 **given: Any) -> dict[str, Any]:
    data = (await api(PLACE, _input(**given), admin=headers is None,
                      headers=headers or {}))["orderCreate"]
    assert data["userErrors"] == [], data
    return data


async def _events(api: GraphQLClient, gid: str, headers: dict[str, str] | None = None
                  ) -> list[dict[str, Any]]:
    order = (await api(EVENTS, {"id": gid}, admin=headers is None, headers=headers or {}))[
        "order"]
    return order["events"]


# --- Notes --------------------------------------------------------------------------------


async def test_a_note_is_in_the_timeline_with_its_author_and_never_in_the_buyers_view(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    tokens = await _register(api, "buyer@example.com")
    buyer = bearer(tokens["accessToken"])
    mine = (await _place(api, buyer, email="buyer@example.com"))["order"]
    agent = await staff(api, "agent@shop.test", "customer_service")

    added = (await api(NOTE, {"input": {"orderId": mine["id"], "message": "  Called: leave at "
                                        "the back door  ", "idempotencyKey": "note-1"}},
                       admin=False, headers=agent))["orderNoteAdd"]
    assert added["userErrors"] == []
    event = added["event"]
    assert event["type"] == "ORDER_NOTE_ADDED"
    assert event["message"] == "Called: leave at the back door"
    assert event["actor"] and event["actorStaffId"] is not None
    # The same key again: the first note, not a second one.
    again = (await api(NOTE, {"input": {"orderId": mine["id"], "message": "  Called: leave at "
                                        "the back door  ", "idempotencyKey": "note-1"}},
                       admin=False, headers=agent))["orderNoteAdd"]
    assert again["event"]["sequence"] == event["sequence"]

    staff_view = await _events(api, mine["id"])
    notes = [e for e in staff_view if e["type"] == "ORDER_NOTE_ADDED"]
    assert [n["message"] for n in notes] == ["Called: leave at the back door"]
    assert notes[0]["actor"] == event["actor"]

    buyers_view = await _events(api, mine["id"], buyer)
    assert buyers_view and all(e["type"] != "ORDER_NOTE_ADDED" for e in buyers_view)
    assert [e["sequence"] for e in buyers_view] == [
        e["sequence"] for e in staff_view if e["type"] != "ORDER_NOTE_ADDED"]
    # Nor is a buyer ever sent one: no customer message is of it.
    assert INTERNAL_EVENTS.isdisjoint(kinds.CUSTOMER_KINDS)
    assert EventType.ORDER_NOTE_ADDED in INTERNAL_EVENTS


async def test_a_guest_with_its_order_token_sees_no_note(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    key = (await api('mutation { storefrontKeyCreate(channel: "web") { key } }'))[
        "storefrontKeyCreate"]["key"]
    placed = await _place(api, bearer(key), email="guest@example.com")
    token = placed["orderAccessToken"]
    assert token
    gid = placed["order"]["id"]
    await api(NOTE, {"input": {"orderId": gid, "message": "fraud check passed"}})
    guest_view = await _events(api, gid, bearer(token))
    assert guest_view and "ORDER_NOTE_ADDED" not in {e["type"] for e in guest_view}
    assert "ORDER_NOTE_ADDED" in {e["type"] for e in await _events(api, gid)}


async def test_a_buyers_subscription_skips_notes_live_and_replayed(
        app: Any, api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    tokens = await _register(api, "live@example.com")
    buyer = bearer(tokens["accessToken"])
    gid = (await _place(api, buyer, email="live@example.com"))["order"]["id"]
    await api(NOTE, {"input": {"orderId": gid, "message": "replayed note"}})  # sequence 3
    async with subscriber(app) as sub:
        assert (await sub.init(tokens["accessToken"]))["type"] == "connection_ack"
        await sub.subscribe(ORDER_EVENTS, {"id": gid})
        replayed = await sub.data(2)
        assert [d["orderEvents"]["type"] for d in replayed] == ["ORDER_PLACED", "STOCK_RESERVED"]
        await api(NOTE, {"input": {"orderId": gid, "message": "live note"}})  # 4
        await api("mutation($id: ID!) { orderConfirm(id: $id) { userErrors { code } } }",
                  {"id": gid})  # 5
        live = await sub.data(1)
        assert live[0]["orderEvents"]["type"] == "ORDER_CONFIRMED"
        assert live[0]["orderEvents"]["sequence"] == 5


async def test_a_blank_or_overlong_note_is_refused_and_writes_nothing(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    gid = (await _place(api))["order"]["id"]
    before = await OrderEventModel.all().count()
    for message in ("   ", "x" * 5001):
        got = (await api(NOTE, {"input": {"orderId": gid, "message": message}}))["orderNoteAdd"]
        assert got["event"] is None
        assert [(e["code"], e["field"]) for e in got["userErrors"]] == [
            ("INVALID_INPUT", ["message"])]
    missing = (await api(NOTE, {"input": {"orderId": "T3JkZXI6OTk5OQ==", "message": "hi"}}))
    assert [e["code"] for e in missing["orderNoteAdd"]["userErrors"]] == ["NOT_FOUND"]
    assert await OrderEventModel.all().count() == before


CUSTOMER_NOTE = """mutation($input: CustomerNoteAddInput!) { customerNoteAdd(input: $input) {
  customer { id notes { message } } note { message actor actorStaffId }
  userErrors { code field } } }"""


async def test_a_note_on_a_customer_is_read_by_the_shop_never_by_the_customer(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    tokens = await _register(api, "noted@example.com")
    buyer = bearer(tokens["accessToken"])
    customer = (await api('{ customer(email: "noted@example.com") { id } }'))["customer"]["id"]
    agent = await staff(api, "desk@shop.test", "customer_service")
    added = (await api(CUSTOMER_NOTE, {"input": {"customerId": customer,
                                                 "message": " Prefers phone calls "}},
                       admin=False, headers=agent))["customerNoteAdd"]
    assert added["userErrors"] == []
    assert added["note"]["message"] == "Prefers phone calls"
    assert added["note"]["actorStaffId"] is not None
    assert added["customer"]["notes"] == [{"message": "Prefers phone calls"}]
    read = 'query($id: ID!) { customer(id: $id) { notes { message } } }'
    assert (await api(read, {"id": customer}))["customer"]["notes"] == [
        {"message": "Prefers phone calls"}]
    mine = await api("{ me { email notes { message } } }", admin=False, headers=buyer)
    assert mine["me"] == {"email": "noted@example.com", "notes": []}
    for message in ("", "x" * 5001):
        bad = (await api(CUSTOMER_NOTE, {"input": {"customerId": customer,
                                                   "message": message}}))["customerNoteAdd"]
        assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [
            ("INVALID_INPUT", ["message"])]
    reader = await _bearer(api, ["orders:read"])
    body = (await api.raw(CUSTOMER_NOTE, {"input": {"customerId": customer, "message": "x"}},
                          admin=False, headers=reader)).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api(read, {"id": customer}))["customer"]["notes"] == [
        {"message": "Prefers phone calls"}]


# --- Tags ---------------------------------------------------------------------------------


async def _objects(api: GraphQLClient) -> dict[str, str]:
    await factories.shop({"SHOE": {"a": 10}})
    order = (await _place(api, email="tagged@example.com"))["order"]
    customer = (await api('{ customer(email: "tagged@example.com") { id } }'))["customer"]["id"]
    product = (await api('{ variant(sku: "SHOE") { product { id } } }'))["variant"]["product"]
    return {"order": order["id"], "customer": customer, "product": product["id"]}


async def test_tags_are_normalised_and_adding_or_removing_twice_changes_nothing(
        api: GraphQLClient) -> None:
    ids = await _objects(api)
    for gid in ids.values():
        added = (await api(TAGS_ADD, {"id": gid, "tags": ["  VIP ", "vip", "Wholesale   Order"]})
                 )["tagsAdd"]
        assert added["userErrors"] == []
        assert added["node"]["tags"] == ["vip", "wholesale order"]
        again = (await api(TAGS_ADD, {"id": gid, "tags": ["Vip"]}))["tagsAdd"]
        assert again["node"]["tags"] == ["vip", "wholesale order"]
        removed = (await api(TAGS_REMOVE, {"id": gid, "tags": ["VIP", "never had it"]})
                   )["tagsRemove"]
        assert removed["userErrors"] == [] and removed["node"]["tags"] == ["wholesale order"]
        removed = (await api(TAGS_REMOVE, {"id": gid, "tags": ["vip"]}))["tagsRemove"]
        assert removed["node"]["tags"] == ["wholesale order"]
    assert await Tag.all().count() == 3


async def test_bad_tags_are_refused_with_their_field_and_change_nothing(
        api: GraphQLClient) -> None:
    ids = await _objects(api)
    gid = ids["order"]
    cases = [
        (["ok", "   "], [("INVALID_INPUT", ["tags", "1"])]),
        (["x" * 101], [("INVALID_INPUT", ["tags", "0"])]),
        ([], [("INVALID_INPUT", ["tags"])]),
        (["a\x00b"], [("INVALID_INPUT", ["tags", "0"])]),
    ]
    for tags, expected in cases:
        got = (await api(TAGS_ADD, {"id": gid, "tags": tags}))["tagsAdd"]
        assert got["node"] is None
        assert [(e["code"], e["field"]) for e in got["userErrors"]] == expected, tags
    assert await Tag.all().count() == 0
    # At most 50 on one object: the 51st is refused, and none of that call is added.
    first = (await api(TAGS_ADD, {"id": gid, "tags": [f"t{i}" for i in range(48)]}))["tagsAdd"]
    assert first["userErrors"] == []
    over = (await api(TAGS_ADD, {"id": gid, "tags": ["new1", "new2", "new3"]}))["tagsAdd"]
    assert [(e["code"], e["field"]) for e in over["userErrors"]] == [("INVALID_INPUT", ["tags"])]
    assert await Tag.all().count() == 48
    unknown = (await api(TAGS_ADD, {"id": "Tm90aGluZzox", "tags": ["x"]}))["tagsAdd"]
    assert [e["code"] for e in unknown["userErrors"]] == ["NOT_FOUND"]


async def test_each_kind_of_object_needs_its_own_write_permission(api: GraphQLClient) -> None:
    ids = await _objects(api)
    await factories.channel("other", locations=["a"])
    orders_only = await _bearer(api, ["orders:read", "orders:write"])
    catalog_only = await _bearer(api, ["catalog:write"])
    customers = await _bearer(api, ["orders:read", "customers:write"])
    elsewhere = await _bearer(api, ["orders:read", "orders:write", "customers:write",
                                    "catalog:write"], channels=["other"])

    async def outcome(headers: dict[str, str], gid: str) -> str:
        body = (await api.raw(TAGS_ADD, {"id": gid, "tags": ["x"]}, admin=False,
                              headers=headers)).json()
        if body.get("errors"):
            return str(body["errors"][0]["extensions"]["code"])
        codes = [e["code"] for e in body["data"]["tagsAdd"]["userErrors"]]
        return codes[0] if codes else "ok"

    assert await outcome(orders_only, ids["order"]) == "ok"
    assert await outcome(orders_only, ids["product"]) == "FORBIDDEN"
    assert await outcome(orders_only, ids["customer"]) == "FORBIDDEN"
    assert await outcome(catalog_only, ids["product"]) == "ok"
    assert await outcome(catalog_only, ids["order"]) == "FORBIDDEN"
    assert await outcome(customers, ids["customer"]) == "ok"
    # A partner limited to channels: another channel's order and every customer are hidden;
    # the catalogue is shared.
    assert await outcome(elsewhere, ids["order"]) == "NOT_FOUND"
    assert await outcome(elsewhere, ids["customer"]) == "NOT_FOUND"
    assert await outcome(elsewhere, ids["product"]) == "ok"
    assert await outcome({}, ids["product"]) == "UNAUTHENTICATED"
    assert await outcome(await _bearer(api, ["inventory:read"]), ids["product"]) == "FORBIDDEN"


async def test_racing_tag_additions_never_pass_the_limit(
        api: GraphQLClient, needs_postgres: None) -> None:
    """Parallel transactions on PostgreSQL: the object's row is locked, so two calls of 30
    new tags each make one object of 30 tags, never 60."""
    ids = await _objects(api)
    batches = [[f"{side}{i}" for i in range(30)] for side in ("a", "b", "c", "d")]
    results = await asyncio.gather(*(api(TAGS_ADD, {"id": ids["order"], "tags": tags})
                                     for tags in batches))
    ok = [r for r in results if not r["tagsAdd"]["userErrors"]]
    assert len(ok) == 1
    assert await Tag.filter(object_id__gte=0).count() == 30


async def test_racing_notes_are_numbered_without_gaps(
        api: GraphQLClient, needs_postgres: None) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    gid = (await _place(api))["order"]["id"]
    added = await asyncio.gather(*(api(NOTE, {"input": {"orderId": gid, "message": f"n{i}"}})
                                   for i in range(12)))
    assert all(a["orderNoteAdd"]["userErrors"] == [] for a in added)
    sequences = [e["sequence"] for e in await _events(api, gid)]
    assert sequences == list(range(1, len(sequences) + 1)) and len(sequences) == 14


# --- Metadata -----------------------------------------------------------------------------


async def test_public_metadata_is_read_with_the_object_private_only_by_its_writers(
        api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    tokens = await _register(api, "meta@example.com")
    buyer = bearer(tokens["accessToken"])
    order = (await _place(api, buyer, email="meta@example.com"))["order"]["id"]
    product = (await api('{ variant(sku: "SHOE") { product { id } } }'))["variant"]["product"][
        "id"]
    for gid in (order, product):
        done = (await api(META % "metadataUpdate", {"id": gid, "input": [
            {"key": "color", "value": "red"}, {"key": " size ", "value": "42"}]}))
        assert done["metadataUpdate"]["userErrors"] == []
        done = (await api(META % "privateMetadataUpdate", {"id": gid, "input": [
            {"key": "cost", "value": "3.10"}]}))
        assert done["privateMetadataUpdate"]["userErrors"] == []
    public = [{"key": "color", "value": "red"}, {"key": "size", "value": "42"}]
    private = [{"key": "cost", "value": "3.10"}]
    read_product = ('query($id: ID!) { node(id: $id) { ... on Product { metadata { key value } '
                    '%s } } }')
    read_order = 'query($id: ID!) { order(id: $id) { metadata { key value } %s } }'

    async def read(document: str, gid: str, headers: dict[str, str] | None,
                   private_too: bool) -> tuple[Any, str | None]:
        body = (await api.raw(document % ("privateMetadata { key value }" if private_too
                                          else ""), {"id": gid}, admin=headers is None,
                              headers=headers or {})).json()
        code = body["errors"][0]["extensions"]["code"] if body.get("errors") else None
        return body.get("data"), code

    # The admin: both.
    data, code = await read(read_product, product, None, True)
    assert code is None and data["node"] == {"metadata": public, "privateMetadata": private}
    # Anonymous on a product: the public metadata; the private is not theirs.
    data, code = await read(read_product, product, {}, False)
    assert code is None and data["node"]["metadata"] == public
    assert (await read(read_product, product, {}, True))[1] == "UNAUTHENTICATED"
    # A partner: private with the kind's write permission only.
    writer = await _bearer(api, ["catalog:write", "orders:read", "orders:write"])
    reader = await _bearer(api, ["orders:read"])
    data, code = await read(read_product, product, writer, True)
    assert code is None and data["node"]["privateMetadata"] == private
    data, code = await read(read_order, order, writer, True)
    assert code is None and data["order"]["privateMetadata"] == private
    assert (await read(read_order, order, reader, True))[1] == "FORBIDDEN"
    data, code = await read(read_order, order, reader, False)
    assert code is None and data["order"]["metadata"] == public
    # The customer, on their own order: the public metadata, never the private.
    data, code = await read(read_order, order, buyer, False)
    assert code is None and data["order"]["metadata"] == public
    assert (await read(read_order, order, buyer, True))[1] == "FORBIDDEN"


async def test_metadata_is_updated_and_deleted_by_key(api: GraphQLClient) -> None:
    ids = await _objects(api)
    gid = ids["customer"]
    read = 'query($id: ID!) { node(id: $id) { ... on Customer { metadata { key value } ' \
           'privateMetadata { key value } } } }'
    await api(META % "metadataUpdate", {"id": gid, "input": [{"key": "a", "value": "1"},
                                                             {"key": "b", "value": "2"}]})
    await api(META % "metadataUpdate", {"id": gid, "input": [{"key": "a", "value": "one"}]})
    await api(META % "privateMetadataUpdate", {"id": gid, "input": [{"key": "a", "value": "p"}]})
    node = (await api(read, {"id": gid}))["node"]
    assert node == {"metadata": [{"key": "a", "value": "one"}, {"key": "b", "value": "2"}],
                    "privateMetadata": [{"key": "a", "value": "p"}]}
    gone = await api(META_DELETE % "metadataDelete", {"id": gid, "keys": ["a", "missing"]})
    assert gone["metadataDelete"]["userErrors"] == []
    node = (await api(read, {"id": gid}))["node"]
    assert node == {"metadata": [{"key": "b", "value": "2"}],
                    "privateMetadata": [{"key": "a", "value": "p"}]}
    await api(META_DELETE % "privateMetadataDelete", {"id": gid, "keys": ["a"]})
    assert (await api(read, {"id": gid}))["node"]["privateMetadata"] == []


async def test_bad_metadata_is_refused_with_its_field_and_changes_nothing(
        api: GraphQLClient) -> None:
    ids = await _objects(api)
    gid = ids["product"]
    cases = [
        ([{"key": "  ", "value": "v"}], [("INVALID_INPUT", ["0", "key"])]),
        ([{"key": "k" * 257, "value": "v"}], [("INVALID_INPUT", ["0", "key"])]),
        ([{"key": "k", "value": "v" * 2001}], [("INVALID_INPUT", ["0", "value"])]),
        ([{"key": "k", "value": "1"}, {"key": "k ", "value": "2"}],
         [("INVALID_INPUT", ["1", "key"])]),
        ([], [("INVALID_INPUT", ["input"])]),
    ]
    for given, expected in cases:
        got = (await api(META % "metadataUpdate", {"id": gid, "input": given}))["metadataUpdate"]
        assert got["node"] is None
        assert [(e["code"], e["field"]) for e in got["userErrors"]] == expected, given
    full = [{"key": f"k{i}", "value": "v"} for i in range(100)]
    assert (await api(META % "metadataUpdate", {"id": gid, "input": full}))[
        "metadataUpdate"]["userErrors"] == []
    over = (await api(META % "metadataUpdate", {"id": gid, "input": [
        {"key": "k1", "value": "changed"}, {"key": "one more", "value": "v"}]}))["metadataUpdate"]
    assert [e["code"] for e in over["userErrors"]] == ["INVALID_INPUT"]
    assert await MetadataEntry.filter(value="changed").count() == 0
    assert await MetadataEntry.all().count() == 100
    blank = (await api(META_DELETE % "metadataDelete", {"id": gid, "keys": [" "]}))
    assert [(e["code"], e["field"]) for e in blank["metadataDelete"]["userErrors"]] == [
        ("INVALID_INPUT", ["keys", "0"])]


# --- Finding orders -----------------------------------------------------------------------


async def _catalogue_of_orders(api: GraphQLClient) -> dict[str, str]:
    """Six orders, each differing from the others in one attribute or more."""
    await factories.shop({"SHOE": {"a": 100}, "HAT": {"a": 100}})
    await factories.channel("app", locations=["a"])
    placed = {}
    specs = {
        "ann": dict(email="ann@example.com", sku="SHOE", quantity=1),           # 10.00
        "bob": dict(email="bob@example.com", sku="HAT", quantity=2),            # 20.00
        "cat": dict(email="cat@example.com", sku="SHOE", quantity=3, channel="app"),
        "dan": dict(email="dan@example.com", sku="HAT", quantity=5, poNumber="PO-77"),
        "eve": dict(email="eve@example.com", sku="SHOE", quantity=8, externalId="EXT-9"),
        "fay": dict(email="ann@example.com", sku="HAT", quantity=1),
    }
    for name, spec in specs.items():
        placed[name] = (await _place(api, **spec))["order"]
    await CustomerModel.filter(email="bob@example.com").update(name="Bob Builder")
    await CustomerModel.filter(email="dan@example.com").update(name="Daniel Bobson")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i, name in enumerate(specs):  # a day apart: ann the 1st ... fay the 6th
        await OrderModel.filter(number=placed[name]["number"]).update(
            created_at=start + timedelta(days=i))
    await api(TAGS_ADD, {"id": placed["bob"]["id"], "tags": ["VIP"]})
    await api(TAGS_ADD, {"id": placed["eve"]["id"], "tags": ["vip", "gift"]})
    await api("mutation($id: ID!) { orderCancel(id: $id) { userErrors { code } } }",
              {"id": placed["fay"]["id"]})
    return {name: order["number"] for name, order in placed.items()}


async def test_each_filter_finds_exactly_its_orders(api: GraphQLClient, uncosted: None) -> None:
    n = await _catalogue_of_orders(api)

    async def found(filter_: dict[str, Any]) -> set[str]:
        page = (await api(ORDERS, {"filter": filter_, "first": 50}))["orders"]
        numbers = {e["node"]["number"] for e in page["edges"]}
        return {name for name, number in n.items() if number in numbers}

    assert await found({"number": n["cat"]}) == {"cat"}
    assert await found({"email": " ANN@example.com"}) == {"ann", "fay"}
    assert await found({"customerName": "bob"}) == {"bob", "dan"}
    assert await found({"sku": "HAT"}) == {"bob", "dan", "fay"}
    assert await found({"tag": " VIP"}) == {"bob", "eve"}
    assert await found({"tag": "gift"}) == {"eve"}
    assert await found({"tag": "nobody has it"}) == set()
    assert await found({"status": ["CANCELLED"]}) == {"fay"}
    assert await found({"channel": "app"}) == {"cat"}
    assert await found({"createdFrom": "2026-01-02T00:00:00Z",
                        "createdTo": "2026-01-04T00:00:00Z"}) == {"bob", "cat", "dan"}
    assert await found({"createdFrom": "2026-01-05T00:00:00Z"}) == {"eve", "fay"}
    assert await found({"totalMin": "30", "totalMax": "50"}) == {"cat", "dan"}
    assert await found({"totalMin": "80"}) == {"eve"}
    assert await found({"totalMax": "10.00"}) == {"ann", "fay"}
    # search: the number, an email or its start, the PO or external id, part of a name.
    assert await found({"search": n["dan"]}) == {"dan"}
    assert await found({"search": "ann@"}) == {"ann", "fay"}
    assert await found({"search": "PO-77"}) == {"dan"}
    assert await found({"search": "EXT-9"}) == {"eve"}
    assert await found({"search": "builder"}) == {"bob"}
    assert await found({"search": "%"}) == set()  # wildcards are taken literally
    assert await found({"customerName": "_"}) == set()
    # Combined: every criterion holds.
    assert await found({"sku": "HAT", "tag": "vip"}) == {"bob"}
    assert await found({"email": "ann@example.com", "status": ["PENDING"]}) == {"ann"}
    assert await found({"sku": "SHOE", "totalMin": "20", "channel": "web"}) == {"eve"}
    assert await found({"customerName": "bob", "createdFrom": "2026-01-03T00:00:00Z"}) == {
        "dan"}


async def test_a_filtered_list_pages_by_keyset(api: GraphQLClient, uncosted: None) -> None:
    n = await _catalogue_of_orders(api)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await api(ORDERS, {"filter": {"sku": "HAT"}, "first": 1, "after": after}))[
            "orders"]
        seen += [e["node"]["number"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [n["fay"], n["dan"], n["bob"]] and pages == 3


async def test_bad_filters_are_refused_with_invalid_input(api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 10}})
    bad = [
        ({"createdFrom": "2026-02-01T00:00:00Z", "createdTo": "2026-01-01T00:00:00Z"},
         ["filter", "createdFrom"]),
        ({"totalMin": "50", "totalMax": "10"}, ["filter", "totalMin"]),
        ({"totalMin": "-1"}, ["filter", "totalMin"]),
        ({"tag": "   "}, ["filter", "tag"]),
        ({"search": "x" * 201}, ["filter", "search"]),
    ]
    for filter_, field in bad:
        body = (await api.raw(ORDERS, {"filter": filter_})).json()
        assert body["data"] is None, filter_
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_REQUEST"
        assert error["extensions"]["errorCode"] == "INVALID_INPUT"
        assert error["extensions"]["field"] == field, filter_
        assert error["message"].startswith("INVALID_INPUT: ")
    body = (await api.raw(ORDERS, {"filter": {"totalMin": "lots"}})).json()
    assert body["errors"], body  # not a Decimal: refused before the query runs


async def test_a_partner_limited_to_a_channel_finds_only_its_channels_orders(
        api: GraphQLClient, uncosted: None) -> None:
    n = await _catalogue_of_orders(api)
    app_partner = await _bearer(api, ["orders:read"], channels=["app"])

    async def found(filter_: dict[str, Any], headers: dict[str, str]) -> set[str]:
        page = (await api(ORDERS, {"filter": filter_}, admin=False, headers=headers))["orders"]
        numbers = {e["node"]["number"] for e in page["edges"]}
        return {name for name, number in n.items() if number in numbers}

    assert await found({"sku": "SHOE"}, app_partner) == {"cat"}
    assert await found({"tag": "vip"}, app_partner) == set()
    assert await found({"search": "ann@"}, app_partner) == set()
    tokens = await _register(api, "ann@example.com")
    # A customer's own list: orders placed while signed in only (none of ann's guest ones).
    assert await found({"email": "ann@example.com"}, bearer(tokens["accessToken"])) == set()


async def test_customers_and_products_are_listed_by_tag(api: GraphQLClient) -> None:
    ids = await _objects(api)
    await factories.product("BOOT")
    await api(TAGS_ADD, {"id": ids["customer"], "tags": ["Wholesale"]})
    await api(TAGS_ADD, {"id": ids["product"], "tags": ["Summer"]})
    customers = (await api('{ customers(filter: {tag: "WHOLESALE"}, sortBy: ORDER_COUNT) '
                           '{ edges { node { email tags } } } }'))["customers"]["edges"]
    assert [e["node"] for e in customers] == [{"email": "tagged@example.com",
                                               "tags": ["wholesale"]}]
    products = (await api('{ products(tag: "summer") { edges { node { id tags } } } }'))[
        "products"]["edges"]
    assert [e["node"]["id"] for e in products] == [ids["product"]]
    assert (await api('{ products(tag: "winter") { edges { node { id } } } }'))[
        "products"]["edges"] == []
