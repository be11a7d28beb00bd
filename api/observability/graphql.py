"""GraphQL's part in what the operator sees: each document's root fields, its outcome and
duration as metrics and in the request's log line; client errors logged as one line, with
a traceback only for what is our fault."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from graphql import FieldNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from api.observability import metrics
from api.observability.context import note

log = logging.getLogger("oms.graphql")


def root_fields(context: ExecutionContext) -> list[str]:
    """The names of the root fields of the operation run (validated: the schema's names)."""
    document = context.graphql_document
    if document is None:
        return []
    wanted = context.operation_name
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
                wanted is None or (definition.name and definition.name.value == wanted)):
            return [s.name.value for s in definition.selection_set.selections
                    if isinstance(s, FieldNode)]
    return []


class OperationMetrics(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        fields = root_fields(context) or ["unknown"]
        result = context.result
        outcome = "error" if result is not None and getattr(result, "errors", None) else "ok"
        for name in fields:
            metrics.OPERATIONS.labels(name, outcome).inc()
        metrics.OPERATION_LATENCY.labels(fields[0]).observe(time.perf_counter() - started)
        note(operation=",".join(fields))


def log_errors(errors: list[GraphQLError]) -> None:
    """A refused document or a business refusal is the client's: one line at INFO. Anything
    else is a fault of ours: logged with its traceback."""
    for error in errors:
        original = error.original_error
        code = (error.extensions or {}).get("code")
        if code is not None or original is None:
            log.info("GraphQL error %s: %s", code or "BAD_REQUEST", error.message)
        else:
            log.error("GraphQL resolver failed at %s: %s", error.path, error.message,
                      exc_info=original)
