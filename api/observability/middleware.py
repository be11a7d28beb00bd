"""One middleware around every request: its id (``X-Request-ID``, accepted or made, and
returned), one log line when it is answered, and the HTTP metrics."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability import metrics
from api.observability.context import RequestInfo, current, request_id

log = logging.getLogger("oms.request")


def _route(scope: Scope) -> str:
    """The template of the route the router matched (``/webhooks/carriers/{carrier}``), never
    the raw path: a client cannot make new series by asking for new paths."""
    return str(getattr(scope.get("route"), "path", "other"))


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                      if k == b"x-request-id"), None)
        info = RequestInfo(request_id=request_id(given))
        token = current.set(info)
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", info.request_id.encode())]
            await send(message)

        if scope["type"] == "websocket":
            metrics.WEBSOCKETS.inc()
        try:
            await self.app(scope, receive, sending if scope["type"] == "http" else send)
        finally:
            elapsed = time.perf_counter() - started
            if scope["type"] == "websocket":
                metrics.WEBSOCKETS.dec()
            else:
                route = _route(scope)
                metrics.HTTP_REQUESTS.labels(route, scope["method"], str(status or 500)).inc()
                metrics.HTTP_LATENCY.labels(route).observe(elapsed)
                if self.access_log:
                    log.info("%s %s %s %.1f ms", scope["method"], scope["path"], status,
                             elapsed * 1000, extra={
                                 "method": scope["method"], "path": scope["path"],
                                 "status": status, "duration_ms": round(elapsed * 1000, 1)})
            current.reset(token)
