"""The paragraph model shared by the guideline readers, and its provisions.

In: the paragraphs that ``ingest.guideline_pdf`` or ``ingest.guideline_md`` assembled from a
Commission guideline; out: one SECTION :class:`Provision` per paragraph number, ref
"<cite_as>, para. 123", in reading order.  Reading the files is left to those readers.

Decisions (each has a test in tests/test_guideline_pdf.py or tests/test_guideline_md.py):

* ``section`` is the nearest numbered heading ("2.1. Prohibitions listed in Article 5 AI Act",
  "A.1. What should be estimated?"); ``title`` is the nearest heading of any kind, i.e. the
  lettered or unnumbered sub-heading where there is one ("a) Subliminal techniques", "Basic data
  processing"), else the same as ``section``.  ``paragraph`` holds the number ("123").
* Text before paragraph (1) (cover, table of contents) is not content.  Text after a heading
  that is in no numbered paragraph (the "Examples of uses" of C(2025) 5052 section 10.8, its
  boxes quoting Article 5) is kept as one provision per numbered heading, ref
  "<cite_as>, section 10.8", ``paragraph`` None.
* A label starts a paragraph if its number is new and at most 3 above the highest so far, or
  fills a gap ("(15) (14) Given ...", "(124)" after "(125)").  A number already used is kept as
  text inside the running paragraph, so refs stay unique and no text is lost.
* Line ends: a hard hyphen at a line end is kept and the lines are joined without a space; a
  soft hyphen (U+00AD) is removed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace

from kb.law.refs import qualify
from kb.records import Document, Provision, Unit

log = logging.getLogger(__name__)

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")


def clean(text: str) -> str:
    """Collapse whitespace runs (no-break spaces included) to one space and strip."""
    return _SPACES.sub(" ", text).strip()


def pairs(items: list) -> list[tuple]:
    """Consecutive pairs: [a, b, c] -> [(a, b), (b, c)]."""
    return list(zip(items, items[1:], strict=False))


@dataclass(slots=True)
class Para:
    """A paragraph being assembled: its numbers (several for stacked labels, none for text
    under a heading outside numbered paragraphs), headings, first page and lines."""

    numbers: list[int]
    section: str
    title: str
    page: int | None = None
    lines: list[str] = field(default_factory=list)


class Numbers:
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


def join_lines(lines: list[str], separators: list[str]) -> str:
    """Join source lines with their separators ("", " " or "\\n"); clean each output line."""
    out = lines[0] if lines else ""
    for line, sep in zip(lines[1:], separators, strict=True):
        out += sep + line
    out = out.replace("\u00ad", "")
    return "\n".join(part for part in (clean(p) for p in out.split("\n")) if part)


def hyphen_join(previous: str, following: str) -> str | None:
    """The separator for a line break after a hyphen, or None when it is not one."""
    tail = previous.rstrip()
    if tail.endswith("\u00ad"):
        return ""  # soft hyphen: join_lines removes the character itself
    if re.search(r"[^\s\-–—]-$", tail) and following[:1].isalnum():
        return ""
    return None


def heading_sep(previous: str, following: str) -> str:
    """How a heading wrapped onto the next line joins: a space, or nothing after a hyphen."""
    hyphen = hyphen_join(previous, following)
    return " " if hyphen is None else hyphen


def _section_ref(section: str) -> str:
    """The local label of text under a heading outside numbered paragraphs: "section 10.8".

    >>> _section_ref("10.8. Examples of uses")
    'section 10.8'
    """
    match = re.match(r"^([IVXLC]+|[A-Z]\.\d+(?:\.\d+)*|\d+(?:\.\d+)*)\.?\s", section)
    return f"section {match.group(1) if match else section}"


def to_provisions(doc: Document, paras: list[Para], *, pdf: bool) -> list[Provision]:
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
