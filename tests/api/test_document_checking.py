"""Large documents are parsed and validated in a process of their own first: one the rules
refuse is answered exactly as it was when validated here, and never parsed in the server's
process; one they accept runs as before. A checking process that dies is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, get_introspection_query, parse, print_ast
from starlette.routing import Route

from api.graphql.preparation import LARGE_DOCUMENT, Preparation
from tests import factories
from tests.support import GraphQLClient


def _preparation(app: Any) -> Preparation:
    (route,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/graphql"]
    preparation = route.endpoint.schema.preparation
    assert preparation is not None and preparation.checking is not None
    return preparation


@pytest.fixture
async def checking_up(app: Any) -> None:
    """The checking process started and answering, as it is soon after the first large
    document."""
    preparation = _preparation(app)
    assert preparation.checking is not None
    (route,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/graphql"]
    schema = route.endpoint.schema
    assert await preparation.checking.started(lambda: preparation.sdl(schema))


@pytest.fixture
def parsed_here(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The documents the server's own process parsed."""
    from api.graphql import preparation as module

    texts: list[str] = []
    original = module.parse

    def counting(source: Any, **options: Any) -> Any:
        texts.append(str(source))
        return original(source, **options)

    monkeypatch.setattr(module, "parse", counting)
    yield texts


def _large(body: str, tag: str) -> str:
    """``body`` made large by a comment (``tag`` keeps it from any cache)."""
    document = f"# {tag} " + "x" * LARGE_DOCUMENT + "\n" + body
    assert len(document) > LARGE_DOCUMENT
    return document


INTROSPECTION = parse(get_introspection_query(descriptions=True))
_operation = INTROSPECTION.definitions[0]
assert isinstance(_operation, OperationDefinitionNode)
FULL_SCHEMA = _operation.selection_set.selections[0]  # __schema { ... }, fragments apart

REFUSED = {
    "deep": "{ orders(first: 1) { nodes { lines { order { lines { order { lines { order "
            "{ lines { order { lines { order { id } } } } } } } } } } } } }",
    "aliases": "{ " + " ".join(f"a{i}: channels {{ code }}" for i in range(40)) + " }",
    "unknown field": "{ channels { code nonsense } }",
    "fragment cycle": "query { channels { ...A } } fragment A on Channel { ...B } "
                      "fragment B on Channel { ...A }",
    "bad argument": '{ orders(first: "many") { nodes { id } } }',
    # The server's own scalars: a Decimal is finite, a DateTime within the years it stores.
    "bad decimal": 'mutation { taxRatesSet(rates: [{country: "DE", taxClass: STANDARD, '
                   'rate: "-NaN"}]) { userErrors { code } } }',
    "bad date": '{ orders(first: 1, filter: {createdAfter: "0001-01-01T00:00:00"}) '
                "{ nodes { id } } }",
    # The server's own scalars' bounds hold there too, not only the SDL's names.
    "huge decimal": 'mutation { variantUpdate(input: {sku: "X", price: "1e20"}) '
                    "{ userErrors { code } } }",
    "year one": 'mutation { priceListUpdate(input: {id: "x", startsAt: '
                '"0001-01-01T00:00:00Z"}) { userErrors { code } } }',
    # Costed there too: over OMS_MAX_QUERY_COST, or more introspection than the schema has.
    "too costly": "{ " + " ".join(f"p{i}: products(first: 100) {{ edges {{ node {{ variants"
                                  " { sku name } } } }" for i in range(10)) + " }",
    "introspection": "{ " + " ".join(f"s{i}: " + print_ast(FULL_SCHEMA) for i in range(2))
                     + " }\n" + "\n".join(print_ast(d) for d in INTROSPECTION.definitions[1:]),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_a_refused_document_is_answered_as_before_and_not_parsed_here(
    api: GraphQLClient, app: Any, checking_up: None, parsed_here: list[str], name: str,
) -> None:
    preparation = _preparation(app)
    checked = (await api.raw(_large(REFUSED[name], f"{name} checked"))).json()
    assert not any(name in text for text in parsed_here)  # never parsed in this process
    checking, preparation.checking = preparation.checking, None
    try:
        here = (await api.raw(_large(REFUSED[name], f"{name} here"))).json()
    finally:
        preparation.checking = checking
    assert checked["errors"] and checked.get("data") is None
    assert [(e["message"], e.get("locations"), e["extensions"]["code"])
            for e in checked["errors"]] == [
        (e["message"], e.get("locations"), e["extensions"]["code"]) for e in here["errors"]]
    # what it would have cost, alike
    assert checked["extensions"]["cost"]["requested"] == here["extensions"]["cost"]["requested"]
    if name in ("too costly", "introspection"):
        assert checked["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_the_first_large_documents_are_answered_while_the_process_starts(
    api: GraphQLClient, app: Any, monkeypatch: pytest.MonkeyPatch, parsed_here: list[str],
) -> None:
    # Starting it takes a second or two, and creating its pool blocks the caller: that
    # happens in a thread, not on the event loop, and nobody waits for it.
    from api.graphql.preparation import CheckingProcess

    preparation = _preparation(app)
    assert preparation.checking is not None
    max_depth, max_aliases, introspection = preparation.checking.limits
    checking = CheckingProcess(max_depth=max_depth, max_aliases=max_aliases,
                               introspection=introspection)  # a server's, before its first
    monkeypatch.setattr(preparation, "checking", checking)
    threads: list[str] = []
    original = CheckingProcess._started

    def recorded(self: CheckingProcess, sdl: str) -> Any:
        threads.append(threading.current_thread().name)
        return original(self, sdl)

    monkeypatch.setattr(CheckingProcess, "_started", recorded)
    answer = (await api.raw(_large(REFUSED["unknown field"], "while starting"))).json()
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_REQUEST"]
    assert checking._pool is None and checking._starting is not None  # still starting
    (route,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/graphql"]
    try:
        assert await checking.started(lambda: preparation.sdl(route.endpoint.schema))
        assert threads and threads[0] != threading.main_thread().name
        answer = (await api.raw(_large(REFUSED["unknown field"], "once started"))).json()
        assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_REQUEST"]
        assert any("while starting" in text for text in parsed_here)
        assert not any("once started" in text for text in parsed_here)
    finally:
        checking.close()


async def test_an_accepted_document_runs_and_a_dead_process_is_replaced(
    api: GraphQLClient, app: Any, checking_up: None,
) -> None:
    await factories.shop({"SHOE": {"a": 1}})
    body = "{ " + " ".join(f"c{i}: channels {{ code }}" for i in range(5)) + " }"
    data = await api(_large(body, "accepted"))
    assert data["c0"] == data["c4"] == [{"code": "web"}]
    checking = _preparation(app).checking
    assert checking is not None
    pool = checking._pool
    assert pool is not None
    for pid in list(pool._processes):  # the checking process dies
        os.kill(pid, signal.SIGKILL)
    again = await api(_large(body, "after the kill"))  # answered, checked here meanwhile
    assert again["c0"] == [{"code": "web"}]
    (route,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/graphql"]
    assert await checking.started(lambda: _preparation(app).sdl(route.endpoint.schema))
    errors = (await api.raw(_large(REFUSED["unknown field"], "a new process"))).json()
    assert [e["extensions"]["code"] for e in errors["errors"]] == ["BAD_REQUEST"]
    assert checking._pool is not None and checking._pool is not pool


async def test_a_large_document_that_does_not_parse_is_a_syntax_error(
    api: GraphQLClient,
) -> None:
    answer = (await api.raw(_large("{ channels { code ", "syntax"))).json()
    (error,) = answer["errors"]
    assert error["message"].startswith("Syntax Error") and \
        error["extensions"]["code"] == "BAD_REQUEST"


ORPHAN = """
import asyncio
from api.graphql.preparation import CheckingProcess
from api.graphql.schema import build_schema

async def main():
    schema = build_schema()
    checking = CheckingProcess(max_depth=12, max_aliases=30, introspection=True)
    assert await checking.started(lambda: str(schema.as_str()))
    print(*checking._pool._processes, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _ended(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie has ended; its new parent reaps it


def test_the_checking_process_ends_when_its_server_is_killed() -> None:
    server = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert server.stdout is not None
        (child,) = [int(pid) for pid in server.stdout.readline().split()]
        assert not _ended(child)
    finally:
        server.kill()
        server.wait()
    for _ in range(100):
        if _ended(child):
            break
        time.sleep(0.1)
    assert _ended(child)
