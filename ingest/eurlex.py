"""Parse EUR-Lex Official Journal XHTML (AI Act, GDPR) into :class:`Provision` records.

In: the HTML of one act and its manifest :class:`Document`; out: recitals, articles,
paragraphs, points, definitions and annexes in reading order, with verbatim text and
canonical refs.  The English, German and French editions share their element ids; where
their wording differs ("Artikel", "Abschnitt", „…“, « … », "a)") the document's ``language``
picks a :class:`Wording`, and refs always follow the English scheme ("Article 5(1)(a)").
Walking the HTML into lines and labelled items is ``ingest.eurlex_blocks``'s; reading files
is left to :func:`parse_file`; chunking to ``ingest.chunking``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.eurlex_blocks import (
    Heading,
    Item,
    Line,
    Section,
    blocks_of,
    by_id,
    clean,
    doc_name,
    load_html,
    norm,
    point_lists,
    text_of,
)
from kb.errors import BadDocument
from kb.law.refs import qualify
from kb.records import Document, Provision, Unit

log = logging.getLogger(__name__)

_PARAGRAPH_ID = re.compile(r"^\d{3}\.\d{3}[a-z]*$")
_CHAPTER_ID = re.compile(r"^cpt_[IVXLC]+$")
_SECTION_ID = re.compile(r"^cpt_[IVXLC]+\.sct_\d+$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,3})\.\s+(\S.*)$")


@dataclass(frozen=True, slots=True)
class Wording:
    """How one language edition of the Official Journal words its structure."""

    article: str  # the word heading an article: "Article", "Artikel"
    definitions: frozenset[str]  # title of a definitions article, lower case
    term: re.Pattern  # the quoted defined term at the start of a definition
    paragraph: re.Pattern  # the paragraph number opening a paragraph's text: "1. ", "(1) "
    annex_section: str  # the word heading an annex section: "Section", "Abschnitt"
    acronyms: frozenset[str]  # upper-case words kept in sentence-cased headings
    sentence_case: bool = True  # False where lower-casing would break nouns (German)

    def article_number(self) -> re.Pattern:
        return re.compile(rf"{self.article}\s+(\d+[a-z]*)", re.IGNORECASE)

    def section_heading(self) -> re.Pattern:
        return re.compile(rf"^{self.annex_section}\s+([A-Z0-9]{{1,3}})\b[\s.:—–-]*(.*)$")


WORDINGS = {
    "en": Wording(
        article="Article",
        definitions=frozenset({"definitions"}),
        term=re.compile(r"^[‘'“\"]([^’'”\"]+)[’'”\"]"),
        paragraph=re.compile(r"^(\d+[a-z]*)\.\s"),
        annex_section="Section",
        acronyms=frozenset({"AI", "EU", "GDPR", "TFEU"}),
    ),
    "de": Wording(
        article="Artikel",
        definitions=frozenset({"begriffsbestimmungen"}),
        term=re.compile(r"^„([^“”]+)[“”]"),  # „KI-System“
        paragraph=re.compile(r"^\((\d+[a-z]*)\)\s"),  # "(1)   Dieses ..."
        annex_section="Abschnitt",
        acronyms=frozenset({"KI", "EU", "AEUV"}),
        sentence_case=False,  # "ALLGEMEINE BESTIMMUNGEN": German nouns keep capitals
    ),
    "fr": Wording(
        article="Article",
        definitions=frozenset({"définitions"}),
        term=re.compile(r"^«\s*([^»]+?)\s*»"),  # «système d’IA»
        paragraph=re.compile(r"^(\d+[a-z]*)\.\s"),
        annex_section="Section",
        acronyms=frozenset({"IA", "UE", "TFUE", "RGPD"}),
    ),
}


def wording(doc: Document) -> Wording:
    """The wording of a document's language edition, or BadDocument naming the supported
    languages."""
    language = doc.language or "en"
    try:
        return WORDINGS[language.strip().lower()]
    except KeyError:
        valid = ", ".join(WORDINGS)
        raise BadDocument(
            f"{doc.id}: the EUR-Lex parser reads languages {valid}, not {language!r}"
        ) from None


# --- emitting provisions ---------------------------------------------------------------


class _Out:
    """Collects provisions, numbering them in reading order and qualifying their refs."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.wording = wording(doc)
        self.provisions: list[Provision] = []
        self.refs: set[str] = set()

    def ref(self, local: str) -> str:
        return qualify(local, self.doc) if local else ""

    def add(self, local: str, unit: Unit, text: str, *, parent: str = "", **fields) -> None:
        ref = self.ref(local)
        if ref in self.refs:
            raise BadDocument(f"{doc_name(self.doc)}: two provisions are labelled {ref!r}")
        self.refs.add(ref)
        anchor = fields.get("anchor", "")
        url = f"{self.doc.url}#{anchor}" if self.doc.url and anchor else self.doc.url
        self.provisions.append(
            Provision(
                doc_id=self.doc.id,
                ref=ref,
                unit=unit,
                text=text,
                url=url,
                parent=self.ref(parent),
                order=len(self.provisions),
                **fields,
            )
        )


@dataclass(frozen=True, slots=True)
class _Where:
    """Where points sit: the enclosing provision and the fields its points inherit."""

    local: str  # local ref of the enclosing provision
    unit: Unit
    depth: int = 0  # 0 = directly in a paragraph / unnumbered article / annex
    fields: dict = field(default_factory=dict)
    annex_base: str = ""  # "Annex III" or "Annex VIII, Section A" for annex points
    definitions: bool = False


def _emit_points(out: _Out, blocks: list, where: _Where) -> None:
    used: set[str] = set()
    for group in point_lists(blocks):
        labels = {item.label for item in group.items}
        # A second list reusing labels (Article 43(1)) is cited by its subparagraph.
        subparagraph = group.subparagraph if labels & used else 0
        used |= labels
        for item in group.items:
            _emit_point(out, item, where, intro=group.intro, subparagraph=subparagraph)


def _emit_point(out: _Out, item: Item, where: _Where, *, intro: str, subparagraph: int) -> None:
    local, fields = _point_ref(item, where, subparagraph)
    unit = Unit.DEFINITION if where.definitions and where.depth == 0 else where.unit
    text = text_of(item.blocks)
    fields = {**where.fields, **fields, "anchor": item.anchor or where.fields.get("anchor", "")}
    term = _term(text, out.wording) if unit == Unit.DEFINITION else ""
    out.add(local, unit, text, parent=where.local, intro=intro, term=term, **fields)
    child = replace(where, local=local, depth=where.depth + 1, fields=fields)
    _emit_points(out, item.blocks, child)


def _point_ref(item: Item, where: _Where, subparagraph: int) -> tuple[str, dict]:
    """The local ref of a point and the fields it sets (point, subpoint)."""
    label = item.label
    numeric = label[0].isdigit()
    annex_level = bool(where.annex_base) and (numeric or where.depth == 0)
    base = where.annex_base if annex_level else where.local
    if subparagraph:
        local = f"{base}, {_ordinal(subparagraph)} subparagraph, point ({label})"
    elif annex_level:
        # Annex points are numbered absolutely ("point 3.1" under "point 3").
        local = f"{base}, point {label if numeric else f'({label})'}"
    else:
        local = f"{base}({label})"
    if annex_level or where.depth == 0:
        return local, {"point": label, "subpoint": None}
    if where.fields.get("subpoint") is None:
        return local, {"subpoint": label}
    return local, {}  # a third level (Article 3(61)(a)(i)) has no field of its own


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _ordinal(n: int) -> str:
    """The ordinal word used in citations ("second subparagraph").

    >>> _ordinal(2), _ordinal(12)
    ('second', '12th')
    """
    return _ORDINALS[n - 1] if 1 <= n <= len(_ORDINALS) else f"{n}th"


def _term(text: str, words: Wording) -> str:
    match = words.term.match(text)
    return match.group(1).strip() if match else ""


# --- recitals --------------------------------------------------------------------------


def _recitals(root, out: _Out) -> int:
    count = 0
    for element in by_id(root, "rct_"):
        number = element.get("id").removeprefix("rct_")
        if not number.isdigit():
            continue
        blocks = blocks_of(element)
        if len(blocks) == 1 and isinstance(blocks[0], Item):
            blocks = blocks[0].blocks  # drop the "(12)" label column
        out.add(
            f"Recital {number}",
            Unit.RECITAL,
            text_of(blocks),
            recital=number,
            anchor=element.get("id"),
        )
        count += 1
    return count


# --- articles --------------------------------------------------------------------------


def _articles(root, out: _Out) -> int:
    headings: dict[str, str] = {}
    count = 0
    for element in by_id(root, "art_"):
        if "." in element.get("id"):
            continue
        chapter = _heading(element, _CHAPTER_ID, headings, out.wording)
        section = _heading(element, _SECTION_ID, headings, out.wording)
        _article(element, out, chapter=chapter, section=section)
        count += 1
    return count


def _heading(element, pattern: re.Pattern, cache: dict[str, str], words: Wording) -> str:
    """ "Chapter IV — Transparency obligations ..." for the chapter/section around element."""
    for ancestor in element.iterancestors("div"):
        key = ancestor.get("id") or ""
        if pattern.match(key):
            if key not in cache:
                cache[key] = _format_heading(ancestor, words)
            return cache[key]
    return ""


def _format_heading(container, words: Wording) -> str:
    label = container.xpath('./p[contains(@class, "oj-ti-section-1")]')
    title = container.xpath('./div[contains(@class, "eli-title")]')
    label_text = _label_case(norm(label[0].text_content())) if label else ""
    title_text = norm(title[0].text_content()) if title else ""
    if words.sentence_case:
        title_text = _sentence_case(title_text, words.acronyms)
    return " — ".join(part for part in (label_text, title_text) if part)


def _label_case(label: str) -> str:
    """ "CHAPTER IV" -> "Chapter IV"."""
    word, _, rest = label.partition(" ")
    return f"{word.capitalize()} {rest}".strip()


_LETTERS = re.compile(r"[^\W\d_]+")


def _sentence_case(title: str, acronyms: frozenset[str]) -> str:
    """ "PROHIBITED AI PRACTICES" -> "Prohibited AI practices"; mixed case is kept.

    >>> _sentence_case("SYSTÈMES D’IA À HAUT RISQUE", frozenset({"IA"}))
    'Systèmes d’IA à haut risque'
    """
    if not title.isupper():
        return title
    text = _LETTERS.sub(lambda m: m.group(0) if m.group(0) in acronyms else m.group(0).lower(),
                        title)
    return text[:1].upper() + text[1:]


def _article(element, out: _Out, *, chapter: str, section: str) -> None:
    number = _article_number(element, out.wording)
    titles = element.xpath('./div[contains(@class, "eli-title")]')
    title = norm(titles[0].text_content()) if titles else ""
    local = f"Article {number}"
    base = {"article": number, "title": title, "chapter": chapter, "section": section}
    blocks = blocks_of(element)
    out.add(local, Unit.ARTICLE, text_of(blocks), anchor=element.get("id"), **base)
    paragraphs = [c for c in element.iterchildren("div") if _PARAGRAPH_ID.match(c.get("id") or "")]
    if not paragraphs:
        definitions = title.lower() in out.wording.definitions
        where = _Where(
            local,
            Unit.ARTICLE,
            fields={**base, "anchor": element.get("id")},
            definitions=definitions,
        )
        _emit_points(out, blocks, where)
    for paragraph in paragraphs:
        _paragraph(paragraph, out, local, base)


def _article_number(element, words: Wording) -> str:
    heading = element.xpath('./p[contains(@class, "oj-ti-art")]')
    match = words.article_number().search(heading[0].text_content()) if heading else None
    return match.group(1) if match else element.get("id").removeprefix("art_")


def _paragraph(element, out: _Out, article_local: str, base: dict) -> None:
    blocks = blocks_of(element)
    text = text_of(blocks)
    number_at_start = out.wording.paragraph
    match = number_at_start.match(text)
    number = match.group(1) if match else str(int(element.get("id").split(".")[1]))
    local = f"{article_local}({number})"
    anchor = element.get("id")
    out.add(
        local, Unit.ARTICLE, text, parent=article_local, paragraph=number, anchor=anchor, **base
    )
    if blocks and isinstance(blocks[0], Line):
        # The intro of the paragraph's points is its opening words, without "1. ".
        blocks = [Line(number_at_start.sub("", blocks[0].text, count=1)), *blocks[1:]]
    fields = {**base, "paragraph": number, "anchor": anchor}
    _emit_points(out, blocks, _Where(local, Unit.ARTICLE, fields=fields))


# --- annexes ---------------------------------------------------------------------------


def _annexes(root, out: _Out) -> int:
    count = 0
    for element in by_id(root, "anx_"):
        if "." not in element.get("id"):
            _annex(element, out)
            count += 1
    return count


def _annex(element, out: _Out) -> None:
    number = element.get("id").removeprefix("anx_")
    titles = element.xpath('./p[contains(@class, "oj-doc-ti")]')
    title = " ".join(norm(t.text_content()) for t in titles[1:])
    local = f"Annex {number}"
    anchor = element.get("id")
    blocks = _structure(blocks_of(element), out.wording)
    out.add(local, Unit.ANNEX, text_of(blocks), title=title, annex=number, anchor=anchor)
    fields = {"annex": number, "title": title, "anchor": anchor}
    where = _Where(local, Unit.ANNEX, fields=fields, annex_base=local)
    run: list = []
    for block in [*blocks, None]:  # None flushes the last run of points
        if isinstance(block, Section) or block is None:
            _emit_points(out, run, where)
            run = []
            if block is not None:
                _annex_section(block, out, where)
        else:
            run.append(block)


def _annex_section(section: Section, out: _Out, annex: _Where) -> None:
    local = f"{annex.local}, Section {section.label}"
    name = f"Section {section.label}" + (f" — {section.title}" if section.title else "")
    anchor = section.anchor or annex.fields["anchor"]
    fields = {**annex.fields, "section": name, "anchor": anchor}
    out.add(
        local,
        Unit.ANNEX,
        text_of(section.blocks),
        parent=annex.local,
        **{**fields, "title": section.title or annex.fields["title"]},
    )
    _emit_points(out, section.blocks, replace(annex, local=local, fields=fields, annex_base=local))


def _structure(blocks: list, words: Wording) -> list:
    """Group an annex's flat blocks under its section and numbered-point headings."""
    out: list = []
    target = out  # where the next blocks go: the annex, a section or a headed point
    section: Section | None = None
    for block in blocks:
        if not isinstance(block, Heading):
            target.append(block)
            continue
        sect = words.section_heading().match(block.text)
        numbered = _NUMBERED_HEADING.match(block.text)
        if sect:
            section = Section(sect.group(1), sect.group(2), [block.text], block.anchor)
            out.append(section)
            target = section.blocks
        elif numbered:
            item = Item(f"{numbered.group(1)}.", [Line(numbered.group(2))], block.anchor)
            (section.blocks if section else out).append(item)
            target = item.blocks
        elif section is not None and not section.title and not section.blocks:
            section.title = block.text  # "Section 1" followed by its title line
            section.heads.append(block.text)
        else:
            target.append(Line(block.text))
    return out


# --- public API ------------------------------------------------------------------------


def parse_eurlex(html: str | bytes, doc: Document) -> list[Provision]:
    """Recitals, articles (with paragraphs, points, definitions) and annexes of an OJ act.

    Raises :class:`BadDocument` when the HTML holds no recitals or articles.
    """
    root = load_html(html, doc)
    clean(root)
    out = _Out(doc)
    recitals = _recitals(root, out)
    articles = _articles(root, out)
    if not recitals and not articles:
        raise BadDocument(
            f"{doc_name(doc)} has no recitals or articles (no rct_N/art_N ids); "
            "use the EUR-Lex HTML of the Official Journal text"
        )
    annexes = _annexes(root, out)
    log.info(
        "%s: %d recitals, %d articles, %d annexes, %d provisions",
        doc.id,
        recitals,
        articles,
        annexes,
        len(out.provisions),
    )
    return out.provisions


def parse_file(path: Path, doc: Document) -> list[Provision]:
    """Read ``path`` and parse it with :func:`parse_eurlex`."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise BadDocument(
            f"{doc.id}: cannot read {path}: {error.strerror}; check the manifest 'file'"
        ) from None
    return parse_eurlex(data, doc)
