"""The invoice PDF's font: the system's CJK font, the one OMS_PDF_FONT names, or a clear
refusal when that file is not there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.pdf import fonts
from integrations.pdf.invoices import Document, render

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(autouse=True)
def _font_looked_up_again() -> Iterator[None]:
    fonts.pdf_font.cache_clear()
    yield
    fonts.pdf_font.cache_clear()


def _document() -> Document:
    return Document(kind="INVOICE", number="INV-2026-000007", issued_at=datetime.now(UTC),
                    order_number="1007", currency="JPY",
                    seller={"name": "Muster GmbH", "address": ["Hauptstr. 1"]},
                    buyer={"name": "Zoë Müller", "email": "z@example.com"},
                    lines=[{"sku": "SHOE", "name": "Shoe", "quantity": 1,
                            "unit_price": "1200", "total": "1200"}],
                    tax_lines=[], totals={"subtotal": "1200", "discount": "0",
                                          "shipping": "0", "tax": "0", "total": "1200"})


def test_a_font_named_but_missing_is_refused_with_its_name() -> None:
    with pytest.raises(fonts.FontMissing, match=re.escape("/nowhere/font.ttf")):
        fonts.pdf_font(Path("/nowhere/font.ttf"))


@pytest.mark.skipif(not DEJAVU.is_file(), reason="needs fonts-dejavu-core")
def test_the_font_named_is_the_one_embedded() -> None:
    pdf = render(_document(), fonts.pdf_font(DEJAVU))
    assert pdf.startswith(b"%PDF") and b"DejaVuSans" in pdf
