"""Read an official Commission guideline PDF into provisions, one per numbered paragraph.

In: the PDF's bytes and its manifest :class:`Document`; out: one SECTION :class:`Provision` per
paragraph "(123)", with the ``page`` where it starts and a ``#page=`` link.  Reading the file is
left to ``ingest.parsers``; the paragraph model to ``ingest.guideline_paragraphs``.

Decisions (each has a test in tests/test_guideline_pdf.py):

* Footnotes are found by font size, not guessed: small print (< 87 % of the body size) is
  footnote text, small raised digits are footnote markers; both are dropped, as are page
  numbers in the top and bottom margins.  Digits in body-size text are never touched.
* A hard hyphen at a line end belongs to a compound word ("post-\ndeployment" ->
  "post-deployment"): these PDFs have no automatic hyphenation.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from io import BytesIO

import pypdf
from pypdf.errors import PyPdfError

from ingest import guideline_paragraphs as paragraphs
from kb.errors import BadDocument
from kb.records import Document, Provision

log = logging.getLogger(__name__)

__all__ = ["parse_guideline_pdf"]

SMALL = 0.87  # below this share of the body font size, text is small print (footnotes)
GAP = 1.25  # a vertical gap above this many line spacings starts a new structural line

_PARA = re.compile(r"^\((\d{1,3})\)\s*")
_ITEM = re.compile(
    r"^(?:\((?:[ivxlc]+|[a-z]{1,2}|\d{1,3})\)|[a-z]\)|[ivx]+\.|\d{1,2}\.|[•▪◦●o\-–—])(?:\s|$)"
)
_NUMBERED_HEADING = re.compile(r"^(?:[IVXLC]+\.|\d+(?:\.\d+)*\.|[A-Z]\.\d+(?:\.\d+)*\.?)\s+\S")
_LETTERED_HEADING = re.compile(r"^[a-z]\)\s+\S")
_PAGE_NUMBER = re.compile(r"^(?:\d{1,4}|[IVXLCivxlc]{1,6})$")
# What pypdf raises on damaged files besides its own errors (bad streams, xref, numbers).
_PDF_ERRORS = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    OSError,
    zlib.error,
    struct.error,
    RecursionError,
)


@dataclass(slots=True)
class _Line:
    """One printed line of a page: its text without footnote markers, position and style."""

    page: int  # 1-based
    x: float
    y: float  # baseline, from the bottom of the page
    text: str
    size: float  # dominant font size of the line
    bold: float  # share of the characters set in a bold font


@dataclass(slots=True)
class _Run:
    text: str
    x: float
    y: float
    size: float
    bold: bool


def _read_pdf(data: bytes, doc: Document) -> pypdf.PdfReader:
    """Open the PDF or raise BadDocument naming the file and the problem."""
    name = doc.file or doc.id
    if not data:
        raise BadDocument(f"{name}: the file is empty; replace it with the official PDF")
    if b"%PDF-" not in data[:1024]:
        raise BadDocument(f"{name}: not a PDF (no %PDF- header); check the file and its parser")
    try:
        reader = pypdf.PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadDocument(f"{name}: the PDF is encrypted; provide an unencrypted copy")
        if not reader.pages:
            raise BadDocument(f"{name}: the PDF has no pages; replace it with the official PDF")
    except BadDocument:
        raise
    except _PDF_ERRORS as err:
        raise BadDocument(
            f"{name}: unreadable PDF ({err}); replace it with the official PDF"
        ) from None
    return reader


def _page_runs(page: pypdf.PageObject) -> list[_Run]:
    """The text runs of a page in content order, with position, size and boldness.

    Whitespace-only runs carry no position (pypdf emits newlines at the origin), so they
    become a zero-size space marker that only tells the line builder "a space was here".
    """
    runs: list[_Run] = []

    def visit(text: str, cm: list[float], tm: list[float], font: dict | None, size: float) -> None:
        if not text:
            return
        if not text.strip():
            runs.append(_Run(" ", 0.0, 0.0, 0.0, False))
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = abs(tm[3] or tm[0]) * abs(cm[3] or cm[0])
        name = str(font.get("/BaseFont", "")) if font else ""
        runs.append(_Run(text.replace("\n", " "), x, y, size * scale, "bold" in name.lower()))

    page.extract_text(visitor_text=visit)
    return runs


def _lines(runs: list[_Run], page_no: int, body: float) -> tuple[list[_Line], int]:
    """Group runs into lines by baseline; drop raised small digits (footnote markers).

    Returns the lines and the number of markers dropped.
    """
    lines: list[_Line] = []
    parts: list[str] = []
    sizes: Counter[float] = Counter()
    bold = chars = 0
    x = y = 0.0
    space = False
    markers = 0

    def close() -> None:
        if parts:
            size = sizes.most_common(1)[0][0]
            lines.append(_Line(page_no, x, y, "".join(parts), size, bold / max(chars, 1)))

    for run in runs:
        if run.size == 0.0:
            space = True
            continue
        raised = bool(parts) and 0.5 < run.y - y < 0.6 * body and run.size < SMALL * body
        if raised and re.fullmatch(r"[\d\s,*]+", run.text):
            markers += 1  # a footnote reference such as "system¹²"
            space = True if run.text.endswith(" ") else space
            continue
        if not raised and (not parts or abs(run.y - y) > 2.0):
            close()
            parts, sizes, bold, chars = [], Counter(), 0, 0
            x, y, space = run.x, run.y, False
        if space and parts and not parts[-1].endswith(" ") and not run.text.startswith(" "):
            parts.append(" ")
        space = False
        parts.append(run.text)
        visible = len(run.text.strip())
        if not raised:
            sizes[round(run.size, 1)] += visible
        chars += visible
        bold += visible if run.bold else 0
    close()
    return lines, markers


def _mode(values: list[float], default: float) -> float:
    counts = Counter(round(v, 1) for v in values)
    return counts.most_common(1)[0][0] if counts else default


def _is_margin_number(line: _Line, height: float) -> bool:
    """A page number (or roman numeral) printed in the top or bottom margin."""
    in_margin = line.y < 0.08 * height or line.y > 0.94 * height
    return in_margin and bool(_PAGE_NUMBER.match(paragraphs.clean(line.text)))


def parse_guideline_pdf(data: bytes, doc: Document) -> list[Provision]:
    """Parse an official guideline PDF into one provision per numbered paragraph.

    ``page`` is the physical page (1-based) where the paragraph starts; ``url`` links to it.
    Raises BadDocument for an empty, corrupt or encrypted PDF, or one without "(1)" paragraphs.
    """
    reader = _read_pdf(data, doc)
    pages: list[tuple[list[_Run], float]] = []
    try:
        for page in reader.pages:
            pages.append((_page_runs(page), float(page.mediabox.height)))
    except _PDF_ERRORS as err:
        raise BadDocument(f"{doc.file or doc.id}: cannot extract text ({err})") from None

    weights: Counter[float] = Counter()
    for runs, _ in pages:
        for run in runs:
            if run.size:
                weights[round(run.size, 1)] += len(run.text.strip())
    if not weights:
        raise BadDocument(f"{doc.file or doc.id}: the PDF has no text layer (scanned?)")
    body = weights.most_common(1)[0][0]

    lines: list[_Line] = []
    markers = 0
    for number, (runs, height) in enumerate(pages, start=1):
        page_lines, found = _lines(runs, number, body)
        markers += found
        lines += [ln for ln in page_lines if not _is_margin_number(ln, height)]
    text_lines = [ln for ln in lines if ln.size >= SMALL * body]
    log.debug("%s: body %.1fpt, %d footnote markers dropped", doc.id, body, markers)

    para_x = _mode([ln.x for ln in text_lines if _PARA.match(paragraphs.clean(ln.text))], 0.0)
    steps = [
        round(a.y - b.y, 1)
        for a, b in paragraphs.pairs(text_lines)
        if a.page == b.page and 0 < a.y - b.y < 3 * body
    ]
    spacing = _mode(steps, 1.2 * body)
    paras = _assemble_pdf(text_lines, doc, para_x=para_x, spacing=spacing, body=body)
    if not paras:
        raise BadDocument(
            f"{doc.file or doc.id}: no numbered paragraphs '(1)' found; "
            "is this a Commission guideline PDF?"
        )
    return paragraphs.to_provisions(doc, paras, pdf=True)


def _assemble_pdf(
    lines: list[_Line], doc: Document, *, para_x: float, spacing: float, body: float
) -> list[paragraphs.Para]:
    """Walk the body lines: headings set the section, "(N)" lines open paragraphs.

    Text after a heading that is not in a numbered paragraph (example boxes, quoted
    provisions) becomes a block without numbers; text before paragraph (1) is skipped.
    """
    numbers = paragraphs.Numbers()
    paras: list[paragraphs.Para] = []
    section = title = ""
    heading: list[_Line] = []  # lines of the heading being read
    current: paragraphs.Para | None = None
    sources: list[str] = []
    seps: list[str] = []
    previous: _Line | None = None

    def finish() -> None:
        if current is not None and sources:
            current.lines = paragraphs.join_lines(sources, seps).split("\n")

    for line in lines:
        text = paragraphs.clean(line.text)
        if not text:
            continue
        is_bold = line.bold >= 0.9 and line.size >= 0.9 * body
        # "c) ‘Solely’": the quotes of a lettered sub-heading are set in a roman font
        if _LETTERED_HEADING.match(text) and line.bold >= 0.75 and line.size >= 0.9 * body:
            is_bold = True
        at_margin = abs(line.x - para_x) <= 12.0
        label = _PARA.match(text)

        if heading and is_bold and _continues_heading(heading, line, text, spacing):
            heading.append(line)
            continue
        if heading:
            texts = [paragraphs.clean(h.text) for h in heading]
            title = paragraphs.join_lines(
                texts, [paragraphs.heading_sep(a, b) for a, b in paragraphs.pairs(texts)]
            )
            section = title if _NUMBERED_HEADING.match(title) else section
            heading = []
        if (
            is_bold
            and not label
            and (_NUMBERED_HEADING.match(text) or _LETTERED_HEADING.match(text) or at_margin)
        ):
            finish()
            heading, current, sources, seps, previous = [line], None, [], [], None
            continue

        if label and at_margin and numbers.fits(int(label.group(1))):
            finish()
            number = int(label.group(1))
            numbers.take(number)
            current = paragraphs.Para([number], section, title or section, page=line.page)
            paras.append(current)
            sources, seps, previous = [text[label.end() :]], [], line
            continue
        if label and at_margin:
            log.warning("%s: paragraph number (%s) repeated; kept as text", doc.id, label[1])
        if current is None:
            if not numbers.seen:
                continue  # cover page and table of contents
            current = paragraphs.Para([], section, title or section, page=line.page)
            paras.append(current)
            sources, seps, previous = [text], [], line
            continue
        seps.append(_sep_pdf(previous, line, sources[-1], text, spacing))
        sources.append(text)
        previous = line
    finish()
    return paras


def _continues_heading(heading: list[_Line], line: _Line, text: str, spacing: float) -> bool:
    """A bold line right below a heading, indented past its number, continues it."""
    last = heading[-1]
    step = last.y - line.y
    return (
        line.page == last.page
        and 0 < step <= GAP * spacing
        and line.x > heading[0].x + 3.0
        and not _NUMBERED_HEADING.match(text)
        and not _LETTERED_HEADING.match(text)
    )


def _sep_pdf(previous: _Line | None, line: _Line, prev_text: str, text: str, spacing: float) -> str:
    """How two consecutive lines of one paragraph join: "", " " or a structural "\\n"."""
    hyphen = paragraphs.hyphen_join(prev_text, text)
    if hyphen is not None:
        return hyphen
    item = bool(_ITEM.match(text)) and (
        prev_text.rstrip().endswith((":", ";", ".")) or prev_text.rstrip().endswith((" or", " and"))
    )
    if previous is None or previous.page != line.page:
        return "\n" if item or prev_text.rstrip().endswith(":") else " "
    step = previous.y - line.y
    back = line.x < previous.x - 20.0  # back to a column further left: a new table row
    if step > GAP * spacing or step < -2.0 or item or back:
        return "\n"
    return " "
