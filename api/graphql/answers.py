"""Availability answers remembered per SKU, so that a repeated read runs no document.

Storefronts ask the same few availability documents again and again, each time for a
few SKUs of a product page. Once a document whose root fields are all ``availability``
has been validated and answered without errors, each SKU's part of the answer is kept,
by (document, root field, channel, the caller's visibility, SKU). The next request for
that document whose SKUs are all kept is answered from them (``remembered``) without
going through strawberry: the caller is charged the document's cost in one go, as the
full path would have charged it, and anything unusual (an unknown SKU, a bad variable, a
spent budget, a cost over the limits) runs the full path, which refuses it as before.

What is kept goes with the availability entries it was read from: the cache's own
in-process layer tells ``forget`` of every SKU it drops (a commit of this process, or a
change announced on the bus by another), and of every time it empties. Entries live no
longer than that layer's, are not kept when a change was dropped while they were worked
out, and are stale as soon as the catalogue changes (location names and codes are in
answers). Only selections without arguments or directives below the root are kept, so
an item depends on nothing but its SKU, channel and caller.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
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
from strawberry.extensions import SchemaExtension

from api.context import rate_key
from api.graphql.arguments import text_problems
from api.graphql.cost import Cost, Limits, document_cost, oversize
from api.graphql.inventory.queries import MAX_SKUS
from domain.access import Principal, visibility

ROOT = "availability"
# (document text, operation name, response key, channel, visibility): one root field's
# items for one kind of caller; an item's key adds its SKU.
Base = tuple[str, str | None, str, str | None, Hashable]
# Each root field of a request: its response key, channel, SKUs (once each, in order) and
# how many SKUs it was given.
Reading = list[tuple[str, str | None, list[str], int]]


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # as strawberry encodes an answer


@dataclass(frozen=True)
class Plan:
    """A validated document whose root fields are all ``availability``."""

    document: DocumentNode
    operation: OperationDefinitionNode
    roots: tuple[FieldNode, ...]
    # Its cost by the number of SKUs given to each root field: with no argument below the
    # roots, that is all the variables change of it.
    _costs: dict[tuple[int, ...], Cost] = field(default_factory=dict, compare=False)

    def cost(self, reading: Reading, variables: Mapping[str, Any] | None,
             schema: GraphQLSchema) -> Cost:
        given = tuple(asked for _, _, _, asked in reading)
        cost = self._costs.get(given)
        if cost is None:
            name = self.operation.name.value if self.operation.name else None
            cost = self._costs[given] = document_cost(self.document, variables, name, schema)
            if len(self._costs) > MAX_SKUS * len(self.roots):  # bounded: lengths are
                self._costs.clear()
        return cost

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


class AvailabilityAnswers:
    """One process's remembered items and the plans of the documents they answer."""

    def __init__(self, *, ttl: float, catalogue: Callable[[], int], size: int = 100_000,
                 plans: int = 256) -> None:
        self.ttl = ttl
        self.size = size
        self._catalogue = catalogue  # the catalogue's generation (domain/catalog/cache.py)
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self._plan_size = plans
        # item key -> (expires, catalogue generation, the item as JSON)
        self._items: dict[tuple[Any, ...], tuple[float, int, str]] = {}
        self._keys_of: dict[str, set[tuple[Any, ...]]] = {}
        self.generation = 0  # counts drops
        self._dropped: dict[str, int] = {}  # the generation each SKU was last dropped at
        self._cleared = 0  # the generation everything was last dropped at

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        """The plan of a document answered before, if it is one."""
        return self._plans.get((query, operation_name))

    def learn(self, query: str, operation_name: str | None, document: DocumentNode
              ) -> Plan | None:
        """The plan of a validated document (worked out once)."""
        key = (query, operation_name)
        if key not in self._plans:
            self._plans[key] = plan_of(document, operation_name)
            while len(self._plans) > self._plan_size:
                self._plans.popitem(last=False)
        self._plans.move_to_end(key)
        return self._plans[key]

    def started(self) -> tuple[int, int]:
        """Taken before reading: what ``remember`` checks the read against."""
        return self.generation, self._catalogue()

    def forget(self, skus: list[str] | None) -> None:
        """Drop these SKUs' items (None: every item); a read under way keeps none of them."""
        self.generation += 1
        if skus is None or len(self._dropped) > self.size:
            self._items.clear()
            self._keys_of.clear()
            self._dropped.clear()
            self._cleared = self.generation
            return
        for sku in skus:
            self._dropped[sku] = self.generation
            for key in self._keys_of.pop(sku, ()):
                self._items.pop(key, None)

    def remember(self, base: Base, items: Mapping[str, str], since: tuple[int, int]) -> None:
        """Keep items read since ``since``, but those of SKUs dropped meanwhile."""
        generation, catalogue = since
        if self._cleared > generation or self._catalogue() != catalogue:
            return
        if len(self._items) + len(items) > self.size:
            self.forget(None)  # crude, bounded: a full memory starts over
            return
        expires = time.monotonic() + self.ttl
        for sku, text in items.items():
            if self._dropped.get(sku, -1) > generation:
                continue
            key = (*base, sku)
            self._items[key] = (expires, catalogue, text)
            self._keys_of.setdefault(sku, set()).add(key)

    def items(self, base: Base, skus: list[str]) -> list[str] | None:
        """The kept items of these SKUs, in order; None unless every one is kept."""
        now, catalogue = time.monotonic(), self._catalogue()
        found = []
        for sku in skus:
            entry = self._items.get((*base, sku))
            if entry is None or entry[0] <= now or entry[1] != catalogue:
                return None
            found.append(entry[2])
        return found


async def remembered(answers: AvailabilityAnswers, data: Mapping[str, Any], *,
                     schema: GraphQLSchema, limits: Limits, limiter: Any,
                     principal: Principal | None, address: str) -> str | None:
    """The answer to a request (its JSON body, shape checked) from remembered items, its
    cost charged; None when the full path must run it."""
    query, operation_name = data.get("query"), data.get("operationName")
    variables = data.get("variables")
    plan = answers.plan(query, operation_name) if isinstance(query, str) else None
    if plan is None or query is None or oversize(limits, query, variables) is not None:
        return None
    reading = plan.reading(schema, variables)
    if reading is None:
        return None
    visible = visibility(principal)
    bases: list[tuple[Base, list[str]]] = [
        ((query, operation_name, key, channel, visible), wanted)
        for key, channel, wanted, _ in reading]
    if any(answers.items(base, wanted) is None for base, wanted in bases):
        return None
    cost = plan.cost(reading, variables, schema)
    if cost.fields > limits.max_cost or cost.introspection:
        return None
    budget = limits.budget_of(principal)
    allowed, remaining = await limiter.consume(rate_key(principal, address), cost.total,
                                               budget)
    if not allowed:
        return None  # the full path refuses it (RATE_LIMITED), as for any spent caller
    # Read again: a change dropped while the budget was asked is seen by this read. (Then
    # the full path runs, and charges again: rare, and never less than the read's cost.)
    parts = [answers.items(base, wanted) for base, wanted in bases]
    if any(part is None for part in parts):
        return None
    fields = ",".join(f"{_encode(base[2])}:[{','.join(part or ())}]"
                      for (base, _), part in zip(bases, parts, strict=True))
    report = _encode({"requested": cost.total, "limit": budget, "actual": cost.total,
                      "remaining": remaining})
    return f'{{"data":{{{fields}}},"extensions":{{"cost":{report}}}}}'


class RememberAnswers(SchemaExtension):
    """Keeps each SKU's part of a successful availability document's answer (must come
    after the extensions that refuse or answer a document before it runs)."""

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        answers: AvailabilityAnswers | None = getattr(
            getattr(ctx.context, "services", None), "answers", None)
        document, query = ctx.graphql_document, ctx.query
        if answers is None or document is None or not query or ctx.result is not None \
                or ctx.pre_execution_errors:
            yield
            return
        plan = answers.learn(query, ctx.operation_name, document)
        reading = plan.reading(ctx.schema._schema, ctx.variables) if plan else None
        since = answers.started()
        yield
        data = getattr(ctx.result, "data", None)
        if reading is None or getattr(ctx.result, "errors", None) or not isinstance(data, dict):
            return
        visible = visibility(ctx.context.principal)
        for key, channel, wanted, _ in reading:
            items = data.get(key)
            # One item per SKU asked, in order (unknown SKUs are left out: then none is kept).
            if isinstance(items, list) and len(items) == len(wanted):
                answers.remember((query, ctx.operation_name, key, channel, visible),
                                 {sku: _encode(item) for sku, item in zip(wanted, items,
                                                                           strict=True)},
                                 since)
