"""GET /invoices/<global id>.pdf: an invoice or credit note as PDF, to whoever may read its
order (the same credentials and read rule as GraphQL's ``invoice``; 404 for anyone else).

Rendering costs CPU (about a second with a CJK font), so the route is budgeted like a
document: each request is charged ``PDF_POINTS`` of the caller's points a minute (429 once
they are spent), a public caller's requests take their turns (``FairTurns``: a burst from
one caller waits for itself, past a short queue 429), and a rendered document is kept
(documents never change once issued), so asking again costs no rendering.
"""

from __future__ import annotations

from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.addresses import client_address
from api.auth import Permission, http_caller
from api.context import rate_key
from api.fairness import Busy, turn_key
from api.graphql.relay import from_global_id
from domain.access import Scope
from domain.cpu import CpuLimit
from domain.invoices.reads import readable_document
from integrations.pdf.fonts import pdf_font
from integrations.pdf.invoices import Document, render

# Rendering is CPU work: one PDF at a time per process, off the event loop.
RENDERING = CpuLimit(1, "pdf")
PDF_POINTS = 500  # of a caller's points a minute: a public budget (30,000) renders 60
_KEPT = 64


class RenderedDocuments:
    """The last few PDFs rendered in this process, by document."""

    def __init__(self, size: int = _KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[int, str, str], bytes] = OrderedDict()

    def get(self, key: tuple[int, str, str]) -> bytes | None:
        body = self._kept.get(key)
        if body is not None:
            self._kept.move_to_end(key)
        return body

    def keep(self, key: tuple[int, str, str], body: bytes) -> None:
        self._kept[key] = body
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)


RENDERED = RenderedDocuments()


def _refused(message: str, status: int) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers={"Retry-After": "1"})


async def invoice_pdf(request: Request) -> Response:
    principal = await http_caller(request, Permission.ORDERS_READ)
    if isinstance(principal, Response):
        return principal
    services = request.app.state.services
    address = client_address(request.client.host if request.client else None, request.headers,
                             services.trusted_proxies)
    budget = services.limits.budget_of(principal)
    if await services.rate_limiter.charge(rate_key(principal, address), PDF_POINTS,
                                          budget) <= 0:
        return _refused(f"Rate limit: {budget} points a minute, all spent", 429)
    try:
        async with services.turns.turn(turn_key(principal, address)):
            return await _answer(request, Scope(principal))
    except Busy:
        return _refused("Too many requests at once from this caller; send fewer", 429)


async def _answer(request: Request, scope: Scope) -> Response:
    decoded = from_global_id(str(request.path_params["id"]), expect="Invoice")
    found = await readable_document(scope, decoded[1]) if decoded else None
    if found is None:
        return JSONResponse({"error": "No such invoice"}, status_code=404)
    m = found.document
    key = (m.id, m.number, m.issued_at.isoformat())  # a database restored elsewhere reuses ids
    body = RENDERED.get(key)
    if body is None:
        document = Document(kind=m.kind.value, number=m.number, issued_at=m.issued_at,
                            order_number=found.order_number, currency=m.currency,
                            seller=m.seller, buyer=m.buyer, lines=m.lines,
                            tax_lines=m.tax_lines or [], totals=m.totals, credits=found.credits)
        font = pdf_font(request.app.state.settings.pdf_font)  # FontMissing names the file
        body = await RENDERING.run(lambda: render(document, font))
        RENDERED.keep(key, body)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{m.number}.pdf"',
        "Cache-Control": "private, no-store"})
