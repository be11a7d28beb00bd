"""Availability answers remembered per SKU, so that a repeated read runs no document.

Storefronts ask the same few availability documents again and again, each time for a
few SKUs of a product page. Once a document whose root fields are all ``availability``
has been validated and answered without errors, each SKU's part of the answer is kept,
by (document, root field, channel, the caller's visibility, SKU), from the document's
second run on. The next request for that document whose SKUs are all kept is answered
from them (``remembered``) without going through strawberry: the caller is charged the
document's cost in one go, as the full path would have charged it, and anything unusual
(an unknown SKU, a bad variable, a spent budget, a cost over the limits) runs the full
path, which refuses it as before.

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
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLSchema
from strawberry.extensions import SchemaExtension

from api.context import rate_key
from api.graphql.answer_plans import Plan, plan_of
from api.graphql.cost import Limits, oversize, take_points, too_costly
from domain.access import Principal, visibility

# (document text, operation name, response key, channel, visibility): one root field's
# items for one kind of caller; an item's key adds its SKU.
Base = tuple[str, str | None, str, str | None, Hashable]


@dataclass(frozen=True)
class Prepaid:
    """A remembered answer's points were taken, then a change made its items stale: the
    full path runs it without charging it again."""

    points: int
    remaining: int


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # as strawberry encodes an answer


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
        """The plan of a validated document (worked out once), from its second run on: a
        document sent once (a client making each new, as an abusive one does) keeps
        nothing, and pushes nothing out."""
        key = (query, operation_name)
        if key not in self._plans:
            self._plans[key] = plan_of(document, operation_name)
            while len(self._plans) > self._plan_size:
                self._plans.popitem(last=False)
            return None
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
                     principal: Principal | None, address: str
                     ) -> tuple[str, int] | Prepaid | None:
    """The answer to a request (its JSON body, shape checked) from remembered items, its
    cost charged, and how many root fields it answers; None when the full path must run
    it, and Prepaid when it must run it with its points already taken."""
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
    cost = plan.cost(variables, schema)
    if too_costly(cost, limits.max_cost, schema) is not None or cost.introspection:
        return None  # the full path refuses it, or answers its introspection
    budget = limits.budget_of(principal)
    allowed, remaining, burst_refused = await take_points(
        limiter, limits, principal, rate_key(principal, address), cost.total, cost.fields)
    if not allowed or burst_refused is not None:
        return None  # the full path refuses it (RATE_LIMITED), as for any spent caller
    # Read again: a change dropped while the budget was asked is seen by this read. Then
    # the full path runs it, charged already (the same document and variables cost it the
    # same points).
    parts = [answers.items(base, wanted) for base, wanted in bases]
    if any(part is None for part in parts):
        return Prepaid(cost.total, remaining)
    fields = ",".join(f"{_encode(base[2])}:[{','.join(part or ())}]"
                      for (base, _), part in zip(bases, parts, strict=True))
    report = _encode({"requested": cost.total, "limit": budget, "actual": cost.total,
                      "remaining": remaining})
    return f'{{"data":{{{fields}}},"extensions":{{"cost":{report}}}}}', len(bases)


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
