"""Parse Commission guidelines, official PDFs and Markdown text extracts, into provisions.

In: the file's bytes (PDF) or text (Markdown) and its manifest :class:`Document`; out: one SECTION
:class:`Provision` per numbered paragraph "(123)", ref "<cite_as>, para. 123", in reading order.
Reading files, chunking and indexing are left to the callers.

Decisions (each has a test in tests/test_guidelines.py):

* ``section`` is the nearest numbered heading ("2.1. Prohibitions listed in Article 5 AI Act",
  "A.1. What should be estimated?"); ``title`` is the nearest heading of any kind, i.e. the
  lettered or unnumbered sub-heading where there is one ("a) Subliminal techniques", "Basic data
  processing"), else the same as ``section``.  ``paragraph`` holds the number ("123").
* Text before paragraph (1) (cover, table of contents) is not content.  Text after a heading
  that is in no numbered paragraph (the "Examples of uses" of C(2025) 5052 section 10.8, its
  boxes quoting Article 5) is kept as one provision per numbered heading, ref
  "<cite_as>, section 10.8", ``paragraph`` None.
* PDF footnotes are found by font size, not guessed: small print (< 87 % of the body size) is
  footnote text, small raised digits are footnote markers; both are dropped, as are page
  numbers in the top and bottom margins.  Digits in body-size text are never touched.
* Line ends: a hard hyphen at a line end is kept and the lines are joined without a space
  ("post-\ndeployment" -> "post-deployment"): these PDFs have no automatic hyphenation, so
  such hyphens belong to compound words; a soft hyphen (U+00AD) is removed.  The Markdown
  extracts have "machine- readable" for a line-end hyphen: rejoined, except before "and", "or",
  "nor" ("pre- and post-processing").
* Markdown footnotes are "(k) text" lines (C(2026) 5054) or "k Text" lines (C(2025) 5045) that
  continue the footnote sequence; a short line after a footnote that does not end a sentence
  continues it.  Markers " (k)" and glued "word1" are removed only when k is a footnote number
  of the document and markers come in increasing order, so "Article 50(1) and (2)" and the
  extract's flattened "1025" (10^25) are never touched.
* Defective numbering (C(2025) 5045).  A label starts a paragraph if its number is new and at
  most 3 above the highest so far, or fills a gap ("(15) (14) Given ...", "(124)" after
  "(125)").  Stacked labels "(3) (4) Given ..." give one provision per number, all with the
  block's text, because the extract does not show where one paragraph ends; a label with no text
  of its own ("(46)" alone) joins the block before it.  A number already used that is not a
  footnote is kept as text inside the running paragraph (merged), so refs stay unique and no text
  is lost.  Annex A of C(2025) 5045 continues the numbering, (117)-(144): ordinary paragraphs
  with sections "A.1. ...".
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from io import BytesIO

import pypdf
from pypdf.errors import PyPdfError

from kb.errors import BadDocument
from kb.law.refs import qualify
from kb.records import Document, Provision, Unit

log = logging.getLogger(__name__)

__all__ = ["parse_guideline_markdown", "parse_guideline_pdf"]

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
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")


def _clean(text: str) -> str:
    """Collapse whitespace runs (no-break spaces included) to one space and strip."""
    return _SPACES.sub(" ", text).strip()


# --------------------------------------------------------------------------- shared structure


def _pairs(items: list) -> list[tuple]:
    """Consecutive pairs: [a, b, c] -> [(a, b), (b, c)]."""
    return list(zip(items, items[1:], strict=False))


@dataclass(slots=True)
class _Para:
    """A paragraph being assembled: its numbers (several for stacked labels, none for text
    under a heading outside numbered paragraphs), headings, first page and lines."""

    numbers: list[int]
    section: str
    title: str
    page: int | None = None
    lines: list[str] = field(default_factory=list)


class _Numbers:
    """Which "(N)" labels start a paragraph: new numbers in sequence, or gaps being filled."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.high = 0  # highest number taken so far

    def fits(self, n: int) -> bool:
        return n not in self.seen and 0 < n <= self.high + 3

    def take(self, n: int) -> None:
        if n != self.high + 1:
            log.debug("paragraph (%d) out of sequence after (%d)", n, self.high)
        self.seen.add(n)
        self.high = max(self.high, n)


def _join(lines: list[str], separators: list[str]) -> str:
    """Join source lines with their separators ("", " " or "\\n"); clean each output line."""
    out = lines[0] if lines else ""
    for line, sep in zip(lines[1:], separators, strict=True):
        out += sep + line
    out = out.replace("\u00ad", "")
    return "\n".join(part for part in (_clean(p) for p in out.split("\n")) if part)


def _hyphen_join(previous: str, following: str) -> str | None:
    """The separator for a line break after a hyphen, or None when it is not one."""
    tail = previous.rstrip()
    if tail.endswith("\u00ad"):
        return ""  # soft hyphen: _join removes the character itself
    if re.search(r"[^\s\-–—]-$", tail) and following[:1].isalnum():
        return ""
    return None


def _merge_label_only(paras: list[_Para], doc: Document) -> list[_Para]:
    """Give numbers printed without any text of their own to the paragraph before them.

    The C(2025) 5045 extract prints some labels after the text they belong to ("(46)" alone
    after the block holding paragraphs 45 and 46): the numbers then share that block's text.
    """
    kept: list[_Para] = []
    numbered: _Para | None = None  # the last paragraph with numbers and text
    for para in paras:
        if para.lines:
            kept.append(para)
            numbered = para if para.numbers else numbered
        elif para.numbers and numbered is not None:
            log.debug("%s: %s has no text; it joins %s", doc.id, para.numbers, numbered.numbers)
            numbered.numbers += para.numbers
    return kept


def _section_ref(section: str) -> str:
    """The local label of text under a heading outside numbered paragraphs: "section 10.8".

    >>> _section_ref("10.8. Examples of uses")
    'section 10.8'
    """
    match = re.match(r"^([IVXLC]+|[A-Z]\.\d+(?:\.\d+)*|\d+(?:\.\d+)*)\.?\s", section)
    return f"section {match.group(1) if match else section}"


def _provisions(doc: Document, paras: list[_Para], *, pdf: bool) -> list[Provision]:
    """One provision per paragraph number, in reading order, plus one per section block.

    Blocks of text outside numbered paragraphs under the same numbered heading are joined
    into one provision "<cite_as>, section 10.8" so refs stay unique.
    """
    out: list[Provision] = []
    blocks: dict[str, int] = {}  # section ref -> index in out
    shared = [p.numbers for p in paras if len(p.numbers) > 1]
    if shared:  # a known defect of the source extract: worth a maintainer's -v, not a warning
        log.info(
            "%s: %d text blocks carry several paragraph numbers (defective numbering in the "
            "source), each number gets the whole block: %s",
            doc.id,
            len(shared),
            shared,
        )
    for para in paras:
        text = "\n".join(para.lines)
        url = doc.url
        if pdf and doc.url and para.page:
            url = f"{doc.url}#page={para.page}"
        common = {
            "doc_id": doc.id,
            "unit": Unit.SECTION,
            "title": para.title,
            "page": para.page if pdf else None,
            "section": para.section,
            "url": url,
        }
        if not para.numbers:
            ref = qualify(_section_ref(para.section or para.title or "?"), doc)
            if ref in blocks:
                first = out[blocks[ref]]
                out[blocks[ref]] = replace(first, text=first.text + "\n" + text)
                continue
            blocks[ref] = len(out)
            out.append(Provision(ref=ref, text=text, order=len(out), **common))
            continue
        for number in sorted(para.numbers):
            ref = qualify(f"para. {number}", doc)
            out.append(
                Provision(ref=ref, text=text, paragraph=str(number), order=len(out), **common)
            )
    return out


# --------------------------------------------------------------------------- PDF


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
    return in_margin and bool(_PAGE_NUMBER.match(_clean(line.text)))


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

    para_x = _mode([ln.x for ln in text_lines if _PARA.match(_clean(ln.text))], 0.0)
    steps = [
        round(a.y - b.y, 1)
        for a, b in _pairs(text_lines)
        if a.page == b.page and 0 < a.y - b.y < 3 * body
    ]
    spacing = _mode(steps, 1.2 * body)
    paras = _assemble_pdf(text_lines, doc, para_x=para_x, spacing=spacing, body=body)
    if not paras:
        raise BadDocument(
            f"{doc.file or doc.id}: no numbered paragraphs '(1)' found; "
            "is this a Commission guideline PDF?"
        )
    return _provisions(doc, paras, pdf=True)


def _assemble_pdf(
    lines: list[_Line], doc: Document, *, para_x: float, spacing: float, body: float
) -> list[_Para]:
    """Walk the body lines: headings set the section, "(N)" lines open paragraphs.

    Text after a heading that is not in a numbered paragraph (example boxes, quoted
    provisions) becomes a block without numbers; text before paragraph (1) is skipped.
    """
    numbers = _Numbers()
    paras: list[_Para] = []
    section = title = ""
    heading: list[_Line] = []  # lines of the heading being read
    current: _Para | None = None
    sources: list[str] = []
    seps: list[str] = []
    previous: _Line | None = None

    def finish() -> None:
        if current is not None and sources:
            current.lines = _join(sources, seps).split("\n")

    for line in lines:
        text = _clean(line.text)
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
            title = _join(
                [_clean(h.text) for h in heading],
                [_sep_heading(_clean(a.text), _clean(b.text)) for a, b in _pairs(heading)],
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
            numbers.take(int(label.group(1)))
            current = _Para([int(label.group(1))], section, title or section, page=line.page)
            paras.append(current)
            sources, seps, previous = [text[label.end() :]], [], line
            continue
        if label and at_margin:
            log.warning("%s: paragraph number (%s) repeated; kept as text", doc.id, label[1])
        if current is None:
            if not numbers.seen:
                continue  # cover page and table of contents
            current = _Para([], section, title or section, page=line.page)
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


def _sep_heading(previous: str, following: str) -> str:
    hyphen = _hyphen_join(previous, following)
    return " " if hyphen is None else hyphen


def _sep_pdf(previous: _Line | None, line: _Line, prev_text: str, text: str, spacing: float) -> str:
    """How two consecutive lines of one paragraph join: "", " " or a structural "\\n"."""
    hyphen = _hyphen_join(prev_text, text)
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


# --------------------------------------------------------------------------- Markdown


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_PLAIN_HEADING = re.compile(  # "Annex: Training compute ...", "A.2.1. Hardware-based approach"
    r"^(?:Annex(?: [A-Z])?\s*[:.–—-]\s+\S.{0,150}|[A-Z]\.\d+(?:\.\d+)*\.?\s+\S.{0,150})$"
)
_STACK = re.compile(r"^((?:\(\d{1,3}\)\s*)+)")
_INLINE_PARA = re.compile(r"(?<=[.:;!?’”)])\s+\((\d{1,3})\)\s+(?=[A-Z‘“(•])")
_PAREN_NOTE = re.compile(r"(?:^|(?<=[.;)]\s))\((\d{1,3})\)\s")
_BARE_NOTE = re.compile(r"(?:^|(?<=[.)]\s))(\d{1,3}) ?(?=[A-Z‘“])")
_PAREN_MARKER = re.compile(r"(?<=\S) \((\d{1,3})\)(?=[\s.,;:!?)]|$)")
_BULLETS_ONLY = re.compile(r"^[•▪◦●\s]+$")
_NOTE_END = (".", "!", "?")  # a footnote line ending otherwise continues on the next line
_NOTE_LINE = 160  # ... if that line is short: body text resumes in long lines
_NOT_AFTER = {
    "and",
    "or",
    "and/or",
    "to",
    "of",
    "in",
    "under",
    "paragraph",
    "paragraphs",
    "point",
    "points",
    "article",
    "articles",
    "subparagraph",
    "section",
    "sections",
}


@dataclass(slots=True)
class _Notes:
    """Footnote numbers found in a Markdown extract: "(k) text" lines and "k Text" lines."""

    paren: set[int] = field(default_factory=set)
    bare: set[int] = field(default_factory=set)
    last: int = 0  # highest footnote number read so far, for the sequence check


def parse_guideline_markdown(text: str, doc: Document) -> list[Provision]:
    """Parse a Markdown text extract of a guideline into one provision per numbered paragraph.

    Headings are "## 2.1 Title" lines (plus plain "Annex ..." / "A.1. ..." lines); ``page`` is
    None.  Raises BadDocument for empty text or text without "(1)" paragraphs.
    """
    name = doc.file or doc.id
    if not isinstance(text, str) or not text.strip():
        raise BadDocument(f"{name}: the Markdown file is empty; replace it with the text extract")
    if "\x00" in text:
        raise BadDocument(f"{name}: binary data in a Markdown file; check the file and its parser")
    reader = _MarkdownReader(doc)
    for raw in text.splitlines():
        reader.feed(_clean(raw))
    paras = _merge_label_only(reader.paras, doc)
    if not paras:
        raise BadDocument(
            f"{name}: no numbered paragraphs '(1)' found; is this a guideline text extract?"
        )
    for para in paras:
        para.lines = _join_markdown(para.lines)
    _drop_markers(paras, reader.notes)
    return _provisions(doc, [p for p in paras if p.lines], pdf=False)


class _MarkdownReader:
    """Line-by-line state machine over a text extract: headings, paragraphs, footnotes."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.numbers = _Numbers()
        self.notes = _Notes()
        self.paras: list[_Para] = []
        self.section = ""
        self.current: _Para | None = None
        self.heading_open = False  # the last line was a heading that may wrap onto the next
        self.in_note = False  # the last line was a footnote that has not ended
        self.cited: set[int] = set()  # numbers k seen as " (k)" in paragraph text so far

    def feed(self, line: str) -> None:
        if not line or _BULLETS_ONLY.match(line):
            return
        heading_open, self.heading_open = self.heading_open, False
        in_note, self.in_note = self.in_note, False
        heading = _MD_HEADING.match(line)
        if heading:
            if len(heading.group(1)) > 1:  # "# ..." is the document title, not a section
                self._heading(_clean(heading.group(2)))
            return
        if _PLAIN_HEADING.match(line):
            self._heading(line)
            return
        stack = _STACK.match(line)
        labels = [int(n) for n in re.findall(r"\d+", stack.group(1))] if stack else []
        if labels and self.numbers.fits(labels[0]):
            accepted: list[int] = []
            for n in labels:
                if not self.numbers.fits(n):
                    break
                self.numbers.take(n)  # so that the next label of the stack is judged after it
                accepted.append(n)
            rest = re.sub(r"^(?:\(\d{1,3}\)\s*){" + str(len(accepted)) + "}", "", line)
            self._open(accepted, rest)
            return
        if (
            labels
            and labels[0] in self.cited
            and self.notes.last < labels[0] <= self.notes.last + 4
        ):
            self._note(line, _PAREN_NOTE, self.notes.paren)
            return
        if labels:
            log.warning("%s: paragraph number (%d) repeated; kept as text", self.doc.id, labels[0])
        bare = re.match(r"^(\d{1,3}) ?(?=[A-Z‘“])", line)
        if bare and self.notes.last < int(bare.group(1)) <= self.notes.last + 4:
            self._note(line, _BARE_NOTE, self.notes.bare)
            return
        if in_note and len(line) <= _NOTE_LINE:
            self.in_note = not line.endswith(_NOTE_END)  # a footnote cut by the page layout
            return
        if heading_open and len(line) <= 80 and not line.endswith("."):
            self.section = _clean(self.section + _sep_heading(self.section, line) + line)
            self.section = self.section.replace("\u00ad", "")
            return
        if self.current is None and not self.numbers.seen:
            return  # title block before paragraph (1)
        if self.current is None:
            self.current = _Para([], self.section, self.section)  # text under a heading
            self.paras.append(self.current)
        self._add(line)

    def _heading(self, text: str) -> None:
        self.section, self.current, self.heading_open = text, None, True

    def _note(self, line: str, pattern: re.Pattern[str], into: set[int]) -> None:
        last = self.notes.last
        for match in pattern.finditer(line):
            n = int(match.group(1))
            if last < n <= last + 4:
                into.add(n)
                last = n
        self.notes.last = last
        self.in_note = not line.endswith(_NOTE_END)

    def _open(self, numbers: list[int], text: str) -> None:
        for n in numbers:
            if n not in self.numbers.seen:
                self.numbers.take(n)
        self.current = _Para(numbers, self.section, self.section)
        self.paras.append(self.current)
        self._add(text)

    def _add(self, line: str) -> None:
        """Add a line to the current paragraph, opening new ones at inline ". (N) Text"."""
        # a "(k) text" line is a footnote only once " (k)" was cited in the text above it
        self.cited.update(int(k) for k in _PAREN_MARKER.findall(line))
        for match in _INLINE_PARA.finditer(line):
            n = int(match.group(1))
            if self.numbers.fits(n):
                head = line[: match.start()].strip()
                if head and self.current is not None:
                    self.current.lines.append(head)
                self._open([n], line[match.end() :])
                return
        if line.strip() and self.current is not None:
            self.current.lines.append(line.strip())


def _join_markdown(lines: list[str]) -> list[str]:
    """Join the extract's lines of one paragraph: continuations with a space, others "\\n"."""
    if not lines:
        return []
    seps: list[str] = []
    for previous, following in _pairs(lines):
        hyphen = _hyphen_join(previous, following)
        if hyphen is not None and following[:1].islower():
            seps.append(hyphen)
        elif following[:1].islower():
            seps.append(" ")
        else:
            seps.append("\n")
    text = _join(lines, seps).replace("\u00ad", "")
    # The converter turned line-end hyphens into "machine- readable"; "pre- and post-" is real.
    text = re.sub(r"(?<=\w)- (?!(?:and|or|nor)\b)(?=\w)", "-", text)
    return text.split("\n")


def _drop_markers(paras: list[_Para], notes: _Notes) -> None:
    """Remove footnote markers " (k)" and glued "word1" where k is a known footnote number."""
    last = 0
    glued_re = re.compile(r"(?:(?<=[a-z]{2})|(?<=[’”)]))(\d{1,2})(?=[\s.,;:!?)]|$)")
    top_bare = max(notes.bare, default=0)
    for para in paras:
        lines = []
        for line in para.lines:
            out, pos = [], 0
            events = sorted(
                [
                    (m.start(), m.end(), int(m.group(1)), "paren")
                    for m in _PAREN_MARKER.finditer(line)
                ]
                + [(m.start(), m.end(), int(m.group(1)), "bare") for m in glued_re.finditer(line)]
            )
            for start, end, k, kind in events:
                if start < pos or not last < k <= last + 6:
                    continue
                if kind == "paren":
                    before = line[:start].rstrip()
                    word = before.split(" ")[-1].lower() if before else ""
                    comma = before.endswith(",")
                    if k not in notes.paren or word in _NOT_AFTER or (comma and k != last + 1):
                        continue
                elif not notes.bare or k > top_bare:
                    continue
                out.append(line[pos:start])
                pos, last = end, k
            out.append(line[pos:])
            lines.append(_clean("".join(out)))
        para.lines = [ln for ln in lines if ln]
