"""Parse Formex 4 XML (Official Journal) into :class:`Provision` records and render its text.

In: a Formex act (an amending regulation such as 2026/1744) and its manifest
:class:`Document`; out: its recitals, articles, their numbered points and sub-points and the
annexes it includes, with verbatim text and canonical refs.  :func:`formex_text` renders any
Formex fragment with the text rules of ``ingest.eurlex``; applying amendments is left to
``ingest.consolidate``.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from kb.errors import BadDocument
from kb.law.refs import qualify
from kb.records import Document, Provision, Unit
from kb.text import normalise_space

log = logging.getLogger(__name__)

# QUOT.START / QUOT.END code points (Formex CODE attribute, hexadecimal Unicode).
QUOTES = {"2018": "‘", "2019": "’", "201C": "“", "201D": "”", "00AB": "«", "00BB": "»"}
# Inside an amending act's quoted block the double quotes stand for the single quotes the
# amended act prints (the consolidated text has 2018/2019 where the amending act has 201C/201D).
_NESTED = {"201C": "‘", "201D": "’"}
_SKIP = frozenset({"NOTE", "BIB.INSTANCE", "INCLUSIONS", "INCL.ELEMENT", "NO.PARAG", "NO.P"})
_BLOCKS = frozenset({
    "ACT", "ANNEX", "ARTICLE", "ALINEA", "CONTENTS", "CONSID", "GR.CONSID", "GR.CONSID.INIT",
    "GR.SEQ", "GR.VISA", "ITEM", "LIST", "NP", "P", "PARAG", "PREAMBLE", "PREAMBLE.INIT",
    "PREAMBLE.FINAL", "QUOT.S", "STI.ART", "TI", "TI.ART", "TITLE", "TBL", "CORPUS", "ROW",
    "VISA", "ENACTING.TERMS", "FINAL", "SIGNATURE", "PL.DATE", "DIVISION",
})
# Text left after a block ("’;" after a quoted paragraph) belongs to the line before it.
_GLUE = re.compile(r"^[;,.:)\]’”]")
_LABEL_CHARS = "‘’“”«» "
_ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
)


# --- reading ---------------------------------------------------------------------------


def _parser() -> ET.XMLParser:
    # Keep processing instructions: consolidated Formex marks amendments with them.
    return ET.XMLParser(target=ET.TreeBuilder(insert_pis=True))


def read_formex(path: Path) -> ET.Element:
    """The root element of a Formex file, or BadDocument saying why it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise BadDocument(
            f"cannot read {path}: {error.strerror}; check the manifest 'file'") from None
    return parse_xml(data, name=Path(path).name)


def parse_xml(data: bytes | str, *, name: str = "Formex document") -> ET.Element:
    """Parse Formex XML from bytes or text (BadDocument when empty or not XML)."""
    if not (data.strip() if isinstance(data, (bytes, str)) else data):
        raise BadDocument(f"{name} is empty; download the Formex file again")
    parser = _parser()
    try:
        parser.feed(data)
        return parser.close()
    except ET.ParseError as error:
        raise BadDocument(f"{name} is not well-formed XML ({error}); expected Formex 4") from None


def parse_fragment(xml: str) -> list[ET.Element]:
    """The top-level nodes of a Formex fragment, processing instructions included.

    Consolidated-text extracts may have several top-level elements and instructions, so
    they are wrapped in a dummy root first.
    """
    xml = re.sub(r"^\s*<\?xml[^>]*\?>", "", xml)
    return list(parse_xml(f"<FRAGMENT>{xml}</FRAGMENT>", name="Formex fragment"))


def is_pi(node: ET.Element) -> bool:
    return node.tag is ET.ProcessingInstruction


def pi_attributes(node: ET.Element) -> tuple[str, dict[str, str]]:
    """Target and pseudo-attributes of a processing instruction.

    >>> pi = parse_fragment('<?CLG.MDFO ID="O1" ACTION="DELETED"?>')[0]
    >>> pi_attributes(pi)
    ('CLG.MDFO', {'ID': 'O1', 'ACTION': 'DELETED'})
    """
    target, _, rest = (node.text or "").partition(" ")
    return target, dict(re.findall(r'([\w.]+)="([^"]*)"', rest))


# --- rendering -------------------------------------------------------------------------


class _Lines:
    """Renders Formex as lines: one per paragraph, point, subparagraph, heading or table row.

    ``headings`` keeps article numbers and titles inside quoted blocks (the amending act's
    own wording); ``skip`` holds QUOT.START/QUOT.END ids to drop; ``quotes`` maps CODEs.
    """

    def __init__(self, *, quotes: dict[str, str], skip: frozenset[str], headings: bool) -> None:
        self.quotes = quotes
        self.skip = skip
        self.headings = headings
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.quoted = 0  # depth of QUOT.S blocks around the current element

    def sub(self) -> _Lines:
        lines = _Lines(quotes=self.quotes, skip=self.skip, headings=self.headings)
        lines.quoted = self.quoted
        return lines

    def flush(self) -> None:
        text = normalise_space("".join(self.buf).replace("\n", " "))
        self.buf = []
        if not text:
            return
        if self.lines and _GLUE.match(text):
            self.lines[-1] += text
        else:
            self.lines.append(text)

    def read(self, element: ET.Element, *, top: bool = True) -> list[str]:
        if top:
            self.block(element, top=True)
        else:
            self.walk(element)
        self.flush()
        return self.lines

    def walk(self, element: ET.Element) -> None:
        if element.text and not is_pi(element):
            self.buf.append(element.text)
        for child in element:
            if not is_pi(child) and child.tag is not ET.Comment:
                self.child(child)
            tail = child.tail or ""
            if child.tag == "QUOT.END" and child.get("ID") in self.skip and not tail.strip(".;,"):
                tail = tail.strip(".;,")  # the amending act's own full stop after its quote
            if tail:
                self.buf.append(tail)

    def child(self, element: ET.Element) -> None:
        tag = element.tag
        if tag in ("QUOT.START", "QUOT.END"):
            if element.get("ID") not in self.skip:
                self.buf.append(self.quotes.get(element.get("CODE", ""), ""))
            return
        if tag in _SKIP:
            return
        if tag not in _BLOCKS:
            self.walk(element)  # inline: DATE, HT, FT, REF.DOC, TXT, LINK ...
            return
        self.flush()
        self.block(element, top=False)
        self.flush()

    def block(self, element: ET.Element, *, top: bool) -> None:
        tag = element.tag
        if tag in ("TI.ART", "STI.ART"):
            # An article's own number and title are metadata; quoted ones are wording.
            if self.headings and self.quoted:
                self.walk(element)
        elif tag == "PARAG":
            self.labelled(element, "NO.PARAG", label=True)
        elif tag in ("ITEM", "NP"):
            # A point read on its own is its own text, without its label (the text rules).
            self.labelled(element, "NO.P", label=not top)
        elif tag == "ROW":
            cells = [self.sub().read(cell, top=False) for cell in element.iter("CELL")]
            text = " | ".join(" ".join(c) for c in cells if c)
            if text:
                self.lines.append(text)
        elif tag == "QUOT.S":
            self.quoted += 1
            self.walk(element)
            self.flush()
            self.quoted -= 1
        else:
            self.walk(element)

    def labelled(self, element: ET.Element, label_tag: str, *, label: bool = True) -> None:
        """A paragraph ("1. ...") or point ("(a) ..."): its content with the label in front."""
        number = element.find(label_tag)
        if element.tag == "ITEM" and number is None:
            np = element.find("NP")
            if np is not None:
                self.labelled(np, "NO.P", label=label)
                return
        inner = self.sub()
        inner.walk(element)
        inner.flush()
        lines = inner.lines
        prefix = self.sub().read(number, top=False) if number is not None else []
        if prefix and label:
            head = prefix[0]
            lines = [f"{head} {lines[0]}" if lines else head, *lines[1:]]
        self.lines.extend(lines)


def render_lines(
    element: ET.Element,
    *,
    quoted_in: ET.Element | None = None,
    headings: bool = False,
) -> list[str]:
    """The lines of ``element`` (see :func:`formex_text`)."""
    quotes = dict(QUOTES)
    skip: frozenset[str] = frozenset()
    if quoted_in is not None:
        quotes.update(_NESTED)
        skip = _outer_quotes(quoted_in)
    return _Lines(quotes=quotes, skip=skip, headings=headings).read(element)


def formex_text(element: ET.Element, *, quoted_in: ET.Element | None = None) -> str:
    """The text of a Formex element under the knowledge base's text rules.

    Same conventions as ``ingest.eurlex``: an article is its paragraphs joined by newlines,
    each numbered paragraph starting with its number ("1. "); a paragraph's points follow as
    "(a) text" lines, sub-points as "(i) text" lines; a point rendered on its own has no
    label.  Titles (TI.ART, STI.ART) and footnotes (NOTE) are left out, QUOT.START/QUOT.END
    become ‘ ’ or “ ” per CODE and no-break spaces become spaces.  With ``quoted_in`` (the
    QUOT.S block of an amending act that holds ``element``) the outer quotation marks are
    dropped and nested double quotes become single ones, as in the amended act.
    """
    return "\n".join(render_lines(element, quoted_in=quoted_in))


def inline_text(element: ET.Element, *, quoted_in: ET.Element | None = None) -> str:
    """The words of an element on one line (headings, labels, titles)."""
    quotes = {**QUOTES, **_NESTED} if quoted_in is not None else QUOTES
    skip = _outer_quotes(quoted_in) if quoted_in is not None else frozenset()
    lines = _Lines(quotes=quotes, skip=skip, headings=True).read(element, top=False)
    return " ".join(lines)


def _outer_quotes(quot_s: ET.Element) -> frozenset[str]:
    """Ids of the quotation marks that open and close a QUOT.S block."""
    starts = [e for e in quot_s.iter("QUOT.START")]
    if not starts:
        return frozenset()
    first = starts[0]
    return frozenset({first.get("ID", ""), first.get("REF.END", "")} - {""})


def label_of(element: ET.Element | None) -> str:
    """A label without quotes, brackets or final full stop: "‘(14a)" -> "14a", "1a." -> "1a"."""
    if element is None:
        return ""
    text = "".join(element.itertext()).strip(_LABEL_CHARS)
    return text.strip("()").rstrip(".").strip("()")


def identifier_label(identifier: str) -> str:
    """Article or paragraph number from a Formex IDENTIFIER.

    >>> identifier_label("004A"), identifier_label("005.001B")
    ('4a', '1b')
    """
    last = identifier.split(".")[-1]
    match = re.match(r"0*(\d+)([A-Za-z]*)$", last)
    return f"{match.group(1)}{match.group(2).lower()}" if match else last.lower()


def ordinal(word: str) -> int:
    """ "third" -> 3 (1-based), ValueError for anything else."""
    try:
        return _ORDINALS.index(word.lower()) + 1
    except ValueError:
        raise ValueError(f"not an ordinal word: {word!r}") from None


# --- the act as a citable document -----------------------------------------------------


class _Out:
    """Collects provisions in reading order with qualified refs and deep links."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.provisions: list[Provision] = []

    def add(self, local: str, unit: Unit, text: str, *, parent: str = "", anchor: str = "",
            **fields) -> None:
        url = f"{self.doc.url}#{anchor}" if self.doc.url and anchor else self.doc.url
        self.provisions.append(Provision(
            doc_id=self.doc.id, ref=qualify(local, self.doc), unit=unit, text=text,
            anchor=anchor, url=url, parent=qualify(parent, self.doc) if parent else "",
            order=len(self.provisions), **fields,
        ))


def _recitals(root: ET.Element, out: _Out) -> int:
    count = 0
    for consid in root.iter("CONSID"):
        np = consid.find("NP")
        number = label_of(np.find("NO.P")) if np is not None else ""
        if not number:
            continue
        text = "\n".join(_Lines(quotes=QUOTES, skip=frozenset(), headings=True)
                         .read(np.find("TXT") if np.find("TXT") is not None else np, top=False))
        out.add(f"Recital {number}", Unit.RECITAL, text, recital=number, anchor=f"rct_{number}")
        count += 1
    return count


def _own_lines(element: ET.Element, *, label: bool) -> list[str]:
    lines = _Lines(quotes=QUOTES, skip=frozenset(), headings=True)
    lines.block(element, top=not label)
    lines.flush()
    return lines.lines


def _article(article: ET.Element, out: _Out) -> None:
    number = identifier_label(article.get("IDENTIFIER", "")) or label_of(article.find("TI.ART"))
    number = re.sub(r"^Article\s+", "", number)
    title_el = article.find("STI.ART")
    title = inline_text(title_el) if title_el is not None else ""
    local = f"Article {number}"
    anchor = f"art_{number}"
    text = "\n".join(_own_lines(article, label=False))
    out.add(local, Unit.ARTICLE, text, title=title, article=number, anchor=anchor)
    fields = {"title": title, "article": number}
    paragraphs = article.findall("PARAG")
    for parag in paragraphs:
        par = label_of(parag.find("NO.PARAG"))
        par_local = f"{local}({par})"
        out.add(par_local, Unit.ARTICLE, "\n".join(_own_lines(parag, label=True)),
                parent=local, paragraph=par, anchor=anchor, **fields)
        _points(parag, out, f"{par_local}, point", par_local, anchor, {**fields, "paragraph": par})
    if not paragraphs:
        _points(article, out, f"{local}, point", local, anchor, fields)


def _points(container: ET.Element, out: _Out, base: str, parent: str, anchor: str,
            fields: dict) -> None:
    """The numbered points of an amending act's article: "Article 1, point (7)" and "(7)(a)"."""
    for item, intro in _list_items(container):
        label = label_of(item.find("NP/NO.P"))
        if not re.fullmatch(r"\w+", label):
            continue  # dash items are words of the point above, not citable points
        local = f"{base} ({label})"
        np = item.find("NP")
        out.add(local, Unit.ARTICLE, "\n".join(_own_lines(item, label=False)), parent=parent,
                point=label, intro=intro, anchor=anchor, **fields)
        for sub, sub_intro in _list_items(np):
            sub_label = label_of(sub.find("NP/NO.P"))
            if re.fullmatch(r"\w+", sub_label):
                out.add(f"{local}({sub_label})", Unit.ARTICLE,
                        "\n".join(_own_lines(sub, label=False)), parent=local, point=label,
                        subpoint=sub_label, intro=sub_intro, anchor=anchor, **fields)


def _list_items(container: ET.Element) -> Iterator[tuple[ET.Element, str]]:
    """The ITEMs of the first-level LISTs in ``container`` (outside quoted blocks), with the
    words that introduce their list."""
    intro = ""
    for node in _walk_outside_quotes(container):
        if node.tag == "LIST":
            for item in node.findall("ITEM"):
                yield item, intro
        elif node.tag in ("TXT",):
            intro = inline_text(node)
        elif node.tag == "P":
            intro = inline_text(node) or intro


def _walk_outside_quotes(element: ET.Element) -> Iterator[ET.Element]:
    """Descendants of ``element`` in document order, not entering QUOT.S, LIST or ITEM."""
    for child in element:
        if is_pi(child) or child.tag in ("QUOT.S", "NO.P", "NO.PARAG"):
            continue
        if child.tag == "LIST":
            yield child
            continue
        if child.tag == "P" and child.find("LIST") is not None:
            yield from _walk_outside_quotes(child)
            continue
        yield child
        if child.tag in ("ALINEA", "NP"):
            yield from _walk_outside_quotes(child)


def annex_parts(
    root: ET.Element, *, quoted: bool = False
) -> tuple[str, str, list[str], list[tuple[str, list[str]]]]:
    """Number, title, lines and numbered parts ("1", its lines) of a Formex ANNEX.

    The title is the annex's first line of contents (the Formex TITLE holds only "Annex
    XIV").  A part's lines start with its heading words, like an annex point of the HTML
    parser.  ``quoted``: the annex is quoted by an amending act, so its outer quotation
    marks are dropped.
    """
    title_el = root.find("TITLE")
    heading = inline_text(title_el).strip(_LABEL_CHARS) if title_el is not None else ""
    match = re.search(r"Annex\s+([IVXLC]+)\b", heading, re.IGNORECASE)
    number = match.group(1).upper() if match else ""
    contents = root.find("CONTENTS")
    if contents is None:
        return number, "", [], []
    quotes = {**QUOTES, **_NESTED} if quoted else QUOTES
    skip = _outer_quotes(root) if quoted else frozenset()

    def lines_of(element: ET.Element) -> list[str]:
        return _Lines(quotes=quotes, skip=skip, headings=True).read(element, top=False)

    first = contents[0] if len(contents) else None
    title = " ".join(lines_of(first)) if first is not None and first.tag == "P" else ""
    parts: list[tuple[str, list[str]]] = []
    for seq in contents.findall("GR.SEQ"):
        point = label_of(seq.find("TITLE/TI/NP/NO.P"))
        seq_lines = lines_of(seq)
        if point and seq_lines:
            seq_lines[0] = re.sub(rf"^{re.escape(point)}\.\s*", "", seq_lines[0])
            parts.append((point, seq_lines))
    return number, title, lines_of(contents), parts


def _annex(root: ET.Element, out: _Out) -> None:
    """An included annex ("Annex XIV"): the whole annex and its numbered parts."""
    number, title, lines, parts = annex_parts(root)
    if not lines:
        return
    local = f"Annex {number}".strip()
    out.add(local, Unit.ANNEX, "\n".join(lines), title=title, annex=number or None)
    for point, part_lines in parts:
        out.add(f"{local}, point {point}", Unit.ANNEX, "\n".join(part_lines), parent=local,
                title=title, annex=number or None, point=point)


def included_files(root: ET.Element, path: Path) -> list[Path]:
    """The files an act includes (its annexes), resolved next to ``path``."""
    return [path.parent / incl.get("FILEREF", "")
            for incl in root.iter("INCL.ELEMENT") if incl.get("FILEREF")]


def parse_formex(path: Path, doc: Document) -> list[Provision]:
    """Recitals, articles (with their points and sub-points) and included annexes of an act.

    Raises :class:`BadDocument` for a missing, empty or non-XML file, an included annex file
    that is missing, or an act without articles.
    """
    path = Path(path)
    root = read_formex(path)
    terms = root.find("ENACTING.TERMS")
    articles = terms.findall("ARTICLE") if terms is not None else []
    if not articles:
        raise BadDocument(
            f"{path.name} has no ENACTING.TERMS/ARTICLE; use the Formex file of the act itself "
            "(*.000101.fmx.xml), not its .doc/.toc metadata or an annex"
        )
    out = _Out(doc)
    recitals = _recitals(root, out)
    for article in articles:
        _article(article, out)
    seen: set[str] = set()
    for annex_path in included_files(root, path):
        if annex_path.name in seen:
            continue
        seen.add(annex_path.name)
        if not annex_path.is_file():
            raise BadDocument(f"{path.name} includes {annex_path.name}, which is missing; "
                              "put the act's annex files next to it")
        annex_root = read_formex(annex_path)
        if annex_root.tag == "ANNEX":
            _annex(annex_root, out)
    log.info("%s: %d recitals, %d articles, %d provisions",
             doc.id, recitals, len(articles), len(out.provisions))
    return out.provisions
