"""Which documents' answers can be kept per SKU, and what each request of one asks for.

A plan is a validated query whose root fields are all ``availability``, with no argument
and no directive below them: each item of its answer then depends on nothing but its
SKU, its channel and the caller (``api.graphql.answers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.execution.values import get_argument_values, get_variable_values

from api.graphql.arguments import text_problems
from api.graphql.cost import Cost, document_cost
from api.graphql.inventory.queries import MAX_SKUS

ROOT = "availability"
# Each root field of a request: its response key, channel, SKUs (once each, in order) and
# how many SKUs it was given.
Reading = list[tuple[str, str | None, list[str], int]]


@dataclass(frozen=True)
class Plan:
    """A validated document whose root fields are all ``availability``."""

    document: DocumentNode
    operation: OperationDefinitionNode
    roots: tuple[FieldNode, ...]
    # Its cost by the shape of the variables as sent (a list's length; -1 for anything
    # else): with no argument below the roots, and the variables read (Strings, or lists of
    # them), that is all a document's cost depends on (``api.graphql.cost`` counts lists
    # as sent, so a String sent for a list counts as no list).
    _costs: dict[tuple[int, ...], Cost] = field(default_factory=dict, compare=False)

    def cost(self, variables: Mapping[str, Any] | None, schema: GraphQLSchema) -> Cost:
        """What the full path would charge for it; call after ``reading`` accepted them."""
        given = variables or {}
        shape = tuple(len(value) if isinstance(value := given.get(name), list) else -1
                      for name in self._variables)
        cost = self._costs.get(shape)
        if cost is None:
            name = self.operation.name.value if self.operation.name else None
            if len(self._costs) >= 4 * MAX_SKUS:  # bounded, however lengths combine
                self._costs.clear()
            cost = self._costs[shape] = document_cost(self.document, variables, name, schema)
        return cost

    @property
    def _variables(self) -> list[str]:
        return [d.variable.name.value for d in self.operation.variable_definitions or ()]

    # The variables, when each is a String or a list of non-null Strings without a default
    # (name, non-null, list): then coerced here, as graphql-core would, at a fraction of
    # its cost; else None (coerced by graphql-core).
    strings: tuple[tuple[str, bool, bool], ...] | None = None

    def reading(self, schema: GraphQLSchema, variables: Mapping[str, Any] | None
                ) -> Reading | None:
        """What each root field asks for, with the variables coerced as execution coerces
        them (defaults included); None when the full path must answer (a refusal)."""
        given = dict(variables or {})
        arguments = (self._arguments(given) if self.strings is not None
                     else self._coerced(schema, given))
        if arguments is None:
            return None
        found: Reading = []
        for root, (skus, channel) in zip(self.roots, arguments, strict=True):
            if not isinstance(skus, list) or len(skus) > MAX_SKUS \
                    or not all(isinstance(sku, str) and not text_problems("skus", sku)
                               for sku in skus):
                return None
            if channel is not None and (not isinstance(channel, str)
                                        or text_problems("channel", channel)):
                return None
            found.append(((root.alias or root.name).value, channel, list(dict.fromkeys(skus)),
                          len(skus)))
        return found

    def _coerced(self, schema: GraphQLSchema, given: dict[str, Any]
                 ) -> list[tuple[Any, Any]] | None:
        coerced = get_variable_values(schema, self.operation.variable_definitions or (), given)
        if isinstance(coerced, list):
            return None
        assert schema.query_type is not None
        definition = schema.query_type.fields[ROOT]
        found = []
        for root in self.roots:
            try:
                arguments = get_argument_values(definition, root, coerced)
            except GraphQLError:
                return None
            found.append((arguments.get("skus"), arguments.get("channel")))
        return found

    def _arguments(self, given: dict[str, Any]) -> list[tuple[Any, Any]] | None:
        values: dict[str, Any] = {}
        for name, required, listed in self.strings or ():
            if name not in given:
                if required:
                    return None
                continue
            value = given[name]
            if value is None:
                if required:
                    return None
            elif listed:
                value = value if isinstance(value, list) else [value]  # one item: a list
                if not all(isinstance(item, str) for item in value):
                    return None
            elif not isinstance(value, str):
                return None
            values[name] = value
        found = []
        for root in self.roots:
            arguments = {a.name.value: a.value for a in root.arguments or ()}
            skus = _literal(arguments.get("skus"), values)
            channel = _literal(arguments.get("channel"), values)
            if skus is None:
                return None  # not given a value: the full path refuses it
            found.append((skus, channel))
        return found


def _literal(node: ValueNode | None, values: Mapping[str, Any]) -> Any:
    """An argument of a plan whose variables are all Strings or lists of them."""
    if isinstance(node, VariableNode):
        return values.get(node.name.value)
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        items = [_literal(item, values) for item in node.values]
        return items if all(isinstance(item, str) for item in items) else None
    return None  # null, or not given


def _strings(operation: OperationDefinitionNode, roots: tuple[FieldNode, ...]
             ) -> tuple[tuple[str, bool, bool], ...] | None:
    """The variables' shapes, if they are simple enough to be coerced by ``_arguments``."""
    found = []
    for definition in operation.variable_definitions or ():
        type_, required, listed = definition.type, False, False
        if isinstance(type_, NonNullTypeNode):
            type_, required = type_.type, True
        if isinstance(type_, ListTypeNode):
            if not isinstance(type_.type, NonNullTypeNode):
                return None
            type_, listed = type_.type.type, True
        if definition.default_value is not None or definition.directives \
                or not isinstance(type_, NamedTypeNode) or type_.name.value != "String":
            return None
        found.append((definition.variable.name.value, required, listed))
    for root in roots:
        for argument in root.arguments or ():
            if argument.name.value not in ("skus", "channel") or not isinstance(
                    argument.value, VariableNode | StringValueNode | ListValueNode
                    | NullValueNode):
                return None
            if isinstance(argument.value, ListValueNode) and not all(
                    isinstance(item, VariableNode | StringValueNode)
                    for item in argument.value.values):
                return None
    return tuple(found)


def plan_of(document: DocumentNode, operation_name: str | None) -> Plan | None:
    """The document's plan, if its operation reads availability and nothing else."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        operation = operations[0] if len(operations) == 1 else None
    else:
        operation = next((o for o in operations if o.name and o.name.value == operation_name),
                         None)
    if operation is None or operation.operation is not OperationType.QUERY \
            or operation.directives:
        return None
    roots = operation.selection_set.selections
    if not roots or not all(isinstance(s, FieldNode) and s.name.value == ROOT
                            and not s.directives for s in roots):
        return None
    fields = tuple(s for s in roots if isinstance(s, FieldNode))
    keys = [(s.alias or s.name).value for s in fields]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    if len(set(keys)) != len(keys) or not all(
            _plain(s.selection_set, fragments, set()) for s in fields):
        return None
    return Plan(document, operation, fields, strings=_strings(operation, fields))


def _plain(selection_set: SelectionSetNode | None,
           fragments: Mapping[str, FragmentDefinitionNode], seen: set[str]) -> bool:
    """No argument and no directive anywhere below: an item is the same for every request
    of one SKU, channel and caller."""
    for selection in selection_set.selections if selection_set else ():
        if selection.directives:
            return False
        if isinstance(selection, FieldNode):
            if selection.arguments or not _plain(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _plain(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or fragment.directives \
                    or not _plain(fragment.selection_set, fragments, seen):
                return False
    return True
