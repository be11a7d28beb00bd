"""Parsing and validating documents: remembered, and large ones off the event loop.

A document near the token limit takes tens to hundreds of milliseconds of CPU to parse
and validate (graphql-core is pure Python); on the event loop that would stall every
other request of the process, and in a thread it still holds Python's lock. So:

- small documents are prepared in place (less than a millisecond);
- a large one is first parsed and validated in a process of its own (one per server
  process, started on the first large document): one the rules refuse never costs the
  server's own process anything but the answer; one they accept is parsed again here, in
  a worker thread, and not validated again;
- answers are remembered per document text, as strawberry's ParserCache and
  ValidationCache do, which this replaces.

The process validates against the schema's SDL with the same rules as here
(``validating_rules``); a request whose rules differ (an extension added one) or a
process that died is prepared here, in the thread, as before.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
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

from api.graphql.limits import document_limits
from api.graphql.scalars import parse_datetime, parse_decimal
from domain.cpu import CpuLimit

log = logging.getLogger(__name__)

T = TypeVar("T")

# Characters past which a document is prepared in a worker thread (a storefront's
# documents are well under it; a 5000-token document is ~25,000 characters).
LARGE_DOCUMENT = 2000


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


def _start_checking(sdl: str, max_depth: int, max_aliases: int, introspection: bool) -> None:
    schema = build_schema(sdl)
    # The SDL names the scalars, not their bounds: a literal the server's own scalars refuse
    # (a 15-digit Decimal, the year 1) is refused here too, not at execution.
    for name, parser in (("Decimal", parse_decimal), ("DateTime", parse_datetime)):
        scalar = schema.type_map.get(name)
        if isinstance(scalar, GraphQLScalarType):
            scalar.parse_value = parser  # type: ignore[method-assign]
            scalar.coerce_input_value = parser
    _checking["schema"] = schema
    _checking["rules"] = validating_rules(max_depth=max_depth, max_aliases=max_aliases,
                                          introspection=introspection)


def _check(query: str, options: dict[str, Any]) -> Found:
    try:
        document = parse(query, **options)
    except GraphQLError:
        return None
    schema: GraphQLSchema = _checking["schema"]
    return [(error.message, list(error.positions or ()), error.extensions)
            for error in validate(schema, document, _checking["rules"])]


class CheckingProcess:
    """The process large documents are checked in, started on the first one."""

    def __init__(self, *, max_depth: int, max_aliases: int, introspection: bool) -> None:
        self.limits = (max_depth, max_aliases, introspection)
        self.rule_names = tuple(rule.__name__ for rule in validating_rules(
            max_depth=max_depth, max_aliases=max_aliases, introspection=introspection))
        self._pool: ProcessPoolExecutor | None = None

    def checks(self, rules: Sequence[type[ASTValidationRule]]) -> bool:
        return tuple(rule.__name__ for rule in rules) == self.rule_names

    async def check(self, sdl: Callable[[], str], query: str, options: dict[str, Any]
                    ) -> tuple[bool, Found]:
        """(checked, what was found); not checked when the process died (started again
        for the next document)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_checking, initargs=(sdl(), *self.limits))
        try:
            return True, await asyncio.wrap_future(self._pool.submit(_check, query, options))
        except BrokenProcessPool:
            log.warning("the document checking process died; starting another")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return False, None

    def close(self) -> None:
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

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        query = ctx.query
        if query and ctx.graphql_document is None:
            options: dict[str, Any] = dict(ctx.parse_options)
            key = self._key = (query, tuple(sorted(options.items())))
            document = self.preparation.parsed.get(key)
            if document is None:
                found = await self._check_elsewhere(query, options)
                if found is _SYNTAX_ERROR:  # strawberry's own parse step answers it
                    yield
                    return
                if found:  # refused: never parsed here
                    self._key, self._checked = None, found
                    ctx.graphql_document = _REFUSED
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
        checked, found = await checking.check(lambda: self.preparation.sdl(ctx.schema),
                                              query, options)
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
