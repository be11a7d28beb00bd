"""Importing and exporting stock levels as files (CSV or JSON Lines): all or nothing per
file, like products files (domain/application/catalog_files.py says how files are read).

Each row (``STOCK_COLUMNS``) is one SKU at one location: ``on_hand`` is the counted figure,
written like ``inventorySet`` (a ``COUNT`` ledger row for each change, never below what
orders hold). Counts are absolute, so importing the same file again changes nothing; an
idempotency key (the ``Idempotency-Key`` header) makes a repeat return the first result
even after orders moved the stock since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain import validation as v
from domain.access import Scope
from domain.application.catalog_files import (
    ImportResult,
    Progress,
    RowProblems,
    parse_int,
    report_progress,
)
from domain.catalog.models import Location, Variant
from domain.catalog.rows import Format, Row, read_rows, write_rows
from domain.errors import DomainError, StockBelowReserved, UnknownLocation, UnknownSku
from domain.events.service import record_stock_changed
from domain.idempotency.service import IdempotencyKey, idempotent
from domain.inventory.models import MovementKind, StockLevel
from domain.inventory.reservation import ensure_levels, lock_levels
from domain.inventory.service import move

STOCK_COLUMNS = ("sku", "location", "on_hand", "safety_stock", "low_stock_threshold")


@dataclass(frozen=True)
class _Count:
    row: Row
    variant: Variant
    location: Location
    on_hand: int
    safety_stock: int | None
    threshold: int | None
    threshold_given: bool


async def import_stock(text: str, fmt: Format, *, actor: str, source: str = "file",
                       progress: Progress | None = None,
                       idempotency: IdempotencyKey | None = None) -> ImportResult:
    """Check every row of a stock file, then set each count in one transaction with its
    ledger rows (or raise FileRejected with each bad line and write nothing). With a key,
    the same file sent again under it returns the first result and changes nothing."""
    rows = read_rows(text, fmt, columns=STOCK_COLUMNS)

    async def run(conn: BaseDBAsyncClient) -> ImportResult:
        problems = RowProblems()
        variants = {var.sku: var for var in await Variant.filter(
            sku__in=[r.values.get("sku") or "" for r in rows]).using_db(conn)}
        locations = {loc.code: loc for loc in await Location.filter(
            code__in=[r.values.get("location") or "" for r in rows]).using_db(conn)}
        counts: list[_Count] = []
        seen: dict[tuple[str, str], int] = {}
        for done, row in enumerate(rows, start=1):
            report_progress(progress, "checking", done, len(rows))
            count = _check_stock_row(row, variants, locations, seen, problems)
            if count is not None:
                counts.append(count)
        problems.raise_any()

        await ensure_levels(conn, [(c.variant.id, c.location.id) for c in counts])
        levels = await lock_levels(conn, {c.variant.id for c in counts},
                                   {c.location.id for c in counts})
        for count in counts:
            level = levels[(count.variant.id, count.location.id)]
            if count.on_hand < level.reserved:
                problems.domain(count.row, StockBelowReserved(
                    count.variant.sku, count.location.code, count.on_hand, level.reserved,
                    field=("on_hand",)))
        problems.raise_any()
        changed = 0
        for done, count in enumerate(counts, start=1):
            report_progress(progress, "writing", done, len(counts))
            level = levels[(count.variant.id, count.location.id)]
            changed += await _apply_count(conn, level, count, actor=actor, source=source)
        await record_stock_changed(conn, {c.variant.sku for c in counts})
        return ImportResult(rows=len(rows), changed=changed)

    async def decode(stored: dict[str, Any]) -> ImportResult:
        return ImportResult(**stored)

    return await idempotent(
        key=idempotency, operation="stockImport",
        request=[fmt.value, hashlib.sha256(text.encode()).hexdigest()], run=run,
        encode=asdict, decode=decode)


def _check_stock_row(row: Row, variants: Mapping[str, Variant],
                     locations: Mapping[str, Location], seen: dict[tuple[str, str], int],
                     problems: RowProblems) -> _Count | None:
    cells = row.values
    before = len(problems.found)
    sku, code = cells.get("sku") or "", cells.get("location") or ""
    variant, location = variants.get(sku), locations.get(code)
    if variant is None:
        problems.add(row, "sku", UnknownSku(sku))
    if location is None:
        problems.add(row, "location", UnknownLocation(code))
    numbers: dict[str, int | None] = {}
    for column in ("on_hand", "safety_stock", "low_stock_threshold"):
        try:
            value = parse_int(cells.get(column), column)
            if value is not None:
                v.quantity(value, field=(column,), allow_zero=True)
            numbers[column] = value
        except DomainError as error:
            problems.domain(row, error)
    if "on_hand" in numbers and numbers["on_hand"] is None:
        problems.add(row, "on_hand", "on_hand is required")
    if (sku, code) in seen:
        problems.add(row, None, f"{sku} at {code} is on line {seen[(sku, code)]} already")
    seen.setdefault((sku, code), row.line)
    if len(problems.found) > before or variant is None or location is None:
        return None
    return _Count(row, variant, location, int(numbers["on_hand"] or 0),
                  numbers.get("safety_stock"), numbers.get("low_stock_threshold"),
                  "low_stock_threshold" in cells)


async def _apply_count(conn: Any, level: StockLevel, count: _Count, *, actor: str,
                       source: str) -> int:
    settings: list[str] = []
    if count.safety_stock is not None and count.safety_stock != level.safety_stock:
        level.safety_stock = count.safety_stock
        settings.append("safety_stock")
    if count.threshold_given and count.threshold != level.low_stock_threshold:
        level.low_stock_threshold = count.threshold
        settings.append("low_stock_threshold")
    if settings:
        await level.save(update_fields=settings, using_db=conn)
    delta = count.on_hand - level.on_hand
    if delta:
        await move(conn, level, kind=MovementKind.COUNT, on_hand=delta,
                   reason=f"stock import ({source[:200]}, line {count.row.line})", actor=actor,
                   field=("on_hand",))
    return 1 if delta or settings else 0


async def export_stock(scope: Scope, fmt: Format) -> Iterator[str]:
    """Every stock row the caller may read, by SKU and location."""
    levels = await (scope.query(StockLevel).select_related("variant", "location")
                    .order_by("variant_id", "location_id"))
    return write_rows(({"sku": lv.variant.sku, "location": lv.location.code,
                        "on_hand": lv.on_hand, "safety_stock": lv.safety_stock,
                        "low_stock_threshold": lv.low_stock_threshold} for lv in levels),
                      fmt, columns=STOCK_COLUMNS)
