"""Read a Markdown text extract of a Commission guideline into provisions, one per paragraph.

In: the extract's text and its manifest :class:`Document`; out: one SECTION :class:`Provision`
per numbered paragraph "(123)", ``page`` None.  Reading the file is left to ``ingest.parsers``;
the paragraph model to ``ingest.guideline_paragraphs``.

Decisions (each has a test in tests/test_guideline_md.py):

* Headings are "## 2.1 Title" lines, plus plain "Annex ..." / "A.1. ..." lines; "# ..." is the
  document title.  The extracts have "machine- readable" for a line-end hyphen: rejoined, except
  before "and", "or", "nor" ("pre- and post-processing").
* Footnotes are "(k) text" lines (C(2026) 5054) or "k Text" lines (C(2025) 5045) that
  continue the footnote sequence; a short line after a footnote that does not end a sentence
  continues it.  Markers " (k)" and glued "word1" are removed only when k is a footnote number
  of the document and markers come in increasing order, so "Article 50(1) and (2)" and the
  extract's flattened "1025" (10^25) are never touched.
* Defective numbering (C(2025) 5045).  Stacked labels "(3) (4) Given ..." give one provision
  per number, all with the block's text, because the extract does not show where one paragraph
  ends; a label with no text of its own ("(46)" alone) joins the block before it.  Annex A of
  C(2025) 5045 continues the numbering, (117)-(144): ordinary paragraphs with sections "A.1. ...".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from ingest import guideline_paragraphs as paragraphs
from kb.errors import BadDocument
from kb.records import Document, Provision

log = logging.getLogger(__name__)

__all__ = ["parse_guideline_markdown"]

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
        reader.feed(paragraphs.clean(raw))
    paras = _merge_label_only(reader.paras, doc)
    if not paras:
        raise BadDocument(
            f"{name}: no numbered paragraphs '(1)' found; is this a guideline text extract?"
        )
    for para in paras:
        para.lines = _join_markdown(para.lines)
    _drop_markers(paras, reader.notes)
    return paragraphs.to_provisions(doc, [p for p in paras if p.lines], pdf=False)


class _MarkdownReader:
    """Line-by-line state machine over a text extract: headings, paragraphs, footnotes."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.numbers = paragraphs.Numbers()
        self.notes = _Notes()
        self.paras: list[paragraphs.Para] = []
        self.section = ""
        self.current: paragraphs.Para | None = None
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
                self._heading(paragraphs.clean(heading.group(2)))
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
            joint = paragraphs.heading_sep(self.section, line)
            self.section = paragraphs.clean(self.section + joint + line)
            self.section = self.section.replace("\u00ad", "")
            return
        if self.current is None and not self.numbers.seen:
            return  # title block before paragraph (1)
        if self.current is None:
            self.current = paragraphs.Para([], self.section, self.section)  # text under a heading
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
        self.current = paragraphs.Para(numbers, self.section, self.section)
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
    for previous, following in paragraphs.pairs(lines):
        hyphen = paragraphs.hyphen_join(previous, following)
        if hyphen is not None and following[:1].islower():
            seps.append(hyphen)
        elif following[:1].islower():
            seps.append(" ")
        else:
            seps.append("\n")
    text = paragraphs.join_lines(lines, seps).replace("\u00ad", "")
    # The converter turned line-end hyphens into "machine- readable"; "pre- and post-" is real.
    text = re.sub(r"(?<=\w)- (?!(?:and|or|nor)\b)(?=\w)", "-", text)
    return text.split("\n")


def _drop_markers(paras: list[paragraphs.Para], notes: _Notes) -> None:
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
            lines.append(paragraphs.clean("".join(out)))
        para.lines = [ln for ln in lines if ln]


def _merge_label_only(paras: list[paragraphs.Para], doc: Document) -> list[paragraphs.Para]:
    """Give numbers printed without any text of their own to the paragraph before them.

    The C(2025) 5045 extract prints some labels after the text they belong to ("(46)" alone
    after the block holding paragraphs 45 and 46): the numbers then share that block's text.
    """
    kept: list[paragraphs.Para] = []
    numbered: paragraphs.Para | None = None  # the last paragraph with numbers and text
    for para in paras:
        if para.lines:
            kept.append(para)
            numbered = para if para.numbers else numbered
        elif para.numbers and numbered is not None:
            log.debug("%s: %s has no text; it joins %s", doc.id, para.numbers, numbered.numbers)
            numbered.numbers += para.numbers
    return kept
