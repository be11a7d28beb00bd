"""The shape of a GraphQL request, checked once for HTTP bodies and websocket frames.

A request is a JSON object with ``query`` (a string), and optionally ``variables`` and
``extensions`` (objects) and ``operationName`` (a string), as the GraphQL over HTTP
spec says. Anything else is a client's mistake: a 400 over HTTP, and over
graphql-transport-ws a close with 4400, as that protocol prescribes for a message
of a format it does not specify.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.execution import PreExecutionError

from api.context import Context
from api.graphql.cost import oversize, refused_points
from integrations.payloads import UnreadablePayload, json_value

MAX_ID = 128  # an operation id over the websocket


def decode(data: str | bytes) -> object:
    """JSON of bounded depth; anything unreadable is a JSONDecodeError, which strawberry
    answers as unparsable (400 over HTTP, 4400 over the websocket)."""
    try:
        return json_value(data, "the request")
    except UnreadablePayload as error:
        raise json.JSONDecodeError(str(error), "", 0) from None


def request_problem(data: Any, *, query_required: bool = False) -> str | None:
    """What is wrong with a request's shape, or None."""
    if not isinstance(data, dict):
        return "The request must be a JSON object"
    query = data.get("query")
    if not isinstance(query, str) and (query_required or query is not None):
        return "`query` must be a string"
    for name in ("variables", "extensions"):
        if not isinstance(data.get(name), dict | None):
            return f"`{name}` must be an object or null"
    if not isinstance(data.get("operationName"), str | None):
        return "`operationName` must be a string or null"
    return None


def frame_problem(message: Any) -> str | None:
    """What is wrong with a graphql-transport-ws message's shape, or None."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message must be a JSON object with a string type"
    kind = message["type"]
    if kind in ("subscribe", "complete"):
        op = message.get("id")
        if not isinstance(op, str) or not 0 < len(op) <= MAX_ID:
            return f"A {kind} message needs an id of 1 to {MAX_ID} characters"
    if kind == "subscribe":
        return request_problem(message.get("payload"), query_required=True)
    return None


# Refusals raised before an operation runs (the caller's budget spent): over HTTP they are
# the answer; on a websocket they are the operation's ``error`` message, not a dead task.
REFUSAL_CODES = frozenset({"RATE_LIMITED", "QUERY_TOO_COMPLEX"})


def _refusal(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") in REFUSAL_CODES


async def _refused(error: GraphQLError) -> AsyncGenerator[Any, None]:
    yield PreExecutionError(data=None, errors=[error])


async def _until_refused(source: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    try:
        async for result in source:
            yield result
    except GraphQLError as error:
        if not _refusal(error):
            raise
        yield PreExecutionError(data=None, errors=[error])


class _RefusalsAsErrors:
    """The schema as a websocket operation sees it: a refusal raised while the operation
    starts comes back as its first result, which the protocol answers with ``error``."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        try:
            source = await self._schema.stream(*args, **kwargs)
        except GraphQLError as error:
            if not _refusal(error):
                raise
            return _refused(error)
        return _until_refused(source) if hasattr(source, "__aiter__") else source


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with each message's shape checked before it is acted on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = _RefusalsAsErrors(self.schema)  # type: ignore[assignment]

    async def handle_message(self, message: Message) -> None:
        problem = frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "subscribe" and await self._oversize(message):
            return
        await super().handle_message(message)

    async def _oversize(self, message: Any) -> bool:
        """A subscription whose document or variables are over their limits is answered
        with an error (as over HTTP, QUERY_TOO_COMPLEX, charged by its size), unparsed."""
        services = getattr(self.context, "services", None)
        if services is None:
            return False
        payload = message["payload"]
        query, variables = payload.get("query"), payload.get("variables")
        too_large = oversize(services.limits, query, variables)
        if too_large is None:
            return False
        text, size = too_large
        budget = services.limits.budget_of(self.context.principal)
        await services.rate_limiter.charge(self.context.rate_key(),
                                           refused_points(query, size), budget)
        await self.send_message({"id": message["id"], "type": "error", "payload": [
            {"message": text, "extensions": {"code": "QUERY_TOO_COMPLEX"}}]})
        return True
