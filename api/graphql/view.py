"""The GraphQL endpoint: context per request, refused credentials, error codes, GET for queries only."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any, cast

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.async_base_view import AsyncHTTPRequestAdapter, HTTPException
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from api.addresses import client_address
from api.auth import InvalidCredentials, Principal, authenticate
from api.context import Context, rate_key
from api.fairness import Busy, turn_key
from api.graphiql import local_page
from api.graphql.answer_plans import ROOT as ANSWERED
from api.graphql.answers import Prepaid, remembered
from api.graphql.cost import REFUSED_CHARACTERS_PER_POINT, Limits
from api.graphql.frames import WRITER
from api.graphql.limits import error_code
from api.graphql.live import OPERATION
from api.graphql.live import Operation as LiveOperation
from api.graphql.requests import TransportWSHandler, decode, request_problem
from api.inbound import Malformed, read
from api.observability import metrics
from api.observability.context import note
from api.sessions import CLOSE_CODE, watched
from api.settings import Settings
from api.tokens import TokenService
from integrations.payloads import UnreadablePayload, json_value


def bad_request(message: str, status: int = 400) -> JSONResponse:
    """A request refused before execution, in the shape of every GraphQL answer."""
    code = "NOT_FOUND" if status == 404 else "BAD_REQUEST"
    return JSONResponse({"data": None, "errors": [{"message": message,
                                                    "extensions": {"code": code}}]},
                        status_code=status)


TOO_BIG = 1009  # the websocket close code for a message too big to take


def bounded_messages(receive: Receive, send: Send, limits: Limits) -> tuple[Receive, Send]:
    """A websocket whose messages over ``Limits.max_body`` close it (1009, as ``oms serve``
    does before the message is put together): whatever the server, none reaches the app."""
    closed = False

    async def bounded_receive() -> Message:
        nonlocal closed
        message = await receive()
        if message["type"] == "websocket.receive":
            text, data = message.get("text"), message.get("bytes")
            size = (len(text.encode("utf-8", "surrogatepass")) if text is not None
                    else len(data or b""))
            if size > limits.max_body:
                await send({"type": "websocket.close", "code": TOO_BIG,
                            "reason": f"A message is at most {limits.max_body} bytes"})
                closed = True
                return {"type": "websocket.disconnect", "code": TOO_BIG}
        return message

    async def guarded_send(message: Message) -> None:
        if not closed:  # nothing after the close
            await send(message)

    return bounded_receive, guarded_send


class SessionHandler(TransportWSHandler):
    """graphql-transport-ws (frames checked), with the connection closed when its token expires or is revoked
    (``api.sessions``)."""

    _unwatch: Callable[[], None] | None = None  # the process's SessionWatch watches it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._live: dict[str, LiveOperation] = {}

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            # cancelled by now; its exception and frames are nothing to keep per connection
            self.connection_init_timeout_task = None
            writer = WRITER.get()
            if writer is not None:  # nor are the handshake's headers, under uvicorn
                writer.shed_handshake()
        if self.connection_acknowledged and watched(self.context.principal) \
                and self._unwatch is None:
            self._unwatch = self.context.services.sessions.watch(
                self.context.principal, self._end_with_token)

    async def _end_with_token(self, reason: str) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with suppress(RuntimeError, WebSocketDisconnected):  # the client left meanwhile
            await self.websocket.close(code=CLOSE_CODE, reason=reason)

    async def run_operation(self, operation: Any) -> None:
        """Each operation's task knows its operation: a subscription that follows events
        hands itself over to the process's live feeds (``api.graphql.live``), which send
        its events from then on; its stream ends here without a "complete"."""
        websocket = cast(Any, self.websocket).ws
        writer = WRITER.get()  # set for the connection's tasks
        live = LiveOperation(
            id=operation.id, document=operation.query, variables=operation.variables,
            operation_name=operation.operation_name, send=websocket.send_text,
            write=writer.write if writer is not None else None,
            encode=cast(GraphQLView, self.view).encode_json_string)
        self._live[operation.id] = live
        OPERATION.set(live)  # this task's own context
        try:
            await super().run_operation(operation)
        finally:
            if live.follower is None and self._live.get(operation.id) is live:
                del self._live[operation.id]

    def _handed_over(self, operation_id: Any) -> bool:
        live = self._live.get(operation_id)
        return live is not None and live.follower is not None

    def forget_id(self, id: str) -> None:
        if not self._handed_over(id):  # a handed-over operation lasts until completed
            super().forget_id(id)

    async def send_message(self, message: Any) -> None:
        if message.get("type") == "complete" and self._handed_over(message.get("id")):
            return  # its stream ended here, not the subscription
        await super().send_message(message)

    async def cleanup_operation(self, operation_id: str) -> None:
        live = self._live.pop(operation_id, None)
        services = getattr(self.context, "services", None)
        if live is not None and live.follower is not None and services is not None:
            services.live.leave(live.follower)
        await super().cleanup_operation(operation_id)

    async def shutdown(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        await super().shutdown()


class MutationOverGet(Exception):
    """A mutation arrived in a GET request's query string."""


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SessionHandler

    def __init__(self, schema: Any, settings: Settings, tokens: TokenService) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,  # queries only: mutations over GET get a 405
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            max_subscriptions_per_connection=20,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.tokens = tokens

    @property
    def graphql_ide_html(self) -> str:
        return local_page(super().graphql_ide_html)

    async def _authenticate(self, authorization: str | None) -> Principal | None:
        return await authenticate(authorization, admin_token=self.settings.admin_token,
                            tokens=self.tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            try:  # once per request: get_context reads the principal from the scope's state
                request.state.principal = await self._authenticate(request.headers.get("authorization"))
            except InvalidCredentials as error:
                response = JSONResponse(
                    {"data": None,
                     "errors": [{"message": str(error), "extensions": {"code": "UNAUTHENTICATED"}}]},
                    status_code=401, headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
            services = request.app.state.services
            request.state.address = client_address(
                request.client.host if request.client else None, request.headers,
                services.trusted_proxies)  # once: get_context reads it too
            key = turn_key(request.state.principal, request.state.address)
            # strawberry's own answer to a malformed request is plain text; ours is JSON
            try:
                async with services.turns.turn(key):  # a refusal waits its turn too
                    answer = (await self._refused_unread(request)
                              or await self._remembered(request) or await self.run(request))
            except Busy:
                answer = JSONResponse(
                    {"data": None, "errors": [{
                        "message": "Too many requests at once from this caller; send fewer",
                        "extensions": {"code": "RATE_LIMITED"}}]},
                    status_code=429, headers={"Retry-After": "1"})
            except MutationOverGet as error:
                # GraphQL over HTTP: a mutation sent with GET is refused with 405, unexecuted.
                answer = JSONResponse(
                    {"data": None,
                     "errors": [{"message": str(error), "extensions": {"code": "BAD_REQUEST"}}]},
                    status_code=405, headers={"Allow": "POST"})
            except HTTPException as refused:
                answer = bad_request(refused.reason, refused.status_code)
            await answer(scope, receive, send)
            return
        if scope["type"] == "websocket":
            receive, send = bounded_messages(receive, send, scope["app"].state.services.limits)
        await super().__call__(scope, receive, send)

    async def _refused_unread(self, request: Request) -> Response | None:
        """The answer to a request refused before its body is read, else None (and the body,
        read no further than the limits allow, is kept for strawberry to parse).

        A caller whose budget this process already saw spent is answered without reading
        its request or asking the shared store again (within a minute a budget only goes
        down), after ``Limits.spent_pause`` in its turn: a client that keeps sending while
        refused gets a few answers a second, not as many as the server can write. A body
        over ``Limits.max_body`` is 413 ``QUERY_TOO_COMPLEX``, charged to
        its caller as any refused document is, by its size (the most it could have been)."""
        services = request.app.state.services
        limits: Limits = services.limits
        principal, address = request.state.principal, request.state.address
        rate = rate_key(principal, address)
        budget = limits.budget_of(principal)
        spent = getattr(services.rate_limiter, "spent", None)
        wait = spent(rate, budget) if spent is not None else None
        if wait is not None:
            await asyncio.sleep(min(wait, limits.spent_pause))
            return JSONResponse(
                {"data": None,
                 "errors": [{"message": f"Rate limit: {budget} points a minute, all spent",
                             "extensions": {"code": "RATE_LIMITED"}}],
                 "extensions": {"cost": {"requested": 1, "actual": 0, "remaining": 0,
                                         "limit": budget}}},
                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if request.method != "POST":
            return None
        try:
            inbound = await read(request, limit=limits.max_body)
        except Malformed as refused:
            if refused.status != 413:
                return bad_request(refused.message)
            await services.rate_limiter.charge(
                rate, limits.max_body // REFUSED_CHARACTERS_PER_POINT, budget)
            return JSONResponse(
                {"data": None, "errors": [{
                    "message": f"The request body is over {limits.max_body} bytes; at most"
                               f" {limits.max_body} are allowed",
                    "extensions": {"code": "QUERY_TOO_COMPLEX"}}]},
                status_code=413, headers={"Connection": "close"})
        request._body = inbound.body  # what Request.body() answers from now on
        return None

    async def _remembered(self, request: Request) -> Response | None:
        """A repeated availability read answered from the answers kept for its document
        (``api.graphql.answers``), its cost charged, without running it; else None."""
        services = request.app.state.services
        if services.answers is None or request.method != "POST":
            return None
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            return None
        raw = await request.body()
        if b"availability" not in raw:  # not one of them: left unparsed for the full path
            return None
        try:
            data = json_value(raw, "the request")
        except UnreadablePayload:
            return None
        if request_problem(data) is not None:
            return None
        started = time.perf_counter()
        principal = request.state.principal
        answered = await remembered(
            services.answers, data, schema=cast(Any, self.schema)._schema,
            limits=services.limits, limiter=services.rate_limiter, principal=principal,
            address=request.state.address)
        if isinstance(answered, Prepaid):
            request.state.prepaid = answered  # read by the full path's cost extension
            return None
        if answered is None:
            return None
        body, roots = answered
        # What the full path's metrics and log line would say of it.
        metrics.REMEMBERED.inc()
        metrics.OPERATIONS.labels(ANSWERED, "ok").inc(roots)
        metrics.OPERATION_LATENCY.labels(ANSWERED).observe(time.perf_counter() - started)
        note(caller=principal.kind.value if principal is not None else "anonymous",
             operation=ANSWERED)
        return Response(body, media_type="application/json")

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            refused = error.__cause__
            if (isinstance(refused, InvalidOperationTypeError)
                    and refused.operation_type is OperationType.MUTATION):
                raise MutationOverGet("mutations are not allowed over GET: send them with POST"
                                      ) from None
            raise

    def decode_json(self, data: str | bytes) -> object:
        return decode(data)  # websocket frames; HTTP bodies go through parse_json

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return json_value(data, "the request")
        except UnreadablePayload as error:
            raise HTTPException(400, str(error)) from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The body must be one request object (no batches), checked before strawberry
        reads its fields."""
        if request.method == "POST":
            content_type = (request.content_type or "").partition(";")[0].strip().lower()
            if content_type != "application/json":
                raise HTTPException(400, "Send the request as application/json")
            problem = request_problem(self.parse_json(await request.get_body()))
            if problem is not None:
                raise HTTPException(400, problem)
        return await super().parse_http_body(request)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal = None
        services = request.app.state.services
        if isinstance(request, Request):  # __call__ read the caller and its address
            principal, address = request.state.principal, request.state.address
        else:
            address = client_address(request.client.host if request.client else None,
                                     request.headers, services.trusted_proxies)
        note(caller=principal.kind.value if principal is not None else "anonymous")
        return Context(
            request=request, response=response, principal=principal,
            services=services, tokens=self.tokens,
            idempotency_header=request.headers.get("idempotency-key"), address=address,
            prepaid=getattr(request.state, "prepaid", None),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Subscriptions authenticate with the Authorization entry of connection_init."""
        params = context.connection_params or {}
        authorization = params.get("Authorization") or params.get("authorization")
        try:
            context.principal = await self._authenticate(str(authorization) if authorization else None)
        except InvalidCredentials:
            raise ConnectionRejectionError({"reason": "invalid token"}) from None
        return UNSET

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        for error in result.errors or ():
            self._tag(error)
        return await super().process_result(request, result)

    @staticmethod
    def _tag(error: GraphQLError) -> None:
        extensions = dict(error.extensions or {})
        if "code" not in extensions:
            # Without a path the document itself was refused; with one, a resolver failed.
            extensions["code"] = error_code(error) if error.path is None else "INTERNAL_SERVER_ERROR"
            error.extensions = extensions


async def not_allowed(_: Request) -> Response:
    return Response(status_code=405)
