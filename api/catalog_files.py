"""Catalogue and stock files over HTTP: ``POST /catalog/import/{kind}`` and
``GET /catalog/export/{kind}`` (kind ``products`` or ``stock``; ``?format=csv`` or
``jsonl``), with a bearer token and the permission the same change needs over GraphQL.

An import answers 200 with what it did, or 422 with every bad line (``line``, ``column``,
``code``, ``message``) and nothing written: all or nothing per file
(domain/application/catalog_files.py). A stock import takes an ``Idempotency-Key`` header:
the same file under the same key returns the first result and changes nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.auth import Permission, http_caller
from api.graphql.errors import code_for
from api.inbound import Malformed, read
from domain.access import Scope
from domain.application import catalog_files, stock_files
from domain.catalog.rows import Format
from domain.errors import DomainError, FileRejected, IdempotencyKeyReused
from domain.idempotency.service import IdempotencyKey

MAX_FILE_BYTES = 16 * 1024 * 1024
MEDIA = {Format.CSV: "text/csv; charset=utf-8", Format.JSONL: "application/jsonl"}
# What each kind needs: to import, to export.
NEEDS = {"products": (Permission.CATALOG_WRITE, None),
         "stock": (Permission.INVENTORY_WRITE, Permission.INVENTORY_READ)}


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _kind_and_format(request: Request) -> tuple[str, Format] | JSONResponse:
    kind = request.path_params["kind"]
    if kind not in NEEDS:
        return _error(f"Unknown file kind {kind!r}: products or stock", 404)
    try:
        return kind, Format(request.query_params.get("format", "csv"))
    except ValueError:
        return _error("format is csv or jsonl", 400)


async def import_file(request: Request) -> Response:
    chosen = _kind_and_format(request)
    if isinstance(chosen, Response):
        return chosen
    kind, fmt = chosen
    principal = await http_caller(request, NEEDS[kind][0])
    if isinstance(principal, Response):
        return principal
    try:
        inbound = await read(request, MAX_FILE_BYTES)
    except Malformed as refused:
        message = (f"A file has at most {MAX_FILE_BYTES // 2**20} MiB"
                   if refused.status == 413 else "The file is not UTF-8")
        return _error(message, refused.status)
    text = inbound.body.decode("utf-8-sig")
    source = (request.query_params.get("name") or f"{kind}.{fmt.value}")[:200]
    key = request.headers.get("idempotency-key")
    try:
        if kind == "products":
            result = await catalog_files.import_products(text, fmt, actor=principal.actor,
                                                         source=f"HTTP {source}")
        else:
            result = await stock_files.import_stock(
                text, fmt, actor=principal.actor, source=f"HTTP {source}",
                idempotency=IdempotencyKey(principal.client, key) if key else None)
    except IdempotencyKeyReused as reused:
        return _error(reused.message, 409)
    except FileRejected as rejected:
        return JSONResponse({"error": rejected.message, "errors": [
            {"line": p.line, "column": p.column, "code": code_for(p.error).value,
             "message": p.message} for p in rejected.problems]}, status_code=422)
    except DomainError as error:
        return _error(error.message, 400)
    return JSONResponse({"rows": result.rows, "created": result.created,
                         "changed": result.changed, "productsCreated": result.products_created})


async def export_file(request: Request) -> Response:
    chosen = _kind_and_format(request)
    if isinstance(chosen, Response):
        return chosen
    kind, fmt = chosen
    principal = await http_caller(request, NEEDS[kind][1])
    if isinstance(principal, Response):
        return principal
    export = catalog_files.export_products if kind == "products" else stock_files.export_stock
    lines = await export(Scope(principal), fmt)
    return StreamingResponse(iter(lines), media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{kind}.{fmt.value}"'})
