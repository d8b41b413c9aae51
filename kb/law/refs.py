"""Citation refs: qualify a local label for its document, and find refs written in text.

``find_refs`` reads the forms people type ("Art. 50 (1)", "art 5(1)(f)", "Art. 5 (1) f",
"Art 50 paragraph 1", "Annex III point 5(b)", "Article 22 GDPR", "para. 123 of C(2025) 5052")
and lists ("Articles 113 and 111", "Article 50(1) and (2)"), and returns canonical refs; the
same reader finds the cross-references inside official text ("referred to in Article 6(2)",
"listed in Annex III").  Whether a ref exists is the catalog's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.records import Document, Kind

# An article ref is read piece by piece from its head ("Article 5", "Arts. 5"): each piece is
# a pattern matched where the previous one ended.
_ARTICLE_HEAD = re.compile(r"\b(articles?|arts?)\.?\s*(\d{1,3}[a-z]?)\b", re.IGNORECASE)
_BRACKET = re.compile(r"\s*\(\s*(\d{1,3}[a-z]{0,2}|[a-z]{1,4})\s*\)", re.IGNORECASE)
_PARAGRAPH_WORD = re.compile(r",?\s*(?:paragraph|para\.?|par\.)\s*(\d{1,3}[a-z]?)\b(?!\s*\()",
                             re.IGNORECASE)
_SUBPARAGRAPH = re.compile(r",?\s*(?:first|second|third|fourth)\s+subparagraph", re.IGNORECASE)
_POINT_WORD = re.compile(r",?\s*points?\s*\(\s*([a-z]{1,4}|\d{1,3}[a-z]?)\s*\)", re.IGNORECASE)
# A point letter without brackets ("Art. 5 (1) f", "Art. 5(1) lit. f"): lower case, one
# letter or an inserted point's two ("ba"), not followed by a word character or "e.g."-style
# dots.
_BARE_POINT = re.compile(
    r"(?:,?\s*(?P<word>point|lit\.?)\s*|\s+)(?-i:(?P<label>[a-z][a-h]?))(?![\w'’-]|\.\w)",
    re.IGNORECASE,
)
# "a" and "i" are words too: a point only where no word follows ("Art. 5(1) a?" is point
# (a), "Art. 5(1) a ban" is paragraph 1).  Two-letter words are never points.
_WORD_LABELS = frozenset({"a", "i"})
_WORDS = frozenset({"ad", "ah", "be", "eh", "ha", "he", "me", "of", "oh", "re", "we", "ye"})
_WORD_NEXT = re.compile(r"\s*\w")
_LIST_SEPARATOR = re.compile(r"\s*,\s*(?:(?:and/or|and|or)\s+)?|\s+(?:and/or|and|or)\s+",
                             re.IGNORECASE)
_LISTED_NUMBER = re.compile(r"(\d{1,3}[a-z]?)\b(?![/.,]\d)", re.IGNORECASE)

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

# Which act: the words right after a mention decide; failing that, the words right before.
_GDPR_HINT = re.compile(r"^[\s,]*(?:of\s+(?:the\s+)?)?(?:GDPR|Regulation\s*\(EU\)\s*2016/679)\b",
                        re.IGNORECASE)
_AMENDING_HINT = re.compile(r"^[\s,]*(?:of|in)\s+Regulation\s*\(EU\)\s*2026/1744", re.IGNORECASE)
# The AI Act by its own number or name is the main act, not "another regulation".
_MAIN_HINT = re.compile(
    r"^[\s,]*(?:of|in)\s+(?:the\s+)?(?:Regulation\s*\(EU\)\s*(?:No\s*)?2024/1689\b|"
    r"(?:AI|Artificial\s+Intelligence)\s+Act\b)",
    re.IGNORECASE,
)
_OTHER_ACT = re.compile(
    r"^[\s,]*(?:(?:of|in)\s+(?:"
    r"(?:Council\s+|Commission\s+)?(?:Implementing\s+|Delegated\s+)?(?:Framework\s+)?"
    r"(?:Regulation|Directive|Decision)\s*(?:\(|No\b|\d)"  # "Directive 2011/93/EU"
    r"|that\s+(?:Directive|Decision)\b|Protocol\b|(?:the\s+)?Annex\s+to\s+\w"
    r"|the\s+(?:TFEU|TEU|Treaty|Charter|ECHR|(?:European\s+)?Convention)\b)"
    # Treaties, the Charter and other acts cited by their short name: "Article 16 TFEU".
    r"|\s*(?:TFEU|TEU|ECHR|Charter|DSA|DMA|LED|UCPD|CCD|EUDPR)\b)",
    re.IGNORECASE,
)
# "Article 5 of that Regulation": the regulation named last before the mention.
_THAT_REGULATION = re.compile(r"^[\s,]*(?:of|in)\s+that\s+Regulation\b", re.IGNORECASE)
_REGULATION_NUMBER = re.compile(r"Regulation\s*\((?:EU|EC|EEC)\)\s*(?:No\s*)?(\d{2,4}/\d{1,4})",
                                re.IGNORECASE)
_NUMBERED_ACTS = {"2024/1689": "", "2016/679": "gdpr", "2026/1744": "amending"}
_GDPR_BEFORE = re.compile(r"\bGDPR\s*$", re.IGNORECASE)
# The form the knowledge base cites an amending act's provisions in:
# "Regulation (EU) 2026/1744, Article 1, point (7)".
_AMENDING_BEFORE = re.compile(r"Regulation\s*\(EU\)\s*2026/1744\s*,\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RefMention:
    """A ref found in text: the canonical local label, which act, where it was."""

    local: str  # "Article 5(1)(f)", "Annex III, point 5(b)", "Recital 132", "para. 123"
    act: str  # "" for the default act, "gdpr", "amending", or a guideline "C(2025) 5052"
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


@dataclass(slots=True)
class _ArticleRef:
    """An article ref being read: "Article 5", its bracketed groups, then its points."""

    number: str
    paragraphs: list[str]  # the groups written right after the number: "(1)" of "5(1)(f)"
    points: list[str]  # the groups written as points: "(f)" of "5(1), point (f)"
    start: int
    end: int

    def local(self, act: str) -> str:
        """The canonical label.  An amending act's points are stored in its own citation
        form, "Article 1, point (7)(a)" (as the Formex parser names them); every other act's
        as "Article 5(1)(f)"."""
        label = f"Article {self.number.lower()}" + "".join(f"({g.lower()})"
                                                          for g in self.paragraphs)
        points = "".join(f"({g.lower()})" for g in self.points)
        if act == "amending" and points:
            return f"{label}, point {points}"
        return label + points


def _read_groups(text: str, at: int) -> tuple[list[str], int]:
    groups = []
    while m := _BRACKET.match(text, at):
        groups.append(m.group(1))
        at = m.end()
    return groups, at


def _read_article(text: str, number: str, start: int, at: int) -> _ArticleRef:
    """One article ref whose number ends at ``at``: its paragraph, subparagraph and points."""
    paragraphs, at = _read_groups(text, at)
    if not paragraphs and (m := _PARAGRAPH_WORD.match(text, at)):  # "Art 50 paragraph 1"
        paragraphs, at = [m.group(1)], m.end()
    if m := _SUBPARAGRAPH.match(text, at):  # a subparagraph is cited by its paragraph
        at = m.end()
    points: list[str] = []
    if m := _POINT_WORD.match(text, at):
        more, at = _read_groups(text, m.end())
        points = [m.group(1), *more]
    elif len(paragraphs) == 1 and paragraphs[0][0].isdigit() and (
            m := _BARE_POINT.match(text, at)):
        label = m.group("label")
        if label not in _WORDS and (m.group("word") or label not in _WORD_LABELS
                                    or not _WORD_NEXT.match(text, m.end())):
            points, at = [label], m.end()
    return _ArticleRef(number, paragraphs, points, start, at)


def _same_level(a: str, b: str) -> bool:
    return a[0].isdigit() == b[0].isdigit()


def _read_articles(text: str, head: re.Match) -> list[_ArticleRef]:
    """The article refs a head starts: one, or a list ("Articles 113 and 111", "Article
    50(1) and (2)", "Article 5(1), points (a) and (b)"), each item in full."""
    plural = head.group(1).lower() in ("articles", "arts")
    refs = [_read_article(text, head.group(2), head.start(), head.end())]
    while sep := _LIST_SEPARATOR.match(text, refs[-1].end):
        ref = _next_item(text, refs[-1], sep.end(), plural=plural)
        # Only "and"/"or" ends a list: an item after a bare comma needs another item after
        # it, so "Articles 5 and 6, 2 August 2026" has no Article 2.
        bare_comma = not re.search(r"\b(?:and|or)\b", sep.group(), re.IGNORECASE)
        if ref is None or (bare_comma and not _LIST_SEPARATOR.match(text, ref.end)):
            break
        refs.append(ref)
    return refs


def _next_item(text: str, last: _ArticleRef, at: int, *, plural: bool) -> _ArticleRef | None:
    """The list item at ``at`` after ``last``: another article ("Articles 113 and 111") or a
    group that replaces ``last``'s last group of its kind ("Article 50(1) and (2)")."""
    if plural and (m := _LISTED_NUMBER.match(text, at)):
        return _read_article(text, m.group(1), m.start(), m.end())
    m = _BRACKET.match(text, at)
    if m is None:
        return None
    groups = [*last.paragraphs, *last.points]
    level = next((i for i in range(len(groups) - 1, -1, -1)
                  if _same_level(groups[i], m.group(1))), None)
    if level is None:
        return None
    more, end = _read_groups(text, m.end())
    new = [m.group(1), *more]
    if level < len(last.paragraphs):
        return _ArticleRef(last.number, [*last.paragraphs[:level], *new], [], m.start(), end)
    kept = last.points[: level - len(last.paragraphs)]
    return _ArticleRef(last.number, last.paragraphs, [*kept, *new], m.start(), end)


def _act(text: str, start: int, end: int) -> str | None:
    """Which act a mention at ``[start, end)`` belongs to: "" (the main act), "gdpr",
    "amending", or None for an act outside the corpus."""
    tail = text[end : end + 40]
    if _GDPR_HINT.match(tail):
        return "gdpr"
    if _AMENDING_HINT.match(tail):
        return "amending"
    if _MAIN_HINT.match(tail):
        return ""
    if _THAT_REGULATION.match(tail):
        named = _REGULATION_NUMBER.findall(text, 0, start)
        return _NUMBERED_ACTS.get(named[-1]) if named else ""
    if _OTHER_ACT.match(tail):
        return None  # a provision of another act not in the corpus
    if _GDPR_BEFORE.search(text[max(0, start - 6) : start]):
        return "gdpr"
    if _AMENDING_BEFORE.search(text[max(0, start - 40) : start]):
        return "amending"
    return ""


def find_refs(text: str) -> list[RefMention]:
    """Refs mentioned in ``text``, in order of appearance.

    >>> [m.local for m in find_refs("Art. 50 (1) and art 5(1)(f), Annex III point 5(b)")]
    ['Article 50(1)', 'Article 5(1)(f)', 'Annex III, point 5(b)']
    >>> [(m.local, m.act) for m in find_refs("What does Article 22 GDPR say? See Recital 71")]
    [('Article 22', 'gdpr'), ('Recital 71', '')]
    >>> [m.local for m in find_refs("point (f) of Article 5(1)")]
    ['Article 5(1)(f)']
    >>> [m.local for m in find_refs("Articles 113 and 111; Article 50(1) and (2)")]
    ['Article 113', 'Article 111', 'Article 50(1)', 'Article 50(2)']
    >>> [m.local for m in find_refs("Is Art. 5 (1) f a ban? Art. 5(1) a ban")]
    ['Article 5(1)(f)', 'Article 5(1)']
    >>> [(m.local, m.act) for m in find_refs("Regulation (EU) 2026/1744, Article 1, point (7)")]
    [('Article 1, point (7)', 'amending')]
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
        act = _act(text, m.start(), m.end())
        ref = _ArticleRef(m.group(2), _groups(m.group(3)), [m.group(1)], m.start(), m.end())
        add(ref.local(act or ""), act, m.start(), m.end())
    for m in _PARAGRAPH_OF.finditer(text):
        act = _act(text, m.start(), m.end())
        add(_ArticleRef(m.group(2), [m.group(1)], [], 0, 0).local(act or ""), act,
            m.start(), m.end())
    for m in _ARTICLE_HEAD.finditer(text):
        listed = _read_articles(text, m)
        # A list belongs to the act named after its last item ("Articles 5 and 6 GDPR").
        act = _act(text, listed[0].start, listed[-1].end)
        for ref in listed:
            add(ref.local(act or ""), act, ref.start, ref.end)
    for m in _RECITAL.finditer(text):
        add(f"Recital {m.group(1)}", _act(text, m.start(), m.end()), m.start(), m.end())
    for m in _ANNEX.finditer(text):
        local = f"Annex {m.group(1).upper()}"
        if m.group(2):
            local += f", Section {m.group(2).upper()}"
        if m.group(3):
            local += f", point {m.group(3)}" + (f"({m.group(4).lower()})" if m.group(4) else "")
        add(local, _act(text, m.start(), m.end()), m.start(), m.end())
    return sorted(found, key=lambda m: m.start)


def parents(local: str) -> list[str]:
    """The local ref and its ancestors, most specific first.

    >>> parents("Article 5(1)(f)")
    ['Article 5(1)(f)', 'Article 5(1)', 'Article 5']
    >>> parents("Annex III, point 5(b)")
    ['Annex III, point 5(b)', 'Annex III, point 5', 'Annex III']
    >>> parents("Article 1, point (7)(a)")
    ['Article 1, point (7)(a)', 'Article 1, point (7)', 'Article 1']
    """
    chain = [local]
    while True:
        current = chain[-1]
        if current.endswith(")") and "(" in current:
            parent = current[: current.rfind("(")].rstrip()
            # "Article 1, point (7)" (an amending act's point) is a point of "Article 1".
            chain.append(re.sub(r",?\s*points?$", "", parent))
        elif ", " in current:
            chain.append(current[: current.rfind(", ")])
        else:
            return chain


def ref_match(given: str, gold: str) -> bool:
    """Equal, or one nests the other ("Annex III, point 4" vs "Annex III, point 4(a)").

    >>> ref_match("Annex III, point 4(a)", "Annex III, point 4"), ref_match("Article 5(1)(b)",
    ...     "Article 5(1)(ba)")
    (True, False)
    """
    return given == gold or gold.startswith((given + "(", given + ",")) or given.startswith(
        (gold + "(", gold + ","))


def local_label(ref: str, doc: Document | None) -> str:
    """A ref without its document's name, for tables of contents ("para. 12").

    >>> from kb.records import Document, Kind
    >>> local_label("Guidelines C(2026) 5054, para. 12",
    ...             Document("g", "G", Kind.GUIDELINE, "g.md", "guideline_md",
    ...                      cite_as="Guidelines C(2026) 5054"))
    'para. 12'
    """
    if doc is None or not doc.cite_as:
        return ref
    return ref.removeprefix(f"{doc.cite_as}, ").removesuffix(f" {doc.cite_as}")
