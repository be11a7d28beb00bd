"""An invoice or credit note as a one-page-per-screenful A4 PDF.

Header (kind, number, dates, the order), seller and buyer side by side, the lines
(SKU, description, quantity, tax rate, net unit price, net total), then subtotal, shipping, the tax
per rate (a single "0%" line when no tax is charged) and the total, in the document's
currency; discounts, already off the lines, are noted below. Long tables continue on
further pages with their header repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from domain.money import format_amount
from integrations.pdf.fonts import Font, pdf_font

FAMILY = "oms"
WIDTHS = (28, 64, 14, 16, 29, 29)  # SKU, description, quantity, tax, unit price, total (mm)


@dataclass(frozen=True)
class Document:
    """What is printed: the stored snapshot of one invoice or credit note."""

    kind: str  # INVOICE or CREDIT_NOTE
    number: str
    issued_at: datetime
    order_number: str
    currency: str
    seller: Mapping[str, Any]
    buyer: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]]
    tax_lines: Sequence[Mapping[str, Any]]
    totals: Mapping[str, str]
    credits: str | None = None  # a credit note's invoice number


class _Pdf(FPDF):
    def __init__(self, font: Font, footer_text: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.footer_text = footer_text
        self.latin1_only = font.path is None
        if font.path is not None:
            self.add_font(FAMILY, "", str(font.path))
            self.add_font(FAMILY, "B", str(font.path))  # one weight: headings go by size
            self.family_name = FAMILY
        else:
            self.family_name = "helvetica"
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(15, 15, 15)

    def text_of(self, value: object) -> str:
        text = "" if value is None else str(value)
        return text.encode("latin-1", "replace").decode("latin-1") if self.latin1_only \
            else text

    def use(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family_name, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-14)
        self.use(8)
        self.set_text_color(110)
        self.cell(0, 5, self.text_of(f"{self.footer_text}   ·   page {self.page_no()}"
                                     if not self.latin1_only else
                                     f"{self.footer_text} - page {self.page_no()}"),
                  align="C")
        self.set_text_color(0)


def _address_lines(party: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("company", "name"):
        if party.get(key):
            out.append(str(party[key]))
    address = party.get("address")
    if isinstance(address, Mapping):
        for key in ("line1", "line2"):
            if address.get(key):
                out.append(str(address[key]))
        city = " ".join(str(address[k]) for k in ("postalCode", "city") if address.get(k))
        if city:
            out.append(city)
        region = ", ".join(str(address[k]) for k in ("region", "country") if address.get(k))
        if region:
            out.append(region)
    elif isinstance(address, Sequence) and not isinstance(address, str):
        out.extend(str(line) for line in address)
    if party.get("tax_number"):
        out.append(f"VAT / tax no. {party['tax_number']}")
    if party.get("email"):
        out.append(str(party["email"]))
    if party.get("po_number"):
        out.append(f"PO {party['po_number']}")
    return out


def _party(pdf: _Pdf, x: float, y: float, width: float, title: str,
           lines: Sequence[str]) -> float:
    pdf.set_xy(x, y)
    pdf.use(8)
    pdf.set_text_color(110)
    pdf.cell(width, 5, pdf.text_of(title), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.use(10)
    for line in lines or ["-"]:
        pdf.set_x(x)
        pdf.multi_cell(width, 5, pdf.text_of(line), new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _table_header(pdf: _Pdf) -> None:
    pdf.use(9, bold=True)
    pdf.set_fill_color(236)
    for width, title, align in zip(WIDTHS, ("SKU", "Description", "Qty", "Tax", "Unit price",
                                            "Total"), "LLRRRR", strict=True):
        pdf.cell(width, 7, title, border="B", align=align, fill=True)
    pdf.ln(7)
    pdf.use(9)


def _amount(value: object, currency: str) -> str:
    return format_amount(str(value), currency)


def render(document: Document, font: Font | None = None) -> bytes:
    """The PDF's bytes, set in ``font`` (else the system's CJK font). CPU-bound: run it off
    the event loop."""
    credit = document.kind == "CREDIT_NOTE"
    title = "Credit note" if credit else "Invoice"
    pdf = _Pdf(font or pdf_font(), f"{title} {document.number}")
    pdf.add_page()
    pdf.use(20, bold=True)
    pdf.cell(0, 10, title.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use(10)
    facts = [("Number", document.number),
             ("Date", document.issued_at.strftime("%Y-%m-%d")),
             ("Order", document.order_number)]
    if document.credits:
        facts.append(("Credits invoice", document.credits))
    for label, value in facts:
        pdf.cell(32, 5, label)
        pdf.cell(0, 5, pdf.text_of(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    top = pdf.get_y() + 6
    seller = dict(document.seller)
    bottom = max(_party(pdf, 15, top, 85, "From", _address_lines(seller)),
                 _party(pdf, 110, top, 85, "Bill to", _address_lines(document.buyer)))
    pdf.set_xy(15, bottom + 8)
    _table_header(pdf)
    for line in document.lines:
        name = pdf.text_of(line.get("name"))
        wrapped = pdf.multi_cell(WIDTHS[1], 5, name, dry_run=True, output="LINES")
        assert isinstance(wrapped, list)
        height = max(6.0, 5.0 * len(wrapped) + 1)
        if pdf.will_page_break(height):
            pdf.add_page()
            _table_header(pdf)
        y = pdf.get_y()
        end = y + height
        pdf.cell(WIDTHS[0], 6, pdf.text_of(line.get("sku") or ""))
        pdf.set_xy(15 + WIDTHS[0], y + 0.5)
        pdf.multi_cell(WIDTHS[1], 5, name, align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_xy(15 + WIDTHS[0] + WIDTHS[1], y)
        pdf.cell(WIDTHS[2], 6, str(line.get("quantity", "")), align="R")
        pdf.cell(WIDTHS[3], 6, f"{line['tax_rate']}%" if line.get("tax_rate") else "", align="R")
        pdf.cell(WIDTHS[4], 6, _amount(line["unit_price"], document.currency), align="R")
        pdf.cell(WIDTHS[5], 6, _amount(line["total"], document.currency), align="R")
        pdf.set_xy(15, end)
        pdf.set_draw_color(220)
        pdf.line(15, end, 15 + sum(WIDTHS), end)
        pdf.set_draw_color(0)
    pdf.ln(4)
    totals = document.totals
    # The lines are net of their discounts and of tax: subtotal + shipping + tax = total.
    rows: list[tuple[str, str, bool]] = [("Subtotal", totals["subtotal"], False)]
    rows.append(("Shipping", totals.get("shipping", "0"), False))
    if document.tax_lines:
        for tax in document.tax_lines:
            name = tax.get("name") or f"Tax {tax['rate']}%"
            rows.append((f"{name} on {_amount(tax['taxable'], document.currency)}",
                         tax["tax"], False))
    else:
        rows.append(("Tax 0%", totals.get("tax", "0"), False))
    rows.append(("Total credited" if credit else "Total", totals["total"], True))
    label_width, value_width = 50, 35
    for label, value, strong in rows:
        if pdf.will_page_break(7):
            pdf.add_page()
        pdf.set_x(15 + sum(WIDTHS) - label_width - value_width)
        pdf.use(11 if strong else 10, bold=strong)
        border = "T" if strong else ""
        pdf.cell(label_width, 7, label, border=border)
        pdf.cell(value_width, 7, _amount(value, document.currency), border=border, align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    notes = []
    if totals.get("discount") and Decimal(totals["discount"]) != 0:
        notes.append(f"Discounts of {_amount(totals['discount'], document.currency)} are taken "
                     "off the lines above.")
    if not document.tax_lines:
        notes.append("No tax is charged on this document.")
    for note in notes:
        pdf.ln(4)
        pdf.use(8)
        pdf.set_text_color(110)
        pdf.cell(0, 5, note)
        pdf.set_text_color(0)
    return bytes(pdf.output())
