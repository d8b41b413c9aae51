"""Citation refs: qualify a local label for its document, and find refs written in text.

``find_refs`` reads the forms people type ("Art. 50 (1)", "art 5(1)(f)", "Annex III point
5(b)", "Article 22 GDPR", "para. 123 of C(2025) 5052") and returns canonical refs; the
same reader finds the cross-references inside official text ("referred to in Article
6(2)", "listed in Annex III").  Whether a ref exists is the catalog's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.records import Document, Kind

_ARTICLE = re.compile(
    r"\b(?:articles?|arts?)\.?\s*(\d{1,3}[a-z]?)\b"
    r"((?:\s*\(\s*(?:\d{1,3}[a-z]{0,2}|[a-z]{1,4})\s*\))*)"
    r"(?:,?\s*(?:first|second|third|fourth)\s+subparagraph)?"
    r"(?:,?\s*points?\s*\(\s*([a-z]{1,4}|\d{1,3}[a-z]?)\s*\)((?:\s*\(\s*[a-z]{1,4}\s*\))*))?",
    re.IGNORECASE,
)
_POINT_OF = re.compile(
    r"\bpoint\s*\(\s*([a-z]{1,4}|\d{1,3}[a-z]?)\s*\)\s*of\s+(?:article|art)\.?\s*(\d{1,3}[a-z]?)"
    r"((?:\s*\(\s*\d{1,3}[a-z]?\s*\))?)",
    re.IGNORECASE,
)
_PARAGRAPH_OF = re.compile(
    r"\bparagraph\s+(\d{1,2}[a-z]?)\s+of\s+(?:article|art)\.?\s*(\d{1,3}[a-z]?)\b", re.IGNORECASE
)
_RECITAL = re.compile(r"\brecitals?\s*\(?(\d{1,3})\)?", re.IGNORECASE)
_ANNEX = re.compile(
    r"\bannex\s+([IVX]{1,5})\b"
    r"(?:,?\s*section\s+([A-Z0-9]{1,2})\b)?"
    r"(?:,?\s*(?:point|no\.?|item)?\s*(\d{1,2}(?:\.\d{1,2})?)\s*(?:\(?\s*([a-z])\s*\))?(?![\d/]))?",
    re.IGNORECASE,
)
_GUIDELINE = re.compile(
    r"C\s*\(\s*(\d{4})\s*\)\s*(\d{3,5})\D{0,40}?\bparas?(?:graph)?\.?\s*\(?(\d{1,3})\)?"
    r"|\bparas?(?:graph)?\.?\s*\(?(\d{1,3})\)?\s*(?:of\s+(?:the\s+)?)?(?:guidelines?\s+)?"
    r"C\s*\(\s*(\d{4})\s*\)\s*(\d{3,5})",
    re.IGNORECASE,
)
_GDPR_HINT = re.compile(r"^[\s,]*(?:of\s+(?:the\s+)?)?(?:GDPR|Regulation\s*\(EU\)\s*2016/679)\b",
                        re.IGNORECASE)
_GDPR_BEFORE = re.compile(r"\bGDPR\s*$", re.IGNORECASE)
_OTHER_ACT = re.compile(
    r"^[\s,]*(?:of|in)\s+(?:(?:Regulation|Directive|Decision)\s*\((?:EU|EC|EEC)\)|"
    r"(?:Regulation|Directive|Decision)\s+(?:\((?:EU|EC|EEC)\)\s*)?No|the\s+(?:TFEU|Treaty|Charter))",
    re.IGNORECASE,
)
_AMENDING_HINT = re.compile(r"^[\s,]*of\s+Regulation\s*\(EU\)\s*2026/1744", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RefMention:
    """A ref found in text: the canonical local label, which act, where it was."""

    local: str  # "Article 5(1)(f)", "Annex III, point 5(b)", "Recital 132", "para. 123"
    act: str  # "" for the default act, "gdpr", or a guideline "C(2025) 5052"
    start: int
    end: int


def qualify(local: str, doc: Document) -> str:
    """The stored ref for a local label in ``doc`` (see the README on refs).

    >>> gdpr = Document("gdpr", "GDPR", Kind.REGULATION, "x.html", "eurlex_html", cite_as="GDPR")
    >>> qualify("Article 22(1)", gdpr)
    'Article 22(1) GDPR'
    """
    if not doc.cite_as:
        return local
    if doc.kind is Kind.REGULATION:
        return f"{local} {doc.cite_as}"
    return f"{doc.cite_as}, {local}"


def _groups(text: str) -> list[str]:
    return re.findall(r"\(\s*([0-9a-z]+)\s*\)", text or "", re.IGNORECASE)


def _article_local(number: str, groups: list[str]) -> str:
    return f"Article {number.lower()}" + "".join(f"({g.lower()})" for g in groups)


def _act_after(text: str, end: int, start: int) -> str | None:
    """Which act a mention belongs to, from the words right after (or before) it."""
    tail = text[end : end + 40]
    if _GDPR_HINT.match(tail) or _GDPR_BEFORE.search(text[max(0, start - 6) : start]):
        return "gdpr"
    if _AMENDING_HINT.match(tail):
        return "amending"
    if _OTHER_ACT.match(tail):
        return None  # a provision of another act not in the corpus
    return ""


def find_refs(text: str) -> list[RefMention]:
    """Refs mentioned in ``text``, in order of appearance.

    >>> [m.local for m in find_refs("Art. 50 (1) and art 5(1)(f), Annex III point 5(b)")]
    ['Article 50(1)', 'Article 5(1)(f)', 'Annex III, point 5(b)']
    >>> [(m.local, m.act) for m in find_refs("What does Article 22 GDPR say? See Recital 71")]
    [('Article 22', 'gdpr'), ('Recital 71', '')]
    >>> [m.local for m in find_refs("point (f) of Article 5(1)")]
    ['Article 5(1)(f)']
    """
    found: list[RefMention] = []
    taken: list[tuple[int, int]] = []

    def add(local: str, act: str | None, start: int, end: int) -> None:
        if act is None or any(a < end and start < b for a, b in taken):
            return
        taken.append((start, end))
        found.append(RefMention(local, act, start, end))

    for m in _GUIDELINE.finditer(text):
        year, number, para = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (
            m.group(5), m.group(6), m.group(4))
        add(f"para. {para}", f"C({year}) {number}", m.start(), m.end())
    for m in _POINT_OF.finditer(text):
        local = _article_local(m.group(2), [*_groups(m.group(3)), m.group(1)])
        add(local, _act_after(text, m.end(), m.start()), m.start(), m.end())
    for m in _PARAGRAPH_OF.finditer(text):
        local = _article_local(m.group(2), [m.group(1)])
        add(local, _act_after(text, m.end(), m.start()), m.start(), m.end())
    for m in _ARTICLE.finditer(text):
        groups = _groups(m.group(2))
        if m.group(3):
            groups += [m.group(3), *_groups(m.group(4))]
        add(_article_local(m.group(1), groups), _act_after(text, m.end(), m.start()),
            m.start(), m.end())
    for m in _RECITAL.finditer(text):
        add(f"Recital {m.group(1)}", _act_after(text, m.end(), m.start()), m.start(), m.end())
    for m in _ANNEX.finditer(text):
        local = f"Annex {m.group(1).upper()}"
        if m.group(2):
            local += f", Section {m.group(2).upper()}"
        if m.group(3):
            local += f", point {m.group(3)}" + (f"({m.group(4).lower()})" if m.group(4) else "")
        add(local, _act_after(text, m.end(), m.start()), m.start(), m.end())
    return sorted(found, key=lambda m: m.start)


def parents(local: str) -> list[str]:
    """The local ref and its ancestors, most specific first.

    >>> parents("Article 5(1)(f)")
    ['Article 5(1)(f)', 'Article 5(1)', 'Article 5']
    >>> parents("Annex III, point 5(b)")
    ['Annex III, point 5(b)', 'Annex III, point 5', 'Annex III']
    """
    chain = [local]
    while True:
        current = chain[-1]
        if current.endswith(")") and "(" in current:
            chain.append(current[: current.rfind("(")].rstrip())
        elif ", " in current:
            chain.append(current[: current.rfind(", ")])
        else:
            return chain
