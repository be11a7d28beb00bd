"""Repeated availability reads are answered from what the first one answered, per SKU,
without running the document again: charged as before, dropped with a stock change,
and never given to a caller of another visibility or for another channel."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any
from uuid import uuid4

from graphql import parse

from api.graphql.answer_plans import plan_of
from api.graphql.answers import AvailabilityAnswers
from api.observability.metrics import REMEMBERED
from domain.access import ADMIN, Kind, Principal, visibility
from domain.catalog.cache import catalogue_cache
from domain.events.models import OutboxMessage
from tests import factories
from tests.api.test_partners import _bearer
from tests.support import GraphQLClient

READ = """query($skus: [String!]!, $channel: String) {
  availability(skus: $skus, channel: $channel) {
    sku available locations { available location { code name } } } }"""
PLACE = "mutation($i: OrderCreateInput!) { orderCreate(input: $i) { userErrors { code } } }"
ADJUST = """mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) {
  userErrors { code } } }"""


def remembered() -> float:
    """Documents answered from memory so far (the operator's counter)."""
    return REMEMBERED._value.get()  # type: ignore[attr-defined,no-any-return]


async def _heard(app: Any) -> None:
    """Until the shop's changes are published and heard here. The relay publishes in passes
    (a busy process's 50 ms apart), and every catalogue change heard makes each kept answer
    stale, so a test counting answers from memory starts once none is on its way."""
    while True:
        generation = catalogue_cache.generation
        await app.state.services.relay.drain()
        await asyncio.sleep(0.2)
        if catalogue_cache.generation == generation \
                and not await OutboxMessage.filter(published_at=None).exists():
            return


async def _available(api: GraphQLClient, channel: str | None = "web", **kwargs: Any) -> int:
    data = await api(READ, {"skus": ["SHOE"], "channel": channel}, admin=False, **kwargs)
    return int(data["availability"][0]["available"])


async def test_a_repeated_read_is_answered_as_the_first_without_running_it(
    app: Any, api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 7, "b": 2}, "BOOT": {"a": 1}})
    await _heard(app)
    variables = {"skus": ["SHOE", "BOOT", "SHOE"], "channel": "web"}
    first = (await api.raw(READ, variables, admin=False)).json()
    await api.raw(READ, variables, admin=False)  # a document is kept from its second run
    before = remembered()
    again = [(await api.raw(READ, variables, admin=False)).json() for _ in range(3)]
    assert remembered() == before + 3
    assert [a["data"] for a in again] == [first["data"]] * 3
    assert first["data"]["availability"] == [
        {"sku": "SHOE", "available": 9, "locations": [
            {"available": 7, "location": {"code": "a", "name": "A"}},
            {"available": 2, "location": {"code": "b", "name": "B"}}]},
        {"sku": "BOOT", "available": 1, "locations": [
            {"available": 1, "location": {"code": "a", "name": "A"}}]}]
    # Other SKUs of the same document are read, then remembered too.
    await api.raw(READ, {"skus": ["BOOT"], "channel": "web"}, admin=False)
    assert remembered() == before + 4
    # An unknown SKU is never remembered: it is read each time, and left out.
    for _ in range(2):
        ghost = await api(READ, {"skus": ["SHOE", "GHOST"], "channel": "web"}, admin=False)
        assert [a["sku"] for a in ghost["availability"]] == ["SHOE"]
    assert remembered() == before + 4


async def _two_channels() -> None:
    """SHOE: 7 at "a" for channel web, 3 at "b" for channel outlet."""
    await factories.shop({"SHOE": {"a": 7}})
    await factories.location("b")
    await factories.channel("outlet", locations=["b"])
    await factories.stock("SHOE", {"b": 3})


async def test_aliased_reads_of_two_channels_are_answered_each_from_its_own(
    app: Any, api: GraphQLClient,
) -> None:
    await _two_channels()
    await _heard(app)
    document = ('query($s: [String!]!) { web: availability(skus: $s, channel: "web") '
                '{ available } outlet: availability(skus: $s, channel: "outlet") '
                "{ available } }")
    first = (await api.raw(document, {"s": ["SHOE"]}, admin=False)).json()
    before = remembered()
    again = (await api.raw(document, {"s": ["SHOE"]}, admin=False)).json()
    # One String for a list is a list of one, which the full path prices as a list it
    # cannot count: so is it priced from memory.
    run = (await api.raw(document + " ", {"s": "SHOE"}, admin=False)).json()
    single = (await api.raw(document, {"s": "SHOE"}, admin=False)).json()
    assert remembered() == before + 1  # the second kept them; the one-item list's was run
    assert again["data"] == first["data"] == run["data"] == single["data"] == {
        "web": [{"available": 7}], "outlet": [{"available": 3}]}
    assert [a["extensions"]["cost"]["requested"] for a in (first, again, run, single)] == [
        6, 6, 22, 22]


async def test_a_stock_change_is_read_by_the_next_request(
    app: Any, api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 7}})
    await _heard(app)
    assert await _available(api) == 7
    assert await _available(api) == 7  # the document's second run: kept
    answered = remembered()
    await api(ADJUST, {"i": {"sku": "SHOE", "location": "a", "delta": 5, "reason": "delivery"}})
    assert await _available(api) == 12
    await api(PLACE, {"i": {"channel": "web", "email": "x@example.com",
                            "shippingAddress": factories.address(),
                            "lines": [{"sku": "SHOE", "quantity": 4}]}})
    assert await _available(api) == 8
    assert await _available(api) == 8
    assert remembered() == answered + 1  # only the read after the last change's first


async def test_an_order_drops_its_skus_once(app: Any, api: GraphQLClient) -> None:
    await factories.shop({"SHOE": {"a": 7}, "BOOT": {"a": 3}})
    dropped: list[list[str] | None] = []
    stop = app.state.services.cache.watch(dropped.append)
    try:
        await api(PLACE, {"i": {"channel": "web", "email": "x@example.com",
                                "shippingAddress": factories.address(),
                                "lines": [{"sku": "SHOE", "quantity": 1},
                                          {"sku": "BOOT", "quantity": 2}]}})
    finally:
        stop()
    assert [sorted(skus or ()) for skus in dropped] == [["BOOT", "SHOE"]]


async def test_a_renamed_location_is_read_by_the_next_request(
    app: Any, api: GraphQLClient,
) -> None:
    await factories.shop({"SHOE": {"a": 7}})
    await _heard(app)
    for _ in range(2):
        data = await api(READ, {"skus": ["SHOE"], "channel": "web"}, admin=False)
    answered = remembered()
    data = await api(READ, {"skus": ["SHOE"], "channel": "web"}, admin=False)
    assert remembered() == answered + 1  # kept: a stale one would be answered from here on
    assert data["availability"][0]["locations"][0]["location"]["name"] == "A"
    await api('mutation { locationUpdate(input: {code: "a", name: "Annex"}) '
              "{ userErrors { code } } }")
    data = await api(READ, {"skus": ["SHOE"], "channel": "web"}, admin=False)
    assert data["availability"][0]["locations"][0]["location"]["name"] == "Annex"


async def test_partners_of_different_channels_get_their_own_channels_answers(
    app: Any, api: GraphQLClient,
) -> None:
    await _two_channels()
    await _heard(app)
    web = await _bearer(api, ["orders:read"], channels=["web"])
    outlet = await _bearer(api, ["orders:read"], channels=["outlet"])
    for _ in range(3):
        assert await _available(api, "web", headers=web) == 7
    answered = remembered()  # web's answer is kept from its second read
    for _ in range(2):  # the same document: its variables name the other channel
        assert await _available(api, "outlet", headers=outlet) == 3
    assert remembered() == answered + 1  # outlet's first was run, its second kept
    assert await _available(api, None, headers=outlet) == 10
    assert await _available(api, "web", headers=web) == 7
    assert remembered() == answered + 2  # web's from memory still, and its own


def test_answers_kept_for_one_caller_are_not_given_to_another() -> None:
    answers = AvailabilityAnswers(ttl=30, catalogue=lambda: 0)
    web = Principal(client="partner:1", actor="p", permissions=frozenset(), channels=frozenset(
        {"web"}))
    outlet = Principal(client="partner:2", actor="p", permissions=frozenset(),
                       channels=frozenset({"outlet"}))
    later = Principal(client="partner:1", actor="p", permissions=frozenset(),
                      channels=frozenset({"web"}), issued_at=1, expires_at=2)
    shopper = Principal(client="customer:1", actor="c", permissions=frozenset(),
                        kind=Kind.CUSTOMER, customer_id=1)

    def base(caller: Principal | None) -> tuple[Any, ...]:
        return ("{ availability }", None, "availability", None, visibility(caller))

    answers.remember(base(web), {"SHOE": '{"available":7}'}, answers.started())  # type: ignore[arg-type]
    assert answers.items(base(web), ["SHOE"]) == ['{"available":7}']  # type: ignore[arg-type]
    assert answers.items(base(later), ["SHOE"]) == ['{"available":7}']  # type: ignore[arg-type]
    for other in (outlet, shopper, ADMIN, None):
        assert answers.items(base(other), ["SHOE"]) is None  # type: ignore[arg-type]


def test_a_document_sent_once_keeps_nothing() -> None:
    answers = AvailabilityAnswers(ttl=30, catalogue=lambda: 0)
    document = parse('{ availability(skus: ["SHOE"]) { sku } }')
    assert answers.learn("once", None, document) is None
    assert answers.plan("once", None) is not None  # so that its second run is kept
    assert answers.learn("once", None, document) is not None


def test_an_answer_read_while_its_sku_changed_is_not_kept() -> None:
    catalogue = [0]
    answers = AvailabilityAnswers(ttl=30, catalogue=lambda: catalogue[0])
    key: Any = ("{ availability }", None, "availability", "web", None)
    since = answers.started()
    answers.forget(["SHOE"])  # a commit dropped it while the read was under way
    answers.remember(key, {"SHOE": "1", "BOOT": "2"}, since)
    assert answers.items(key, ["SHOE"]) is None
    assert answers.items(key, ["BOOT"]) == ["2"]
    since = answers.started()
    catalogue[0] += 1  # a catalogue change: every answer is stale
    answers.remember(key, {"SHOE": "1"}, since)
    assert answers.items(key, ["SHOE"]) is None and answers.items(key, ["BOOT"]) is None
    answers.remember(key, {"SHOE": "3"}, answers.started())
    answers.forget(None)  # the bus reconnected: everything is forgotten
    assert answers.items(key, ["SHOE"]) is None


async def test_remembered_answers_are_charged_and_a_spent_caller_is_refused(
    app: Any, api: GraphQLClient, limits: Any,
) -> None:
    await factories.shop({"SHOE": {"a": 7}})
    await _heard(app)
    # A text of its own: the server remembers which documents it has seen, across tests.
    document = ('{ availability(skus: ["SHOE"], channel: "web") { available } }'
                f" # {uuid4().hex}")
    before = remembered()
    costs = []
    while True:
        body = (await api.raw(document, admin=False)).json()
        if body.get("errors"):
            break
        costs.append(body["extensions"]["cost"])
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # Every read paid its cost, the remembered ones as the first: the budget lasted as long.
    assert {(c["requested"], c["actual"]) for c in costs} == {(3, 3)}
    assert [c["remaining"] for c in costs] == list(range(197, -1, -3))[:len(costs)]
    assert len(costs) == 200 // 3
    assert remembered() == before + len(costs) - 2  # all but the first two
    # Spent: refused, whatever it sends.
    refused = await api.errors('{ availability(skus: ["SHOE"]) { available } }', admin=False)
    assert refused[0]["extensions"]["code"] == "RATE_LIMITED"


def test_variables_are_read_as_graphql_core_coerces_them(app: Any) -> None:
    schema = _schema(app)
    document = parse('query($s: [String!]!, $c: String, $one: String!) { '
                     'a: availability(skus: $s, channel: $c) { sku } '
                     'b: availability(skus: ["X", $one]) { sku } }')
    plan = plan_of(document, None)
    assert plan is not None and plan.strings is not None
    general = replace(plan, strings=None)
    for variables in ({"s": ["A", "B", "A"], "c": "web", "one": "Y"}, {"s": "A", "one": "Y"},
                      {"s": ["A"], "c": None, "one": "Y", "extra": 1}, {"s": ["A"]},
                      {"s": None, "one": "Y"}, {"s": ["A", None], "one": "Y"},
                      {"s": [1], "one": "Y"}, {"s": ["A"], "c": 5, "one": "Y"},
                      {"s": ["A"], "one": None}, {"s": {"x": 1}, "one": "Y"}, {}):
        assert plan.reading(schema, variables) == general.reading(schema, variables), variables


def _schema(app: Any) -> Any:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql" and hasattr(route, "endpoint"):
            return route.endpoint.schema._schema
    raise AssertionError("no /graphql route")


async def test_an_answer_gone_stale_while_charged_is_run_without_charging_again(
    app: Any, api: GraphQLClient, monkeypatch: Any,
) -> None:
    """A change heard between taking a remembered answer's points and reading its items:
    the full path answers it, with the points already taken."""
    from api.graphql import answers as module

    await factories.shop({"SHOE": {"a": 7}})
    await _heard(app)
    document = ('{ availability(skus: ["SHOE"], channel: "web") { available } }'
                f" # {uuid4().hex}")
    for _ in range(2):  # kept from its second run
        kept = (await api.raw(document, admin=False)).json()
    taken = module.take_points

    async def taken_then_changed(*args: Any, **kwargs: Any) -> Any:
        result = await taken(*args, **kwargs)
        app.state.services.answers.forget(["SHOE"])  # a stock change heard meanwhile
        return result

    monkeypatch.setattr(module, "take_points", taken_then_changed)
    before = remembered()
    run = (await api.raw(document, admin=False)).json()
    assert remembered() == before  # not answered from memory: run
    assert run["data"] == kept["data"] == {"availability": [{"available": 7}]}
    cost = run["extensions"]["cost"]
    assert (cost["requested"], cost["actual"]) == (3, 3)
    assert cost["remaining"] == kept["extensions"]["cost"]["remaining"] - 3  # charged once
