"""GET /invoices/<global id>.pdf: an invoice or credit note as PDF, to whoever may read its
order (the same credentials and read rule as GraphQL's ``invoice``; 404 for anyone else)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import Permission, http_caller
from api.graphql.relay import from_global_id
from domain.access import Scope
from domain.cpu import CpuLimit
from domain.invoices.reads import readable_document
from integrations.pdf.fonts import pdf_font
from integrations.pdf.invoices import Document, render

# Rendering is CPU work: one PDF at a time per process, off the event loop.
RENDERING = CpuLimit(1, "pdf")


async def invoice_pdf(request: Request) -> Response:
    principal = await http_caller(request, Permission.ORDERS_READ)
    if isinstance(principal, Response):
        return principal
    decoded = from_global_id(str(request.path_params["id"]), expect="Invoice")
    found = await readable_document(Scope(principal), decoded[1]) if decoded else None
    if found is None:
        return JSONResponse({"error": "No such invoice"}, status_code=404)
    m = found.document
    document = Document(kind=m.kind.value, number=m.number, issued_at=m.issued_at,
                        order_number=found.order_number, currency=m.currency, seller=m.seller,
                        buyer=m.buyer, lines=m.lines, tax_lines=m.tax_lines or [],
                        totals=m.totals, credits=found.credits)
    font = pdf_font(request.app.state.settings.pdf_font)  # FontMissing names the file
    body = await RENDERING.run(lambda: render(document, font))
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{m.number}.pdf"',
        "Cache-Control": "private, no-store"})
