"""Parsing and validating documents: remembered, and large ones off the event loop.

A document near the token limit takes a few hundred milliseconds of CPU to parse
and validate (graphql-core is pure Python); on the event loop that would stall
every other request of the process. Small documents are prepared in place (less
than a millisecond), large ones in a worker thread, one at a time per process,
so the loop keeps its share of the CPU whatever one client sends. Answers are
remembered per document text, as strawberry's ParserCache and ValidationCache
do, which this replaces.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from graphql import DocumentNode, GraphQLError, parse, validate
from strawberry.extensions import SchemaExtension

from domain.cpu import CpuLimit

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


class Preparation:
    """What one schema keeps across requests: the worker limit and the remembered answers."""

    def __init__(self, size: int = 512) -> None:
        self.cpu = CpuLimit(1, name="prepare")
        self.parsed = _Lru(size)
        self.validated = _Lru(size)

    async def run(self, large: bool, work: Callable[[], T]) -> T:
        return await self.cpu.run(work) if large else work()


class PrepareDocuments(SchemaExtension):
    """Must come after the extensions that set parse options and validation rules."""

    def __init__(self, preparation: Preparation) -> None:
        self.preparation = preparation
        self._key: tuple[Any, ...] | None = None  # the parsed text and options, when parsed here

    async def on_parse(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        query = ctx.query
        if query and ctx.graphql_document is None:
            options: dict[str, Any] = dict(ctx.parse_options)
            key = self._key = (query, tuple(sorted(options.items())))
            document = self.preparation.parsed.get(key)
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

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None and ctx.validation_rules:
            rules = tuple(ctx.validation_rules)
            key = (self._key, rules) if self._key else None
            errors: list[GraphQLError] | None = self.preparation.validated.get(key)
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
