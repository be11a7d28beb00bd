"""The cost of a document, and the per-client budget it is charged to.

Cost, over the operation as executed (each fragment counted where it is spread):
every field counts 1, and the fields under a list are multiplied by its size:
a connection's page (``first`` or ``last``, else the default page), and for a
plain list field (``Product.variants``, ``Order.lines``: any list that is not
a connection's ``edges``) its declared bound in ``LIST_SIZES``, else
``PLAIN_LIST_SIZE``. Each item of a list
argument (``availability(skus:)``, ``orderCreate(input: {lines})``, at any
depth of an input) counts 1 more, and a field given a list counts what is
under it once per item of its longest one. Fields that hash a password count
``PASSWORD_FIELD_COST``. Introspection counts the size of its answer (see
``introspection_cost``); it is bounded on its own, by what the schema's full
standard introspection costs, since it is finite by the schema.

The cost is reported in ``extensions.cost`` of every response; a document over
the per-request maximum is QUERY_TOO_COMPLEX, and a client whose budget for
the current minute is spent gets RATE_LIMITED until the next.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_introspection_query,
    get_named_type,
    parse,
)
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from api.fairness import is_public
from api.graphql.introspection_cost import IntrospectionCost
from api.graphql.live import record_extensions
from api.graphql.relay import DEFAULT_PAGE, MAX_PAGE
from api.settings import request_bytes
from integrations.ratelimit.spent import BURST_WINDOW

if TYPE_CHECKING:  # it imports this module
    from api.graphql.preparation import Preparation

# Each of these hashes or checks a password (argon2: tens of milliseconds of CPU).
PASSWORD_FIELDS = frozenset({"customerRegister", "customerTokenCreate", "staffSignIn",
                             "staffPasswordSet"})
PASSWORD_FIELD_COST = 100
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
# What a plain list field (not a connection) is counted as: it is not paged, so its
# real length is the data's (an order's lines, a product's variants); ten is the
# size assumed when nothing smaller is declared below.
PLAIN_LIST_SIZE = 10
# The size counted for each plain list field of objects, by field name or "Type.field".
# Every one is declared here (a test reading the schema fails on one that is not): what
# an item of a typical answer holds, where the data keeps it small, else PLAIN_LIST_SIZE.
# These are what a document is priced at, not caps: the data's own caps keep the real
# lengths bounded (an order has at most ``domain.orders.capture.MAX_LINES`` lines).
LIST_SIZES: dict[str, int] = {
    # A payload's errors: at most one per item of the input, whose items are charged already.
    "userErrors": 1,
    # An order's own parts: a few lines, shipped in one or two parcels, paid once or twice
    # (a decline, then a card), rarely returned. Lines are reserved at one or two locations.
    "Order.lines": 5,
    "OrderLine.allocations": 2,
    "Order.shipments": 2,
    "Shipment.lines": 3,  # some of the order's lines: they are split over its parcels
    "Order.payments": 2,
    "Order.returns": 1,
    "Return.lines": 3,
    # They grow with the order's life: the default.
    "Order.events": PLAIN_LIST_SIZE,
    "Customer.notes": PLAIN_LIST_SIZE,
    "Shipment.events": PLAIN_LIST_SIZE,
    # A customer's totals, one per currency they bought in.
    "Customer.lifetimeValue": 3,
    "Customer.averageOrderValue": 3,
    # The shop's own set-up, as many as its locations, channels, variants or hooks: the
    # default (a shop with more pays more, as it should).
    "Query.channels": PLAIN_LIST_SIZE,
    # A company's addresses and the customers buying for it: a few.
    "Company.locations": 5,
    "Company.contacts": PLAIN_LIST_SIZE,
    "Company.balance": 3,  # one per currency it owes in
    "Query.locations": PLAIN_LIST_SIZE,
    "Channel.locations": PLAIN_LIST_SIZE,
    "Availability.locations": PLAIN_LIST_SIZE,
    "Variant.stock": PLAIN_LIST_SIZE,
    "Product.variants": PLAIN_LIST_SIZE,
    "Query.webhookSubscriptions": PLAIN_LIST_SIZE,
    # availability(skus:) answers one per SKU given: counted by its argument, not here.
    "Query.availability": PLAIN_LIST_SIZE,
    # Reports (the admin's and partners'): rows by period, SKU or reason; the default.
    "SalesReport.rows": PLAIN_LIST_SIZE,
    "SalesReport.totals": PLAIN_LIST_SIZE,
    "SalesReport.topSkus": PLAIN_LIST_SIZE,
    "InventoryReport.rows": PLAIN_LIST_SIZE,
    "FulfillmentReport.rows": PLAIN_LIST_SIZE,
    "FulfillmentReport.onHold": PLAIN_LIST_SIZE,
    "FulfillmentReport.cancelled": PLAIN_LIST_SIZE,
    "ReturnsReport.skus": PLAIN_LIST_SIZE,
    "ReturnsReport.reasons": PLAIN_LIST_SIZE,
    "ReturnsReport.refunds": 3,  # one per currency
    # A draft, or an edit's calculated order, holds what an order does.
    "DraftOrder.lines": 5,
    "CalculatedOrder.lines": 5,
    # One per rule that fired: the rules are few (domain/risk/rules.py).
    "RiskAssessment.reasons": 3,
    # An order's invoice (one) and its credit notes (one per refund); a document's lines
    # are the order's, its tax lines one per rate.
    "Order.invoices": 1,
    "Invoice.creditNotes": 2,
    "Invoice.lines": 5,
    "Invoice.taxLines": 2,
    "InvoiceSeller.address": 4,
    # The shop's roles (five built in, a few of its own) and a member's open sessions.
    "Query.staffRoles": PLAIN_LIST_SIZE,
    "Query.staffSessions": PLAIN_LIST_SIZE,
    # A few rates per order (goods, reduced goods, shipping); the shop's rate table.
    "Order.taxLines": 2,
    "Query.taxRates": PLAIN_LIST_SIZE,
    "Query.taxReport": PLAIN_LIST_SIZE,
    "TaxRatesSetPayload.taxRates": PLAIN_LIST_SIZE,
    # An order gets a discount per target at most (lines, order, shipping), a few line
    # promotions; each spread over the order's lines. Codes come in batches.
    "Order.discounts": 3,
    "OrderDiscount.allocations": 5,
    "VoucherCreatePayload.vouchers": PLAIN_LIST_SIZE,
    # Metadata of an order, a customer or a product (by field name, on every type): up to
    # 100 keys, a few in practice. Tags are strings (counted as one field).
    "metadata": PLAIN_LIST_SIZE,
    "privateMetadata": PLAIN_LIST_SIZE,
}


def _is_connection(field: FieldNode, below: GraphQLNamedType | None) -> bool:
    """Whether the field answers a connection: by its type (edges asked through fragments
    count the same), or by its selection when the schema is not known."""
    if isinstance(below, GraphQLObjectType | GraphQLInterfaceType):
        return "pageInfo" in below.fields
    selections = field.selection_set.selections if field.selection_set else ()
    return any(isinstance(s, FieldNode) and s.name.value == "edges" for s in selections)


def _page(field: FieldNode, variables: Mapping[str, Any], *, connection: bool) -> int | None:
    """The page asked by ``first``/``last``; the default page for a connection; else None."""
    for argument in field.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return min(int(value.value), MAX_PAGE)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return min(int(given), MAX_PAGE) if isinstance(given, int) else DEFAULT_PAGE
    return DEFAULT_PAGE if connection else None


def _is_list(field_type: Any) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _list_size(parent: GraphQLNamedType | None, name: str) -> int:
    """How many items a plain list field of ``parent`` counts as (1 if it is not one)."""
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return 1
    field = parent.fields.get(name)
    if field is None or not _is_list(field.type) or "pageInfo" in parent.fields:
        return 1  # a connection's edges are its page, counted on the connection
    return LIST_SIZES.get(f"{parent.name}.{name}", LIST_SIZES.get(name, PLAIN_LIST_SIZE))


def _items(value: Any) -> int:
    """Items of every list in a (coerced or literal) value, nested ones included."""
    if isinstance(value, list):
        return len(value) + sum(_items(v) for v in value)
    if isinstance(value, dict):
        return sum(_items(v) for v in value.values())
    return 0


def _value(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    """A literal with its variables put in; only the shape (lists, objects) matters here."""
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, ListValueNode):
        return [_value(v, variables) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _value(f.value, variables) for f in node.fields}
    return None


def _list_arguments(field: FieldNode, variables: Mapping[str, Any]) -> tuple[int, int]:
    """The items of all list arguments, and the length of the longest top-level one."""
    items = longest = 0
    for argument in field.arguments or ():
        value = _value(argument.value, variables)
        items += _items(value)
        if isinstance(value, list):
            longest = max(longest, len(value))
    return items, longest


class _Coster:
    def __init__(self, schema: GraphQLSchema | None,
                 fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.introspection = IntrospectionCost(schema, fragments) if schema else None
        self._memo: dict[str, tuple[int, int]] = {}

    def _type(self, name: str | None, otherwise: GraphQLNamedType | None
              ) -> GraphQLNamedType | None:
        if name is None or self.schema is None:
            return otherwise
        return self.schema.get_type(name)

    def selections(self, selection_set: SelectionSetNode | None,
                   parent: GraphQLNamedType | None = None,
                   depth: int = 0) -> tuple[int, int]:
        """(cost of the fields, cost of the introspection) of a selection set of ``parent``
        (None when the schema is not known: plain lists then count one item)."""
        if selection_set is None or depth > 64:  # deeper documents are refused by the limits
            return 0, 0
        fields = introspection = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name in INTROSPECTION_FIELDS:
                    introspection += (self.introspection.root(selection)
                                      if self.introspection else 1)
                    continue
                items, longest = _list_arguments(selection, self.variables)
                definition = (parent.fields.get(name) if isinstance(
                    parent, GraphQLObjectType | GraphQLInterfaceType) else None)
                below_type = get_named_type(definition.type) if definition else None
                below_fields, below_introspection = self.selections(selection.selection_set,
                                                                    below_type, depth + 1)
                page = _page(selection, self.variables,
                             connection=_is_connection(selection, below_type))
                # a field given a list answers once per item of it (one availability per SKU)
                times = (max(page, longest) if page is not None
                         else longest or _list_size(parent, name))
                own = PASSWORD_FIELD_COST if name in PASSWORD_FIELDS else 1
                fields += own + items + times * below_fields
                introspection += times * below_introspection
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                below = self.selections(selection.selection_set, self._type(
                    condition.name.value if condition else None, parent), depth + 1)
                fields, introspection = fields + below[0], introspection + below[1]
            elif isinstance(selection, FragmentSpreadNode):
                below = self._spread(selection.name.value, depth)
                fields, introspection = fields + below[0], introspection + below[1]
        return fields, introspection

    def _spread(self, name: str, depth: int) -> tuple[int, int]:
        # A fragment costs the same wherever it is spread: once computed, it is looked up,
        # so fragments spread many times are counted as executed without walking them again.
        if name not in self._memo:
            self._memo[name] = (0, 0)  # a cycle (refused by validation) counts nothing
            fragment = self.fragments.get(name)
            if fragment is not None:
                self._memo[name] = self.selections(
                    fragment.selection_set,
                    self._type(fragment.type_condition.name.value, None), depth + 1)
        return self._memo[name]


@dataclass(frozen=True)
class Cost:
    fields: int
    introspection: int

    @property
    def total(self) -> int:
        return self.fields + self.introspection


def document_cost(document: DocumentNode, variables: Mapping[str, Any] | None,
                  operation_name: str | None, schema: GraphQLSchema | None = None) -> Cost:
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in operations if o.name and o.name.value == operation_name),
                  operations[0] if operations else None)
    if chosen is None:
        return Cost(0, 0)
    root = None
    if schema is not None:
        root = {"query": schema.query_type, "mutation": schema.mutation_type,
                "subscription": schema.subscription_type}[chosen.operation.value]
    fields, introspection = _Coster(schema, fragments, variables or {}).selections(
        chosen.selection_set, root)
    return Cost(fields, introspection)


@cache
def introspection_allowance(schema: GraphQLSchema) -> int:
    """The most introspection one document may cost: the schema's full standard query.

    Clients send ``getIntrospectionQuery()`` with some of its options; the fullest
    (every option on) answers everything, so no document needs more than it does,
    give or take a few levels of ``ofType`` (a quarter more is allowed for those).
    """
    full = parse(get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True,
        schema_description=True, input_value_deprecation=True))
    return math.ceil(document_cost(full, None, None, schema).introspection * 1.25)


PUBLIC_FLOOR = 30_000


def public_budget(schema: GraphQLSchema, budget: int) -> int:
    """A public caller's points a minute when none is set: room to read the whole schema
    twice (GraphiQL does it on opening, and again on a reload), at least ``PUBLIC_FLOOR``,
    never more than a partner's ``budget``. Read from the schema, so a schema that grows
    keeps GraphiQL working."""
    return min(budget, max(PUBLIC_FLOOR, 2 * introspection_allowance(schema)))


@dataclass
class Limits:
    """Adjustable while running (the app keeps one in its services)."""

    max_cost: int
    budget: int  # points per client per minute
    public_budget: int | None = None  # for public callers (see api.fairness); else budget
    max_bytes: int = 50_000  # a document's raw size, refused before it is parsed
    max_variables_bytes: int = 100_000  # its variables' size, as compact JSON
    # How long a caller whose budget is spent waits for its refusal, in its turn (seconds)
    spent_pause: float = 0.25

    @property
    def max_body(self) -> int:
        """The most an HTTP body or a websocket message may hold (``request_bytes``)."""
        return request_bytes(self.max_bytes, self.max_variables_bytes)

    def budget_of(self, principal: Any) -> int:
        """The points a minute of this caller: public callers have their own budget."""
        if self.public_budget is not None and is_public(principal):
            return self.public_budget
        return self.budget

    def burst_of(self, principal: Any) -> int | None:
        """The most a public caller's documents may cost (their introspection apart) within
        one burst window (``BURST_WINDOW`` seconds): that window's share of its minute, and
        room for two of the costliest documents; None for the admin and partners."""
        if not is_public(principal):
            return None
        return max(2 * self.max_cost, self.budget_of(principal) * BURST_WINDOW // 60)


# A document refused before it runs still cost its parsing (and maybe validation): its
# client is charged a point per this many characters of it (a 25,000-character one: 12,500
# points, so four a minute). Clients that send valid documents never pay it.
REFUSED_CHARACTERS_PER_POINT = 2


def _refused(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def oversize(limits: Limits, query: str | None, variables: Mapping[str, Any] | None
             ) -> tuple[str, int] | None:
    """Why a request's document or variables are over their byte limits (and the size of
    its variables when they are), or None; checked before the document is parsed."""
    if query and len(query) > limits.max_bytes // 4:
        size = len(query.encode("utf-8", "surrogatepass"))  # 4 bytes a character at most
        if size > limits.max_bytes:
            return f"The document is {size} bytes; at most {limits.max_bytes} are allowed", 0
    size = variables_size(variables)
    if size > limits.max_variables_bytes:
        return (f"The variables are {size} bytes; at most {limits.max_variables_bytes} are"
                " allowed", size)
    return None


def refused_points(query: str | None, variables: int = 0) -> int:
    """What a document refused before it runs is charged: a point per
    REFUSED_CHARACTERS_PER_POINT characters of it (and of its variables, when they are why)."""
    return (len(query or "") + variables) // REFUSED_CHARACTERS_PER_POINT


def variables_size(variables: Mapping[str, Any] | None) -> int:
    """The variables' size in bytes, as compact JSON (how a client would send them)."""
    if not variables:
        return 0
    try:
        return len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
                   .encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError):  # not from JSON (a test's own values): not counted
        return 0


async def take_points(limiter: Any, limits: Limits, principal: Any, key: str, points: int,
                      fields: int) -> tuple[bool, int, float | None]:
    """Charge a document's points to its caller's minute and, for a public caller, the cost
    of its fields (its introspection apart) to its burst window: (allowed, points left, the
    seconds until the burst window ends when that is what refused). Nothing is charged when
    either refuses."""
    burst = limits.burst_of(principal)
    return await limiter.consume_within(key, points, limits.budget_of(principal),
                                        None if burst is None else (fields, burst))


def too_costly(counted: Cost, max_cost: int, schema: GraphQLSchema) -> GraphQLError | None:
    """Why a document costs more than one request may (``QUERY_TOO_COMPLEX``), or None."""
    allowance = introspection_allowance(schema)
    if counted.fields > max_cost:
        return _refused(f"The document costs {counted.fields} points; at most {max_cost}"
                        " are allowed", "QUERY_TOO_COMPLEX")
    if counted.introspection > allowance:
        return _refused(
            f"The document's introspection costs {counted.introspection} points; at"
            f" most {allowance} (the schema's full introspection) are allowed",
            "QUERY_TOO_COMPLEX")
    return None


# Set on an execution context whose document the checking process refused (unparsed
# here): what it would have cost (api.graphql.preparation).
CHECKED_COST = "oms_checked_cost"


class CostLimit(SchemaExtension):
    """Charges each operation to its client's budget: a point to be read, then its cost.

    A client with no point left is refused before its document is even parsed; a
    document over the limits is refused before it is validated (the costlier half of
    reading it); and a document refused before it runs (too large, deep or costly, or
    invalid) is charged by its size, so that sending refused documents in a loop soon
    stops being read. Must come before the extension that validates.

    A document ``preparation`` already found valid costs nothing to read again: over HTTP
    its first point is charged with the rest, one round trip to the budgets' store instead
    of two.
    """

    def __init__(self, preparation: Preparation | None = None) -> None:
        self.preparation = preparation
        self.report: dict[str, int] = {}
        self.counted: Cost | None = None
        self.executed = False
        self.first_paid = False  # the point to be read, charged before parsing
        self.left = 0  # the client's points after the first one

    def _services(self) -> Any:
        # None when executed outside a request (tools, tests of the schema)
        return getattr(self.execution_context.context, "services", None)

    def _free_to_read(self) -> bool:
        """Whether the first point may be charged with the rest: over HTTP, a document
        prepared before (a websocket's refusal must come before its operation starts, as an
        ``error`` message, not among its results)."""
        ctx = self.execution_context
        return (self.preparation is not None
                and not isinstance(getattr(ctx.context, "request", None), WebSocket)
                and self.preparation.prepared(ctx.query, dict(ctx.parse_options),
                                              ctx.validation_rules))

    def _budget(self, limits: Limits) -> int:
        return limits.budget_of(self.execution_context.context.principal)

    async def on_operation(self) -> AsyncIterator[None]:
        services = self._services()
        prepaid = getattr(self.execution_context.context, "prepaid", None)
        if services is not None and prepaid is not None:
            self.left = prepaid.remaining  # its points, the first one with them, are paid
        elif services is not None and not self._free_to_read():
            self.first_paid = True
            limits: Limits = services.limits
            budget = self._budget(limits)
            allowed, self.left = await services.rate_limiter.consume(
                self.execution_context.context.rate_key(), 1, budget)
            if not allowed:
                self.report = {"requested": 1, "actual": 0, "remaining": self.left,
                               "limit": budget}
                raise _refused(f"Rate limit: {budget} points a minute, all spent",
                               "RATE_LIMITED")
        failed = False
        variables = 0  # their size, when they are what is refused
        try:
            if services is not None:
                ctx = self.execution_context
                too_large = oversize(services.limits, ctx.query, ctx.variables)
                if too_large is not None:
                    message, variables = too_large
                    raise _refused(message, "QUERY_TOO_COMPLEX")
            yield
        except Exception:  # a document that does not parse, among others
            failed = True
            raise
        finally:
            ctx = self.execution_context
            refused = failed or bool(ctx.pre_execution_errors) or (
                not self.executed and ctx.result is not None)
            if services is not None and refused and (ctx.query or variables):
                # at most what is left, even if other requests spent some meanwhile
                points = refused_points(ctx.query, variables)
                if points > 0:
                    await services.rate_limiter.charge(ctx.context.rate_key(), points,
                                                       self._budget(services.limits))

    async def on_validate(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        services = self._services()
        checked = getattr(ctx, CHECKED_COST, None)
        if checked is not None and services is not None:  # refused by the checking process
            self.report = {"requested": checked, "limit": self._budget(services.limits)}
        elif ctx.graphql_document is not None and services is not None:
            limits: Limits = services.limits
            schema: GraphQLSchema = ctx.schema._schema
            counted = self.counted = document_cost(ctx.graphql_document, ctx.variables,
                                                   ctx.operation_name, schema)
            self.report = {"requested": counted.total, "limit": self._budget(limits)}
            refusal = too_costly(counted, limits.max_cost, schema)
            if refusal is not None:
                ctx.pre_execution_errors = [refusal]
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        await self._charge()
        yield

    async def _charge(self) -> None:
        ctx = self.execution_context
        services = self._services()
        if self.counted is None or services is None:
            return
        limits: Limits = services.limits
        budget = self._budget(limits)
        cost = self.counted.total
        prepaid = getattr(ctx.context, "prepaid", None)
        if prepaid is not None and prepaid.points >= cost:  # taken by a remembered answer
            self.report |= {"actual": cost, "remaining": prepaid.remaining}
            record_extensions(self.get_results())
            self.executed = True
            return
        paid = prepaid.points if prepaid is not None else int(self.first_paid)
        allowed, remaining, wait = await take_points(
            services.rate_limiter, limits, ctx.context.principal, ctx.context.rate_key(),
            max(cost, 1) - paid, self.counted.fields)  # every operation pays a point
        self.report |= {"actual": cost if allowed else 0, "remaining": remaining}
        record_extensions(self.get_results())  # what a subscription's live events carry
        if wait is not None:
            ctx.result = ExecutionResult(data=None, errors=[GraphQLError(
                f"Rate limit: at most {limits.burst_of(ctx.context.principal)} points in"
                f" {BURST_WINDOW} seconds; try again"
                f" in {math.ceil(wait)} s", extensions={
                    "code": "RATE_LIMITED", "retryAfter": max(1, math.ceil(wait))})])
            return
        if not allowed:
            ctx.result = ExecutionResult(data=None, errors=[_refused(
                f"Rate limit: {budget} points a minute; {remaining} left, {cost} asked",
                "RATE_LIMITED")])
            return
        self.executed = True

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report else {}
