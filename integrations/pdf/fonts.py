"""Which font the PDFs are set in: one that covers Chinese, Japanese and Korean names.

fpdf2 embeds a TrueType font from a file; none ships with the project, so the system's
is used: Debian's ``fonts-wqy-microhei`` (or ``fonts-noto-cjk``, ``fonts-wqy-zenhei``), or
the file ``OMS_PDF_FONT`` names (``Settings.pdf_font``). Without any, PDFs are set in
DejaVu Sans (Latin, Greek, Cyrillic) or, failing that, in Helvetica with what it cannot
print shown as "?", and a warning says which package to install.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
)
FALLBACK_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)  # fonts-dejavu-core
INSTALL_HINT = "apt-get install fonts-wqy-microhei (or fonts-noto-cjk), or set OMS_PDF_FONT"


class FontMissing(RuntimeError):
    """OMS_PDF_FONT names a file that is not there."""


@dataclass(frozen=True)
class Font:
    path: Path | None  # None: the PDF core font Helvetica (Latin-1 only)
    cjk: bool


@cache
def pdf_font(chosen: Path | None = None) -> Font:
    """The font to embed: the file chosen, else the system's; looked up once per process."""
    if chosen is not None:
        if not chosen.is_file():
            raise FontMissing(f"OMS_PDF_FONT={chosen}: no such font file")
        return Font(chosen, cjk=True)
    for candidate in CJK_FONTS:
        if Path(candidate).is_file():
            return Font(Path(candidate), cjk=True)
    for candidate in FALLBACK_FONTS:
        if Path(candidate).is_file():
            log.warning("No CJK font found: invoices print Chinese, Japanese and Korean "
                        "text as boxes. %s", INSTALL_HINT)
            return Font(Path(candidate), cjk=False)
    log.warning("No TrueType font found: invoices print only Latin-1 text. %s", INSTALL_HINT)
    return Font(None, cjk=False)
