"""What an introspection selection costs: the size of its answer, estimated from the schema.

Introspection fields count like any field (1 each), and each introspection list
counts what is under it once per item, by the numbers this schema really has:
``__schema { types }`` once per type, ``fields`` under them once per field on
average (so the sum over all types is exact), ``args`` once per argument of an
average field, and so on. Where the type is not known (``__type``, a field's
``type``, ``ofType``, ``interfaces``, ``possibleTypes``), lists count the most
any one type or field has: documents that walk the schema's cycles
(``fields { type { fields { type ... } } }``) grow by that at each turn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    GraphQLWrappingType,
    InlineFragmentNode,
    SelectionSetNode,
)

Kind = Literal["schema", "type", "field", "input", "enum", "directive"]
Mode = Literal["mean", "max"]

# (parent kind, field) -> (child kind, the list it is, or None for a single object)
_EDGES: dict[tuple[Kind, str], tuple[Kind, str | None]] = {
    ("schema", "types"): ("type", "types"),
    ("schema", "directives"): ("directive", "directives"),
    ("schema", "queryType"): ("type", None),
    ("schema", "mutationType"): ("type", None),
    ("schema", "subscriptionType"): ("type", None),
    ("type", "fields"): ("field", "fields"),
    ("type", "inputFields"): ("input", "inputFields"),
    ("type", "interfaces"): ("type", "interfaces"),
    ("type", "possibleTypes"): ("type", "possibleTypes"),
    ("type", "enumValues"): ("enum", "enumValues"),
    ("type", "ofType"): ("type", None),
    ("field", "args"): ("input", "args"),
    ("field", "type"): ("type", None),
    ("input", "type"): ("type", None),
    ("directive", "args"): ("input", "directiveArgs"),
}


@dataclass(frozen=True)
class SchemaCounts:
    """Per list: the mean length over the whole schema, and the longest."""

    mean: Mapping[str, float]
    most: Mapping[str, int]
    wrappers: int  # the most list and non-null wrappers around any type the schema names


def _wrappers(t: GraphQLType) -> int:
    return 1 + _wrappers(t.of_type) if isinstance(t, GraphQLWrappingType) else 0


def _stats(lengths: list[int], over: int) -> tuple[float, int]:
    return (sum(lengths) / over if over else 0.0), max(lengths, default=0)


@cache
def schema_counts(schema: GraphQLSchema) -> SchemaCounts:
    types = list(schema.type_map.values())
    lists: dict[str, list[int]] = {
        "fields": [], "inputFields": [], "interfaces": [], "possibleTypes": [], "enumValues": [],
    }
    field_args: list[int] = []
    wrappers = 0
    for t in types:
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            lists["fields"].append(len(t.fields))
            lists["interfaces"].append(len(t.interfaces))
            field_args += [len(f.args) for f in t.fields.values()]
            for f in t.fields.values():
                wrappers = max([wrappers, _wrappers(f.type)]
                               + [_wrappers(a.type) for a in f.args.values()])
        if isinstance(t, GraphQLInterfaceType | GraphQLUnionType):
            lists["possibleTypes"].append(len(schema.get_possible_types(t)))
        if isinstance(t, GraphQLEnumType):
            lists["enumValues"].append(len(t.values))
        if isinstance(t, GraphQLInputObjectType):
            lists["inputFields"].append(len(t.fields))
            wrappers = max([wrappers] + [_wrappers(f.type) for f in t.fields.values()])
    mean: dict[str, float] = {"types": len(types), "directives": len(schema.directives)}
    most: dict[str, int] = {"types": len(types), "directives": len(schema.directives)}
    for name, lengths in lists.items():  # a list of another kind of type is null: counts 0
        mean[name], most[name] = _stats(lengths, len(types))
    mean["args"], most["args"] = _stats(field_args, len(field_args))
    directive_args = [len(d.args) for d in schema.directives]
    mean["directiveArgs"], most["directiveArgs"] = _stats(directive_args, len(directive_args))
    return SchemaCounts(mean=mean, most=most, wrappers=wrappers)


class IntrospectionCost:
    """Costs ``__schema`` and ``__type`` selections of one document against one schema."""

    def __init__(self, schema: GraphQLSchema,
                 fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.counts = schema_counts(schema)
        self.fragments = fragments
        self._memo: dict[tuple[str, Kind, Mode, int], float] = {}

    def root(self, field: FieldNode) -> int:
        """The cost of a ``__schema`` or ``__type`` field (``__typename`` counts 1)."""
        if field.name.value == "__schema":
            return math.ceil(1 + self._selections(field.selection_set, "schema", "mean", 0))
        if field.name.value == "__type":
            return math.ceil(1 + self._selections(field.selection_set, "type", "max", 0))
        return 1

    def _selections(self, selection_set: SelectionSetNode | None, kind: Kind, mode: Mode,
                    depth: int, wraps: int = 0) -> float:
        """``wraps``: how many ``ofType`` may still be non-null below a type reference."""
        if selection_set is None or depth > 64:  # deeper documents are refused by the limits
            return 0.0
        total = 0.0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, kind, mode, depth, wraps)
            elif isinstance(selection, InlineFragmentNode):
                total += self._selections(selection.selection_set, kind, mode, depth + 1, wraps)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection.name.value, kind, mode, depth, wraps)
        return total

    def _spread(self, name: str, kind: Kind, mode: Mode, depth: int, wraps: int) -> float:
        key = (name, kind, mode, wraps)
        if key not in self._memo:
            fragment = self.fragments.get(name)
            self._memo[key] = 0.0  # a cycle (refused by validation) counts once
            self._memo[key] = self._selections(
                fragment.selection_set if fragment else None, kind, mode, depth + 1, wraps)
        return self._memo[key]

    def _field(self, field: FieldNode, kind: Kind, mode: Mode, depth: int, wraps: int) -> float:
        edge = _EDGES.get((kind, field.name.value))
        if edge is None:
            return 1.0  # a scalar (name, kind, description, ...) or __typename
        child, listed = edge
        below = 0
        if field.name.value == "type":  # a reference: wrapped in at most this many lists/non-nulls
            below = self.counts.wrappers
        elif field.name.value == "ofType":
            if wraps == 0:
                return 1.0  # null: a named type wraps nothing
            below = wraps - 1
        child_mode: Mode = "max"
        if listed is None:
            items = 1.0  # one type, but which one is not known
        else:
            counts = self.counts.mean if mode == "mean" else self.counts.most
            items = float(counts[listed])
            if listed in ("types", "directives"):
                child_mode = "mean"
            elif listed not in ("interfaces", "possibleTypes"):
                child_mode = mode
        return 1.0 + items * self._selections(field.selection_set, child, child_mode, depth + 1,
                                              below)
