"""Limits that keep one document from taking the server down: depth, aliases and tokens.

Depth and aliases are counted over each operation as executed: a fragment counts
where it is spread, as many times as it is spread, and a cycle of fragments is
refused. Depth counts the levels of the schema's own fields; introspection
(``__schema``, ``__type``) is finite by the schema, costed by the size of its
answer (see ``cost``), and bounded here by ``MAX_INTROSPECTION_DEPTH`` levels, so
the standard introspection query passes while deep user documents do not.

strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` count the same way,
but walk a fragment again at each spread: nine fragments spreading the next four
times (150 tokens) take them seconds. Here a fragment is walked once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from api.graphql.cost import INTROSPECTION_FIELDS, PASSWORD_FIELDS

# The standard introspection query (graphql-js getIntrospectionQuery, graphql-core's
# get_introspection_query) reads 15 levels from __schema down; a few more for clients
# whose type references read deeper.
MAX_INTROSPECTION_DEPTH = 18
# Password hashing costs tens of milliseconds of CPU: a few per document at most.
MAX_PASSWORD_FIELDS = 3


@dataclass(frozen=True)
class Shape:
    """What one selection set holds once its fragments are put in place."""

    depth: int = 0  # levels of the schema's own fields
    introspection_depth: int = 0  # levels within __schema / __type
    aliases: int = 0
    password_fields: int = 0
    cyclic: bool = False

    def beside(self, other: Shape) -> Shape:
        return Shape(max(self.depth, other.depth),
                     max(self.introspection_depth, other.introspection_depth),
                     self.aliases + other.aliases, self.password_fields + other.password_fields,
                     self.cyclic or other.cyclic)


class _Walker:
    # Depths are cut here, so that a document thousands of levels deep is not walked down.
    CUT = 64

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._memo: dict[tuple[str, bool], Shape] = {}
        self._open: set[tuple[str, bool]] = set()

    def selections(self, selection_set: SelectionSetNode | None, within: bool,
                   level: int = 0) -> Shape:
        """``within``: inside an introspection field, where levels count apart."""
        shape = Shape()
        if selection_set is None or level > self.CUT:
            return shape
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                shape = shape.beside(self._field(selection, within, level))
            elif isinstance(selection, InlineFragmentNode):
                shape = shape.beside(self.selections(selection.selection_set, within, level))
            elif isinstance(selection, FragmentSpreadNode):
                shape = shape.beside(self._spread(selection.name.value, within, level))
        return shape

    def _field(self, field: FieldNode, within: bool, level: int) -> Shape:
        enters = not within and field.name.value in INTROSPECTION_FIELDS
        below = self.selections(field.selection_set, within or enters, level + 1)
        introspecting = within or enters
        return Shape(
            depth=below.depth + (0 if introspecting or field.name.value == "__typename" else 1),
            introspection_depth=below.introspection_depth + (1 if introspecting else 0),
            aliases=below.aliases + (1 if field.alias is not None else 0),
            password_fields=below.password_fields + (field.name.value in PASSWORD_FIELDS),
            cyclic=below.cyclic)

    def _spread(self, name: str, within: bool, level: int) -> Shape:
        key = (name, within)
        if key in self._open:
            return Shape(cyclic=True)
        if key not in self._memo:
            fragment = self.fragments.get(name)
            self._open.add(key)
            self._memo[key] = self.selections(
                fragment.selection_set if fragment else None, within, level)
            self._open.discard(key)
        return self._memo[key]


def operation_shape(operation: OperationDefinitionNode,
                    fragments: Mapping[str, FragmentDefinitionNode]) -> Shape:
    return _Walker(fragments).selections(operation.selection_set, within=False)


def document_limits(*, max_depth: int, max_aliases: int) -> type[ValidationRule]:
    class DocumentLimits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            definitions = context.document.definitions
            fragments = {
                d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
            }
            for operation in definitions:
                if isinstance(operation, OperationDefinitionNode):
                    self._check(operation_shape(operation, fragments))

        def _check(self, shape: Shape) -> None:
            problems = []
            if shape.cyclic:
                problems.append("Fragments spread each other in a cycle")
            if shape.depth > max_depth:
                problems.append(
                    f"The document is {shape.depth} levels deep; at most {max_depth} are allowed")
            if shape.introspection_depth > MAX_INTROSPECTION_DEPTH:
                problems.append(
                    f"The document's introspection is {shape.introspection_depth} levels deep;"
                    f" at most {MAX_INTROSPECTION_DEPTH} are allowed")
            if shape.aliases > max_aliases:
                problems.append(f"The document uses {shape.aliases} aliases; at most"
                                f" {max_aliases} are allowed")
            if shape.password_fields > MAX_PASSWORD_FIELDS:
                problems.append(
                    f"The document checks {shape.password_fields} passwords; at most"
                    f" {MAX_PASSWORD_FIELDS} are allowed")
            for problem in problems:
                self.report_error(GraphQLError(problem, extensions={"code": "QUERY_TOO_COMPLEX"}))

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
    if error.message == "Maximum introspection depth exceeded":  # graphql-core's own rule
        return "QUERY_TOO_COMPLEX"
    return "BAD_REQUEST"
