"""Limits that keep one document from taking the server down: depth, aliases and tokens."""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension


def _depth(node: Node, fragments: dict[str, FragmentDefinitionNode], seen: frozenset[str]) -> int:
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue  # introspection is bounded by the schema itself
            depth = 1 + _depth(selection, fragments, seen)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            depth = _depth(fragments[name], fragments, seen | {name})
        else:
            continue
        deepest = max(deepest, depth)
    return deepest


def _count_aliases(node: Node) -> int:
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode) and selection.alias is not None:
            total += 1
        total += _count_aliases(selection)
    return total


def document_limits(*, max_depth: int, max_aliases: int) -> type[ValidationRule]:
    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = {
                d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
            }
            executable = [d for d in definitions if isinstance(d, ExecutableDefinitionNode)]
            depth = max((_depth(d, fragments, frozenset()) for d in executable), default=0)
            aliases = sum(_count_aliases(d) for d in executable)
            if depth > max_depth:
                self.report_error(GraphQLError(
                    f"The document is {depth} levels deep; at most {max_depth} are allowed",
                    extensions={"code": "QUERY_TOO_COMPLEX"},
                ))
            if aliases > max_aliases:
                self.report_error(GraphQLError(
                    f"The document uses {aliases} aliases; at most {max_aliases} are allowed",
                    extensions={"code": "QUERY_TOO_COMPLEX"},
                ))

    return DocumentLimits


def limit_extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int
) -> list[Callable[[], SchemaExtension]]:
    """Factories, so each request gets fresh extension instances."""
    rule = document_limits(max_depth=max_depth, max_aliases=max_aliases)
    return [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: AddValidationRules([rule]),
    ]


def error_code(error: GraphQLError) -> str:
    """The code for an error raised before execution: too many tokens, or a bad document."""
    if "contains more than" in error.message and "tokens" in error.message:
        return "QUERY_TOO_COMPLEX"
    return "BAD_REQUEST"
