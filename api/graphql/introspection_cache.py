"""Introspection answers, kept per schema: GraphiQL and codegen ask the same thing again.

Only documents that read nothing but introspection are kept, after they were
costed and charged like any other (the cache makes them cheap, not free).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from api.graphql.cost import INTROSPECTION_FIELDS


class IntrospectionAnswers:
    """A small LRU of answers for one schema."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def get(self, key: str) -> dict[str, Any] | None:
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, key: str, answer: dict[str, Any]) -> None:
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)


class IntrospectionCache(SchemaExtension):
    """Answers a repeated introspection-only document from ``answers``; must run after costs."""

    def __init__(self, answers: IntrospectionAnswers) -> None:
        self.answers = answers

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        key = self._key() if ctx.result is None else None  # None: refused, or not introspection
        cached = self.answers.get(key) if key else None
        if cached is not None:
            ctx.result = ExecutionResult(data=cached, errors=None)
        yield
        # graphql-core's result, or strawberry's: both have data and errors
        data, errors = getattr(ctx.result, "data", None), getattr(ctx.result, "errors", None)
        if key and cached is None and isinstance(data, dict) and not errors:
            self.answers.put(key, data)

    def _key(self) -> str | None:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None or ctx.query is None:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        operation = next((o for o in operations if o.name and o.name.value == ctx.operation_name),
                         operations[0] if len(operations) == 1 else None)
        if operation is None or operation.operation.value != "query":
            return None
        roots = operation.selection_set.selections
        if not all(isinstance(s, FieldNode)
                   and s.name.value in (*INTROSPECTION_FIELDS, "__typename") for s in roots):
            return None
        return json.dumps([ctx.query, ctx.operation_name, ctx.variables], sort_keys=True,
                          default=str)
