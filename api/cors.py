"""Which browser pages on other origins may call the API: CORS from ``OMS_ALLOWED_ORIGINS``."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Message, Send

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
EXPOSED_HEADERS = ("X-Request-ID",)


class StrictCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that a refused origin gets no CORS headers at all.

    Starlette tells every origin the allowed methods, headers and exposed headers; a page
    on an origin we do not serve has no business learning them. ``Vary: Origin`` stays,
    so a cache never hands one origin's answer to another.
    """

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            for name in [k for k in response.headers if k.startswith("access-control-")]:
                del response.headers[name]
        return response

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if (message["type"] != "http.response.start" or origin is None
                or self.is_allowed_origin(origin)):
            await super().send(message, send, request_headers)
            return

        async def without_cors(start: Message) -> None:
            headers = MutableHeaders(scope=start)
            for name in [k for k in headers if k.startswith("access-control-")]:
                del headers[name]
            await send(start)

        await super().send(message, without_cors, request_headers)


def cors(origins: Sequence[str]) -> Middleware:
    """Credentials (cookies) are never allowed: the API authenticates with bearer headers,
    which a page sends itself, so ``*`` stays usable and no origin can ride a user's cookies."""
    return Middleware(
        StrictCORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=False,
    )
