"""The GraphQL endpoint: context per request, refused credentials, error codes, GET for queries only."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from api.auth import InvalidCredentials, Principal, authenticate
from api.context import Context
from api.graphiql import local_page
from api.graphql.limits import error_code
from api.settings import Settings
from api.tokens import TokenService


class MutationOverGet(Exception):
    """A mutation arrived in a GET request's query string."""


class GraphQLView(GraphQL[Context, None]):
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

    def _authenticate(self, authorization: str | None) -> Principal | None:
        return authenticate(authorization, admin_token=self.settings.admin_token,
                            tokens=self.tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            try:  # once per request: get_context reads the principal from the scope's state
                request.state.principal = self._authenticate(request.headers.get("authorization"))
            except InvalidCredentials as error:
                response = JSONResponse(
                    {"data": None,
                     "errors": [{"message": str(error), "extensions": {"code": "UNAUTHENTICATED"}}]},
                    status_code=401, headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
            try:
                await (await self.run(request))(scope, receive, send)
            except MutationOverGet as error:
                # GraphQL over HTTP: a mutation sent with GET is refused with 405, unexecuted.
                await JSONResponse(
                    {"data": None,
                     "errors": [{"message": str(error), "extensions": {"code": "BAD_REQUEST"}}]},
                    status_code=405, headers={"Allow": "POST"},
                )(scope, receive, send)
            except HTTPException as error:
                await PlainTextResponse(error.reason, status_code=error.status_code)(
                    scope, receive, send)
            return
        await super().__call__(scope, receive, send)

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

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        principal = None
        if isinstance(request, Request):
            principal = request.state.principal
        return Context(
            request=request, response=response, principal=principal,
            services=request.app.state.services, tokens=self.tokens,
            idempotency_header=request.headers.get("idempotency-key"),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Subscriptions authenticate with the Authorization entry of connection_init."""
        params = context.connection_params or {}
        authorization = params.get("Authorization") or params.get("authorization")
        try:
            context.principal = self._authenticate(str(authorization) if authorization else None)
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
