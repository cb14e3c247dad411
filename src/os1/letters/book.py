"""A book of letters: a PDF with a title page, a table of contents and one
letter per chapter (fpdf2).

Set in DejaVu Serif where the system has it (every character of a letter
printable); otherwise in the PDF's own Times, with the few characters Latin-1
lacks (curly quotes, dashes) made plain. Written whole to a new file, never
over another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from os1.errors import DocumentError
from os1.letters.documents import Document, version_path, write_whole

_FONTS = Path("/usr/share/fonts/truetype/dejavu")
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                        "\u2014": "--", "\u2026": "...", "\u00a0": " "})


def make_book(letters: Sequence[Document], title: str, path: Path, *, author: str = "") -> Path:
    """Write the book to ``path`` (or, if taken, the next free "name (book 2).pdf"); its path."""
    if not letters:
        raise DocumentError("A book needs at least one letter.")
    from fpdf import FPDF

    pdf = FPDF(format=(148, 210))  # A5
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(18, 18, 18)
    pdf.set_title(title)
    if author:
        pdf.set_author(author)
    family, clean = _font(pdf)

    pdf.add_page()
    pdf.set_font(family, "B", 24)
    pdf.set_y(70)
    pdf.multi_cell(0, 12, clean(title), align="C")
    if author:
        pdf.ln(6)
        pdf.set_font(family, "", 13)
        pdf.multi_cell(0, 8, clean(author), align="C")

    def contents(doc: Any, outline: list[Any]) -> None:
        doc.set_font(family, "B", 16)
        doc.cell(0, 12, "Contents", new_x="LMARGIN", new_y="NEXT")
        doc.ln(2)
        doc.set_font(family, "", 11)
        for section in outline:
            doc.cell(0, 8, f"{section.name}", new_x="END", link=doc.add_link(page=section.page_number))
            doc.set_x(doc.l_margin)
            doc.cell(0, 8, str(section.page_number), align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    pdf.insert_toc_placeholder(contents, pages=max(1, (len(letters) + 17) // 18))
    for letter in letters:
        pdf.add_page()
        name = clean(letter.title)
        pdf.start_section(name)
        pdf.set_font(family, "B", 15)
        pdf.multi_cell(0, 9, name, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font(family, "", 11)
        for paragraph in letter.paragraphs:
            if paragraph.strip():
                pdf.multi_cell(0, 6, clean(paragraph.strip()), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(3)
    for _ in range(5):
        target = path if not path.exists() else version_path(path, "new")
        try:
            write_whole(target, lambda tmp: pdf.output(str(tmp)))
            return target
        except FileExistsError:
            continue
    raise DocumentError(f"I could not find a free name for {path.name}.")


def _font(pdf: Any) -> tuple[str, Any]:
    regular, bold = _FONTS / "DejaVuSerif.ttf", _FONTS / "DejaVuSerif-Bold.ttf"
    if regular.exists() and bold.exists():
        pdf.add_font("DejaVuSerif", "", str(regular))
        pdf.add_font("DejaVuSerif", "B", str(bold))
        return "DejaVuSerif", lambda s: s
    return "Times", lambda s: s.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")
