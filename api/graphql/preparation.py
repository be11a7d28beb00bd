"""Parsing and validating documents: remembered, and large ones off the event loop.

A document near the token limit takes tens to hundreds of milliseconds of CPU to parse
and validate (graphql-core is pure Python; validating thirty aliased fields already
takes several milliseconds); on the event loop that would stall every other request of
the process, and in a thread it still holds Python's lock. So:

- small documents are prepared in place (about a millisecond);
- a larger one is first parsed and validated in a process of its own (one per server
  process, started in the background on the first larger document; until it answers,
  documents are prepared here): one the rules refuse never costs the server's own
  process anything but the answer; one they accept is parsed again here, in a worker
  thread, and not validated again;
- answers are remembered per document text, as strawberry's ParserCache and
  ValidationCache do, which this replaces.

The process validates against the schema's SDL with the same rules as here
(``validating_rules``); a request whose rules differ (an extension added one) or a
process that died is prepared here, in the thread, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    Source,
    build_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

from api.graphql.cost import CHECKED_COST, document_cost, too_costly
from api.graphql.limits import document_limits
from api.graphql.scalars import SCALAR_OVERRIDES
from domain.cpu import CpuLimit

log = logging.getLogger(__name__)

T = TypeVar("T")

# Characters past which a document is checked in the process and parsed in a worker
# thread: about a millisecond of validation here (a 5000-token document is ~25,000
# characters). Every document is prepared once per text, so this costs a client that
# sends the same documents nothing after the first time.
LARGE_DOCUMENT = 400


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


# What a document's check in the process answers: None for a syntax error (left to
# strawberry's own parse step), else the validation errors as (message, positions,
# extensions).
Found = list[tuple[str, list[int], dict[str, Any] | None]] | None


def validating_rules(*, max_depth: int, max_aliases: int, introspection: bool
                     ) -> list[type[ASTValidationRule]]:
    """The rules a document is validated with, in the order the schema's extensions add
    them (api/graphql/schema.py)."""
    rules = [*specified_rules, document_limits(max_depth=max_depth, max_aliases=max_aliases)]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules


_checking: dict[str, Any] = {}  # in the process: its schema and rules


def _end_with_parent() -> None:
    """Exit once the server that started this process is gone (killed, or it exited without
    shutting the pool down): a pool's worker would otherwise wait for work forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_checking(sdl: str, max_depth: int, max_aliases: int, introspection: bool) -> None:
    _end_with_parent()
    schema = build_schema(sdl)
    # The SDL names the scalars, not what they accept: give them the server's own parsing,
    # so a value it refuses (a NaN, a year 1 timestamp) is refused here too.
    for definition in SCALAR_OVERRIDES.values():
        scalar = schema.type_map.get(definition.name)
        if isinstance(scalar, GraphQLScalarType) and definition.parse_value is not None:
            scalar.parse_value = scalar.coerce_input_value = definition.parse_value  # type: ignore[method-assign,assignment]
    _checking["schema"] = schema
    _checking["rules"] = validating_rules(max_depth=max_depth, max_aliases=max_aliases,
                                          introspection=introspection)


# What a document is costed with in the process (its variables, the operation's name and
# the most one request may cost), or None outside a request: not costed.
Costing = tuple[dict[str, Any] | None, str | None, int] | None


def _check(query: str, options: dict[str, Any], costing: Costing = None
           ) -> tuple[Found, int | None]:
    """What the rules find (the cost's refusal first, as ``CostLimit`` decides it before
    validation), and what the document costs when it was costed."""
    try:
        document = parse(query, **options)
    except GraphQLError:
        return None, None
    schema: GraphQLSchema = _checking["schema"]
    requested = None
    if costing is not None:
        variables, operation_name, max_cost = costing
        counted = document_cost(document, variables, operation_name, schema)
        requested = counted.total
        refusal = too_costly(counted, max_cost, schema)
        if refusal is not None:
            return [(refusal.message, [], refusal.extensions)], requested
    return [(error.message, list(error.positions or ()), error.extensions)
            for error in validate(schema, document, _checking["rules"])], requested


class CheckingProcess:
    """The process large documents are checked in, started on the first one.

    Starting it (a new interpreter that imports graphql-core and builds the schema) takes
    a second or two, and creating the pool blocks its caller meanwhile: it is started in
    a thread, and until it answers documents are prepared here as before."""

    def __init__(self, *, max_depth: int, max_aliases: int, introspection: bool) -> None:
        self.limits = (max_depth, max_aliases, introspection)
        self.rule_names = tuple(rule.__name__ for rule in validating_rules(
            max_depth=max_depth, max_aliases=max_aliases, introspection=introspection))
        self._pool: ProcessPoolExecutor | None = None
        self._starting: asyncio.Future[ProcessPoolExecutor] | None = None

    def checks(self, rules: Sequence[type[ASTValidationRule]]) -> bool:
        return tuple(rule.__name__ for rule in rules) == self.rule_names

    def _started(self, sdl: str) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_checking, initargs=(sdl, *self.limits))
        pool.submit(_check, "{ __typename }", {}).result()  # up, with its schema built
        return pool

    def _start(self, sdl: Callable[[], str]) -> None:
        starting = self._starting = asyncio.get_running_loop().run_in_executor(
            None, self._started, sdl())

        def done(future: asyncio.Future[ProcessPoolExecutor]) -> None:
            if self._starting is future:
                self._starting = None
                if future.cancelled() or future.exception() is not None:
                    log.warning("the document checking process did not start: %s",
                                None if future.cancelled() else future.exception())
                else:
                    self._pool = future.result()

        starting.add_done_callback(done)

    async def started(self, sdl: Callable[[], str]) -> bool:
        """Start the process if it is not running, and wait until it answers (or failed
        to start: False)."""
        if self._pool is None and self._starting is None:
            self._start(sdl)
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._starting)
            await asyncio.sleep(0)  # its done callback runs first
        return self._pool is not None

    async def check(self, sdl: Callable[[], str], query: str, options: dict[str, Any],
                    costing: Costing = None) -> tuple[bool, Found, int | None]:
        """(checked, what was found, what it costs); not checked while the process starts,
        or when it died (started again for the next document)."""
        if self._pool is None:
            if self._starting is None:
                self._start(sdl)
            return False, None, None
        try:
            found, requested = await asyncio.wrap_future(
                self._pool.submit(_check, query, options, costing))
        except BrokenProcessPool:
            log.warning("the document checking process died; starting another")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return False, None, None
        return True, found, requested

    def close(self) -> None:
        if self._starting is not None:  # shut down once started
            def started(future: asyncio.Future[ProcessPoolExecutor]) -> None:
                if not future.cancelled() and future.exception() is None:
                    future.result().shutdown(wait=False, cancel_futures=True)

            self._starting.add_done_callback(started)
            self._starting = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class Preparation:
    """What one schema keeps across requests: the worker limit, the checking process and
    the remembered answers."""

    def __init__(self, size: int = 512, *, checking: CheckingProcess | None = None) -> None:
        self.cpu = CpuLimit(1, name="prepare")
        self.checking = checking
        self.parsed = _Lru(size)
        self.validated = _Lru(size)
        self._sdl: str | None = None

    @staticmethod
    def parse_key(query: str, options: dict[str, Any]) -> tuple[Any, ...]:
        return query, tuple(sorted(options.items()))

    def prepared(self, query: str | None, options: dict[str, Any],
                 rules: Sequence[type[ASTValidationRule]]) -> bool:
        """Whether this process holds ``query`` parsed (with these options) and found valid
        (under these rules): reading it again costs no parse nor validation."""
        if not query:
            return False
        key = self.parse_key(query, options)
        return key in self.parsed and self.validated.get((key, tuple(rules))) == []

    async def run(self, large: bool, work: Callable[[], T]) -> T:
        return await self.cpu.run(work) if large else work()

    def sdl(self, schema: Any) -> str:
        if self._sdl is None:
            self._sdl = str(schema.as_str())
        return self._sdl


# Stands in for a document the checking process refused, which is never parsed here.
_REFUSED = parse("{ __typename }")
_SYNTAX_ERROR: list[GraphQLError] = [GraphQLError("does not parse")]  # compared by identity


class PrepareDocuments(SchemaExtension):
    """Must come after the extensions that set parse options and validation rules."""

    def __init__(self, preparation: Preparation) -> None:
        self.preparation = preparation
        self._key: tuple[Any, ...] | None = None  # the parsed text and options, when parsed here
        self._checked: list[GraphQLError] | None = None  # the checking process's verdict
        self._requested: int | None = None  # and what it said the document costs

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        query = ctx.query
        if query and ctx.graphql_document is None:
            options: dict[str, Any] = dict(ctx.parse_options)
            key = self._key = self.preparation.parse_key(query, options)
            document = self.preparation.parsed.get(key)
            if document is None:
                found = await self._check_elsewhere(query, options)
                if found is _SYNTAX_ERROR:  # strawberry's own parse step answers it
                    yield
                    return
                if found:  # refused: never parsed here
                    self._key, self._checked = None, found
                    ctx.graphql_document = _REFUSED
                    setattr(ctx, CHECKED_COST, self._requested)
                    yield
                    return
                self._checked = found  # accepted there ([]), or not checked there (None)
            if document is None:
                try:
                    document = await self.preparation.run(
                        len(query) > LARGE_DOCUMENT, lambda: parse(query, **options))
                except GraphQLError:
                    # Left to strawberry's own parse step, which answers the syntax error;
                    # raised from here it would escape the subscription path (a traceback,
                    # and a bare ``complete`` on the websocket).
                    yield
                    return
                self.preparation.parsed.remember(key, document)
            ctx.graphql_document = document
        yield

    async def _check_elsewhere(self, query: str, options: dict[str, Any]
                               ) -> list[GraphQLError] | None:
        """A large document's validation errors, from the checking process (``[]``: none,
        ``_SYNTAX_ERROR``: it does not parse); None when it was not checked there."""
        ctx = self.execution_context
        checking = self.preparation.checking
        if len(query) <= LARGE_DOCUMENT or checking is None \
                or not checking.checks(ctx.validation_rules):
            return None
        services = getattr(ctx.context, "services", None)  # None outside a request
        costing: Costing = (None if services is None else
                            (ctx.variables, ctx.operation_name, services.limits.max_cost))
        checked, found, self._requested = await checking.check(
            lambda: self.preparation.sdl(ctx.schema), query, options, costing)
        if not checked:
            return None
        if found is None:
            return _SYNTAX_ERROR
        source = Source(query)
        return [GraphQLError(message, source=source, positions=positions or None,
                             extensions=extensions) for message, positions, extensions in found]

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None and ctx.validation_rules:
            rules = tuple(ctx.validation_rules)
            key = (self._key, rules) if self._key else None
            errors: list[GraphQLError] | None = self.preparation.validated.get(key)
            if errors is None:
                errors = self._checked
            if errors is None:
                errors = await self.preparation.run(
                    len(ctx.query or "") > LARGE_DOCUMENT,
                    lambda: _validate(ctx.schema._schema, document, rules))
                if key:
                    self.preparation.validated.remember(key, errors)
            ctx.pre_execution_errors = errors
        yield


def _validate(schema: Any, document: DocumentNode, rules: tuple[Any, ...]) -> list[GraphQLError]:
    return validate(schema, document, rules)
