"""The cost of a document, and the per-client budget it is charged to.

Cost: every field counts 1, and the fields under a list are multiplied by its
page size (``first`` or ``last``, or the default page for connections). The cost is
reported in ``extensions.cost`` of every response; a document over the
per-request maximum is QUERY_TOO_COMPLEX, and a client whose budget for the
current minute is spent gets RATE_LIMITED until the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from api.graphql.relay import DEFAULT_PAGE, MAX_PAGE


def _page(field: FieldNode, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return min(int(value.value), MAX_PAGE)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return min(int(given), MAX_PAGE) if isinstance(given, int) else DEFAULT_PAGE
    selections = field.selection_set.selections if field.selection_set else ()
    is_connection = any(isinstance(s, FieldNode) and s.name.value == "edges" for s in selections)
    return DEFAULT_PAGE if is_connection else 1


def _cost(selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode],
          variables: Mapping[str, Any], depth: int = 0) -> int:
    if selection_set is None or depth > 50:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            below = _cost(selection.selection_set, fragments, variables, depth + 1)
            total += 1 + _page(selection, variables) * below
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, fragments, variables, depth + 1)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            total += _cost(fragments[selection.name.value].selection_set, fragments, variables,
                           depth + 1)
    return total


def document_cost(document: DocumentNode, variables: Mapping[str, Any] | None,
                  operation_name: str | None) -> int:
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in operations if o.name and o.name.value == operation_name),
                  operations[0] if operations else None)
    if chosen is None:
        return 0
    return _cost(chosen.selection_set, fragments, variables or {})


@dataclass
class Limits:
    """Adjustable while running (the app keeps one in its services)."""

    max_cost: int
    budget: int  # points per client per minute


class CostLimit(SchemaExtension):
    """Charges each operation's cost to its client's budget, before it runs."""

    def __init__(self) -> None:
        self.report: dict[str, int] = {}

    async def on_execute(self) -> AsyncIterator[None]:
        await self._charge()
        yield

    async def _charge(self) -> None:
        ctx = self.execution_context
        if ctx.graphql_document is None:
            return
        context = ctx.context
        services = getattr(context, "services", None)
        if services is None:  # executed outside a request (tools, tests of the schema)
            return
        limits: Limits = services.limits
        cost = document_cost(ctx.graphql_document, ctx.variables, ctx.operation_name)
        self.report = {"requested": cost, "limit": limits.budget}
        if cost > limits.max_cost:
            ctx.result = ExecutionResult(data=None, errors=[GraphQLError(
                f"The document costs {cost} points; at most {limits.max_cost} are allowed",
                extensions={"code": "QUERY_TOO_COMPLEX"})])
            return
        allowed, remaining = await services.rate_limiter.consume(
            context.rate_key(), cost, limits.budget)
        self.report |= {"actual": cost if allowed else 0, "remaining": remaining}
        if not allowed:
            ctx.result = ExecutionResult(data=None, errors=[GraphQLError(
                f"Rate limit: {limits.budget} points a minute; {remaining} left, {cost} asked",
                extensions={"code": "RATE_LIMITED"})])

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report else {}
