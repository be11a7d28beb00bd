"""Importing and exporting the catalogue and stock levels as files (CSV or JSON Lines);
stock files are written by domain/application/stock_files.py.

A file is checked row by row before anything is written, and every problem is reported
with its line number; then it is written in one transaction. **All or nothing per file**:
one bad row and nothing of the file is written (a problem found only while writing, such as
a count below what orders hold, rolls the whole file back too).

- **Products** (``PRODUCT_COLUMNS``): one row per variant. A row whose SKU exists changes
  that variant (and its product's name, description and archived flag, when given); a new
  SKU is added to ``product_id`` when given, else to a new product named ``product`` (new
  SKUs naming the same new product go into one). A column left out changes nothing; an
  empty cell clears an optional value (barcode, weights and sizes, description) and leaves
  the others (``KEPT_WHEN_EMPTY``) as they are.
- **Stock** (``STOCK_COLUMNS``): one row per SKU and location: ``on_hand`` is the counted
  figure, written like ``inventorySet`` (a ledger row for each change, never below what
  orders hold). Counts are absolute, so importing the same file again changes nothing; an
  idempotency key (the ``Idempotency-Key`` header) makes a repeat return the first result
  even after orders moved the stock since.

Exports write what imports read, so an exported file imported again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain import validation as v
from domain.access import Scope
from domain.catalog.changes import changing_catalogue
from domain.catalog.lifecycle import VariantChanges, clean_variant_changes
from domain.catalog.models import BackorderPolicy, Product, Variant
from domain.catalog.rows import Format, Row, read_rows, write_rows
from domain.catalog.service import VariantSpec, clean_variant
from domain.errors import (
    DomainError,
    DomainErrors,
    FileRejected,
    InvalidInput,
    NotFound,
    RowProblem,
)
from domain.events.catalogue import EventType
from domain.taxes.models import TaxClass

PRODUCT_COLUMNS = ("product_id", "product", "description", "archived", "sku", "name", "price",
                   "currency", "track_inventory", "backorder_policy", "barcode", "weight_grams",
                   "length_mm", "width_mm", "height_mm", "tax_class")
VARIANT_COLUMNS = ("name", "price", "currency", "track_inventory", "backorder_policy",
                   "barcode", "weight_grams", "length_mm", "width_mm", "height_mm",
                   "tax_class")
# An empty cell in these columns changes nothing (they cannot be cleared); a new SKU
# takes the product's name and the defaults, and must have a price and a currency.
KEPT_WHEN_EMPTY = frozenset({"name", "price", "currency", "track_inventory",
                             "backorder_policy", "tax_class"})
# The input field a domain rule names -> the file's column.
COLUMN_OF = {"weightGrams": "weight_grams", "lengthMm": "length_mm", "widthMm": "width_mm",
             "heightMm": "height_mm", "trackInventory": "track_inventory",
             "backorderPolicy": "backorder_policy", "onHand": "on_hand",
             "taxClass": "tax_class"}

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int = 0  # variants, or stock rows
    changed: int = 0
    products_created: int = 0


class RowProblems:
    def __init__(self) -> None:
        self.found: list[RowProblem] = []

    def add(self, row: Row, column: str | None, error: DomainError | str) -> None:
        self.found.append(RowProblem(row.line, column, InvalidInput(error)
                                     if isinstance(error, str) else error))

    def domain(self, row: Row, error: DomainError) -> None:
        """Each error of a domain rule, at this row, in the column its field names."""
        for e in error.errors if isinstance(error, DomainErrors) else [error]:
            name = e.field[-1] if e.field else None
            self.found.append(RowProblem(row.line, COLUMN_OF.get(name or "", name), e))

    def raise_any(self) -> None:
        if self.found:
            raise FileRejected(self.found)


def _bool(value: str | None, column: str) -> bool:
    text = (value or "").lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise InvalidInput(f"{column} is true or false", field=(column,))


def parse_int(value: str | None, column: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{column} is a whole number", field=(column,)) from None


def _decimal(value: str | None, column: str) -> Decimal:
    try:
        return Decimal(value or "")
    except InvalidOperation:
        raise InvalidInput(f"{column} is a decimal number such as 19.90",
                          field=(column,)) from None


def _policy(value: str | None) -> BackorderPolicy:
    try:
        return BackorderPolicy((value or "").upper())
    except ValueError:
        raise InvalidInput("backorder_policy is DENY or CONTINUE",
                          field=("backorder_policy",)) from None


def _tax_class(value: str | None, _column: str) -> TaxClass:
    try:
        return TaxClass((value or "").upper())
    except ValueError:
        raise InvalidInput("tax_class is " + ", ".join(TaxClass), field=("tax_class",)) from None


def _as_text(value: str | None, _column: str) -> str | None:
    return value


_PARSERS: dict[str, Callable[[str | None, str], Any]] = {
    "track_inventory": _bool, "backorder_policy": lambda value, _c: _policy(value),
    "weight_grams": parse_int, "length_mm": parse_int, "width_mm": parse_int,
    "height_mm": parse_int,
    "price": _decimal, "tax_class": _tax_class,
}


def report_progress(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None and (done == total or done % 50 == 0):
        progress(phase, done, total)


@dataclass
class _ProductPlan:
    """What a file does to one product: created (``product`` is None) or changed."""

    product: Product | None
    first_line: int
    values: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # column -> line that set it
    new_variants: list[dict[str, Any]] = field(default_factory=list)


def _variant_values(row: Row, cells: Mapping[str, str | None], existing: Variant | None,
                    product_name: str | None) -> tuple[str, dict[str, Any]]:
    """("create"|"update", the variant's columns) of a row, or DomainError(s)."""
    errors: list[DomainError] = []

    parsed: dict[str, Any] = {}
    for column in VARIANT_COLUMNS:
        if column not in cells or (cells[column] is None and column in KEPT_WHEN_EMPTY):
            continue
        try:
            parsed[column] = _PARSERS.get(column, _as_text)(cells[column], column)
        except DomainError as error:
            errors.append(error)
    if errors:
        raise DomainErrors(errors) if len(errors) > 1 else errors[0]
    if existing is not None:
        changes = VariantChanges(**parsed)
        return "update", clean_variant_changes(changes, existing)
    for column in ("price", "currency"):
        if cells.get(column) is None:
            errors.append(InvalidInput(f"A new SKU needs its {column}", field=(column,)))
    if errors:
        raise DomainErrors(errors) if len(errors) > 1 else errors[0]
    spec = VariantSpec(
        sku=str(cells["sku"]), price=parsed["price"], currency=str(parsed["currency"]),
        name=parsed.get("name"),
        track_inventory=parsed.get("track_inventory", True) is not False,
        backorder_policy=parsed.get("backorder_policy") or BackorderPolicy.DENY,
        barcode=parsed.get("barcode"), weight_grams=parsed.get("weight_grams"),
        length_mm=parsed.get("length_mm"), width_mm=parsed.get("width_mm"),
        height_mm=parsed.get("height_mm"),
        tax_class=parsed.get("tax_class") or TaxClass.STANDARD)
    return "create", clean_variant(spec, at=(), product_name=product_name)


async def import_products(text: str, fmt: Format, *, actor: str, source: str = "file",
                          progress: Progress | None = None) -> ImportResult:
    """Check every row of a products file, then write it all in one transaction (or raise
    FileRejected with each bad line and write nothing)."""
    rows = read_rows(text, fmt, columns=PRODUCT_COLUMNS)
    problems = RowProblems()
    skus = [r.values.get("sku") for r in rows]
    async with changing_catalogue(actor) as change:
        conn = change.conn
        existing = {var.sku: var for var in await Variant.filter(
            sku__in=[s for s in skus if s]).select_for_update().using_db(conn)}
        asked_ids = {_int_or_none(r.values.get("product_id")) for r in rows} - {None}
        products = {p.id: p for p in await Product.filter(
            id__in=[*asked_ids, *(var.product_id for var in existing.values())])
            .select_for_update().using_db(conn)}
        plans: dict[Any, _ProductPlan] = {}
        updates: list[tuple[Variant, dict[str, Any]]] = []
        seen_skus: dict[str, int] = {}
        for done, row in enumerate(rows, start=1):
            report_progress(progress, "checking", done, len(rows))
            _check_product_row(row, existing, products, plans, updates, seen_skus, problems)
        problems.raise_any()

        created = products_created = changed = 0
        for done, plan in enumerate(plans.values(), start=1):
            report_progress(progress, "writing", done, len(plans))
            product = plan.product
            now = datetime.now(UTC)
            values = dict(plan.values)
            archived = values.pop("archived", None)
            if product is None:
                product = await Product.create(
                    name=values["name"], description=values.get("description"),
                    archived_at=now if archived else None, using_db=conn)
                products_created += 1
            else:
                differs = {k: val for k, val in values.items() if getattr(product, k) != val}
                if archived is not None and archived != (product.archived_at is not None):
                    differs["archived_at"] = now if archived else None
                if differs:
                    product.update_from_dict({**differs, "updated_at": now})
                    await product.save(using_db=conn)
            if plan.new_variants:
                await Variant.bulk_create([Variant(product_id=product.id, **values)
                                           for values in plan.new_variants], using_db=conn)
                created += len(plan.new_variants)
        for variant, values in updates:
            differs = {k: val for k, val in values.items() if getattr(variant, k) != val}
            if differs:
                variant.update_from_dict({**differs, "updated_at": datetime.now(UTC)})
                await variant.save(using_db=conn)
                changed += 1
        change.record(EventType.CATALOG_IMPORTED, source, skus=list(seen_skus))
    return ImportResult(rows=len(rows), created=created, changed=changed,
                        products_created=products_created)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _check_product_row(row: Row, existing: Mapping[str, Variant],
                       products: Mapping[int, Product], plans: dict[Any, _ProductPlan],
                       updates: list[tuple[Variant, dict[str, Any]]],
                       seen_skus: dict[str, int], problems: RowProblems) -> None:
    cells = row.values
    try:
        sku = v.code(cells.get("sku") or "", field=("sku",))
    except DomainError as error:
        problems.domain(row, error)
        return
    if sku in seen_skus:
        problems.add(row, "sku", f"SKU {sku!r} is on line {seen_skus[sku]} already")
        return
    seen_skus[sku] = row.line
    variant = existing.get(sku)
    product_id: int | None = None
    if cells.get("product_id") is not None:
        product_id = _int_or_none(cells["product_id"])
        if product_id is None or product_id not in products:
            problems.add(row, "product_id", NotFound("Product", str(cells["product_id"])))
            return
    if variant is not None:
        if product_id is not None and product_id != variant.product_id:
            problems.add(row, "product_id", f"SKU {sku!r} belongs to product "
                                            f"{variant.product_id}: variants do not move")
            return
        product_id = variant.product_id
    if product_id is None and cells.get("product") is None:
        problems.add(row, "product", "A new SKU needs a product_id or a new product's name")
        return
    key: Any = product_id if product_id is not None else ("new", cells.get("product"))
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _ProductPlan(products.get(product_id) if product_id else None,
                                         row.line)
    try:
        product_values = _product_values(cells)
    except DomainError as error:
        problems.domain(row, error)
        return
    for column, value in product_values.items():
        if column in plan.seen and plan.values[column] != value:
            problems.add(row, column if column != "name" else "product",
                         f"differs from line {plan.seen[column]} for the same product")
            return
    for column in product_values:
        plan.seen.setdefault(column, row.line)
    plan.values.update(product_values)
    product_name = plan.values.get("name") or (plan.product.name if plan.product else None)
    try:
        kind, values = _variant_values(row, cells, variant, product_name)
    except DomainError as error:
        problems.domain(row, error)
        return
    if kind == "create":
        plan.new_variants.append(values)
    else:
        assert variant is not None
        updates.append((variant, values))


def _product_values(cells: Mapping[str, str | None]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if cells.get("product") is not None:
        values["name"] = v.required_text(str(cells["product"]), field=("product",))
    if "description" in cells:
        values["description"] = v.text(cells["description"], field=("description",),
                                       max_length=v.MAX_TEXT)
    if cells.get("archived") is not None:
        values["archived"] = _bool(cells["archived"], "archived")
    return values


async def export_products(scope: Scope, fmt: Format) -> Iterator[str]:
    """Every variant with its product, archived ones included, oldest product first."""
    variants = await (scope.query(Variant).select_related("product")
                      .order_by("product_id", "id"))
    rows = [{
        "product_id": var.product_id, "product": var.product.name,
        "description": var.product.description,
        "archived": var.product.archived_at is not None, "sku": var.sku, "name": var.name,
        "price": str(var.price), "currency": var.currency,
        "track_inventory": var.track_inventory,
        "backorder_policy": str(var.backorder_policy), "barcode": var.barcode,
        "weight_grams": var.weight_grams, "length_mm": var.length_mm,
        "width_mm": var.width_mm, "height_mm": var.height_mm,
        "tax_class": str(var.tax_class),
    } for var in variants]
    if fmt is Format.CSV:
        for row in rows:
            row["archived"] = "true" if row["archived"] else "false"
            row["track_inventory"] = "true" if row["track_inventory"] else "false"
    return write_rows(rows, fmt, columns=PRODUCT_COLUMNS)
