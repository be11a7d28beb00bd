"""The edge of every inbound webhook route: a bounded UTF-8 body, well-formed headers, and
one answer for whatever is malformed (a small JSON error, 400 or 413), never a 500.

Adapters read headers through ``WellFormedHeaders``: a header they ask for that is
not printable ASCII, or longer than any vendor sends, is refused at that moment
(signature headers are compared byte for byte, and ids are stored).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from integrations.payloads import UnreadablePayload

MAX_BODY = 1_000_000
MAX_HEADER = 1024


class Malformed(Exception):
    """What the edge refuses before any vendor code reads the request."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class WellFormedHeaders(Mapping[str, str]):
    """The request's headers, each checked when read: printable ASCII, at most MAX_HEADER."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> str:
        raw = self._headers.getlist(name)
        if not raw:
            raise KeyError(name)
        value = ",".join(raw)
        if len(value) > MAX_HEADER or not (value.isascii() and value.isprintable()):
            raise Malformed(f"malformed {name} header")
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers.keys())

    def __len__(self) -> int:
        return len(self._headers)


@dataclass(frozen=True)
class Inbound:
    body: bytes
    headers: WellFormedHeaders


async def read(request: Request, limit: int = MAX_BODY) -> Inbound:
    """The body, read no further than ``limit`` bytes (refused at once when its declared
    length is over it); it must be UTF-8 (JSON and forms are)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Malformed("body too large", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Malformed("body too large", status=413)
    try:
        bytes(body).decode()
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    return Inbound(bytes(body), WellFormedHeaders(request.headers))


Handler = Callable[[Request, Inbound], Awaitable[JSONResponse]]


def webhook(handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A route reading its request through the edge; what the edge or an adapter finds
    malformed is a 400 (413 for size) with ``{"error": ...}``."""

    async def endpoint(request: Request) -> JSONResponse:
        try:
            return await handler(request, await read(request))
        except Malformed as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        except UnreadablePayload as unreadable:
            return JSONResponse({"error": str(unreadable)}, status_code=400)

    return endpoint
