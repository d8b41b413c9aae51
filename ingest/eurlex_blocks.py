"""Read EUR-Lex Official Journal XHTML into blocks: the HTML walking of ``ingest.eurlex``.

In: the HTML of one act; out: a cleaned lxml tree (no scripts, footnote markers or notes)
and, per element, its blocks in reading order: :class:`Line` (a paragraph of text),
:class:`Item` (a labelled point with its own blocks), :class:`Heading` (an annex heading)
and, once ``ingest.eurlex`` groups an annex, :class:`Section`.  Which blocks are which
provisions, and their refs, is left to ``ingest.eurlex``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree
from lxml import html as lxml_html

from kb.errors import BadDocument
from kb.records import Document

_BLOCK_TAGS = frozenset(
    ("p", "div", "table", "tbody", "thead", "tfoot", "tr", "td", "th", "ul", "ol", "li", "dl")
    + ("dt", "dd", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "section")
)
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")
# Elements that head a unit; their words are metadata (title), never part of the text.
_HEADING_CLASSES = frozenset({"oj-ti-art", "eli-title", "oj-doc-ti"})
_SPACE = re.compile(r"\s+")
# "(a)", "(iv)", "(14)", "(14a)", "1.", "3.1.": the labels of points; the German and French
# editions print "a)", "iv)" and (French definitions) "14)".
_LABEL = re.compile(
    r"^(?:\(?(?:[a-z]{1,6}|\d{1,3}[a-z]{0,3})\)|\d{1,3}(?:\.\d{1,3})*\.)$"
)
_DASH = re.compile(r"^[—–-]$")
# Text left after a block ends ("</div>;" in Article 108) belongs to the line before it.
_GLUE = re.compile(r"^[;,.:)\]]")
_PUNCT_AFTER_MARKER = re.compile(r"^[\s\u00a0]*[,.;:)\]]")


@dataclass(slots=True)
class Line:
    """A run of text: a paragraph, or a line of a cell."""

    text: str


@dataclass(slots=True)
class Heading:
    """A heading inside an annex (``oj-ti-grseq-1``): a section or a numbered point."""

    text: str
    anchor: str = ""


@dataclass(slots=True)
class Item:
    """A labelled point: "(a)", "(iv)", "(14)", "3.1." or a dash, with its content."""

    raw: str  # the label as printed: "(a)", "1.", "—"
    blocks: list = field(default_factory=list)
    anchor: str = ""

    @property
    def label(self) -> str:
        return self.raw.strip("().")

    @property
    def is_point(self) -> bool:
        return not _DASH.match(self.raw)


@dataclass(slots=True)
class Section:
    """An annex section ("Section A — ..."): its heading lines and content."""

    label: str
    title: str
    heads: list[str]
    anchor: str = ""
    blocks: list = field(default_factory=list)


def norm(text: str) -> str:
    """Runs of white space (no-break spaces too) as one space, trimmed."""
    return _SPACE.sub(" ", text.replace("\u00a0", " ")).strip()


class _Reader:
    """Turns an element into blocks: one line per paragraph, one item per labelled row."""

    def __init__(self) -> None:
        self.blocks: list = []
        self.buf: list[str] = []

    def read(self, element) -> list:
        self.walk(element)
        self.flush()
        return self.blocks

    def flush(self) -> None:
        text = norm("".join(self.buf))
        self.buf = []
        if not text:
            return
        if _GLUE.match(text) and self.blocks and _glue(self.blocks, text):
            return
        self.blocks.append(Line(text))

    def walk(self, element) -> None:
        if element.text:
            self.buf.append(element.text)
        for child in element:
            if isinstance(child.tag, str):
                self.child(child)
            if child.tail:
                self.buf.append(child.tail)

    def child(self, element) -> None:
        tag = element.tag.lower()
        classes = set((element.get("class") or "").split())
        if classes & _HEADING_CLASSES:
            return
        if tag not in _BLOCK_TAGS:
            self.walk(element)  # inline: span, a, em ...
            return
        self.flush()
        if tag == "table":
            self.blocks.extend(_table_blocks(element))
        elif "oj-enumeration-spacing" in classes:
            self.blocks.extend(_labelled(blocks_of(element)))
        elif "oj-ti-grseq-1" in classes:
            self.blocks.append(Heading(norm(element.text_content()), element.get("id", "")))
        else:
            self.walk(element)
            self.flush()


def _glue(blocks: list, text: str) -> bool:
    last = blocks[-1]
    if isinstance(last, Line):
        blocks[-1] = Line(last.text + text)
        return True
    if isinstance(last, Item) and last.blocks:
        return _glue(last.blocks, text)
    return False


def blocks_of(element) -> list:
    """The blocks of an element: lines, labelled items and annex headings."""
    return _Reader().read(element)


def _rows(table) -> Iterator:
    for row in table.iterchildren("tr", "tbody", "thead", "tfoot"):
        if row.tag == "tr":
            yield row
        else:
            yield from row.iterchildren("tr")


def _labelled(blocks: list) -> list:
    """Make an item of blocks whose first line is a lone label ("1.", "(a)", "—")."""
    first = blocks[0] if blocks else None
    if len(blocks) >= 2 and isinstance(first, Line) and _is_label(first.text):
        return [Item(first.text, blocks[1:])]
    return blocks


def _is_label(text: str) -> bool:
    return bool(_LABEL.match(text) or _DASH.match(text))


def _table_blocks(table) -> list:
    """Points are printed as one-row tables: [empty cell], label cell, content cell."""
    out: list = []
    for row in _rows(table):
        cells = [blocks_of(cell) for cell in row.iterchildren("td", "th")]
        out.extend(_labelled([block for cell in cells if cell for block in cell]))
    return out


def render(blocks: list) -> list[str]:
    """The lines of blocks, items with their labels ("(a) the placing ...")."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, (Line, Heading)):
            lines.append(block.text)
        elif isinstance(block, Item):
            inner = render(block.blocks) or [""]
            lines.append(f"{block.raw} {inner[0]}".strip())
            lines.extend(inner[1:])
        else:  # Section
            lines.extend(block.heads)
            lines.extend(render(block.blocks))
    return lines


def text_of(blocks: list) -> str:
    """The verbatim text of blocks, one line per block."""
    return "\n".join(render(blocks))


@dataclass(slots=True)
class PointList:
    """A run of points with the lines that introduce it and its subparagraph number."""

    intro: str
    subparagraph: int
    items: list[Item] = field(default_factory=list)


def point_lists(blocks: list) -> list[PointList]:
    """The lists of points among blocks; every line outside a list opens a subparagraph."""
    lists: list[PointList] = []
    run: list[str] = []
    current: PointList | None = None
    subparagraph = 0
    for block in blocks:
        if isinstance(block, Item):
            if current is None:
                current = PointList("\n".join(run), max(subparagraph, 1))
                lists.append(current)
                run = []
            if block.is_point:
                current.items.append(block)
        elif isinstance(block, (Line, Heading)):
            subparagraph += 1
            run.append(block.text)
            current = None
    return lists


# --- the document: loading and cleaning ---------------------------------------------


def load_html(html: str | bytes, doc: Document):
    """The lxml tree of an act's HTML, or BadDocument saying what is wrong with it."""
    if isinstance(html, bytes):
        try:
            html = html.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadDocument(f"{doc_name(doc)} is not UTF-8 ({error}); save it as UTF-8") from None
    # lxml refuses str input that carries an encoding declaration.
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    if not html.strip():
        raise BadDocument(f"{doc_name(doc)} is empty; download the EUR-Lex HTML again")
    try:
        return lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError) as error:
        raise BadDocument(f"{doc_name(doc)} is not readable HTML ({error})") from None


def doc_name(doc: Document) -> str:
    return f"{doc.id}: {doc.file}" if doc.file else doc.id


def clean(root) -> None:
    """Drop scripts, footnote markers and footnote texts, keeping the words around them."""
    for element in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(element)
    for element in list(root.iter(*_DROP_TAGS)):
        _drop(element)
    for marker in root.xpath('//a[starts-with(@id, "ntc")]'):
        _drop_marker(marker)
    for note in root.xpath('//*[contains(concat(" ", @class, " "), " oj-note ")]'):
        _drop(note)


def _drop(element) -> None:
    if element.getparent() is not None:
        element.drop_tree()  # keeps the tail text


def _drop_marker(marker) -> None:
    """Remove a footnote marker " (12)"; "Council (12)," becomes "Council,"."""
    tail = marker.tail or ""
    previous = marker.getprevious()
    before = (previous.tail if previous is not None else marker.getparent().text) or ""
    if _PUNCT_AFTER_MARKER.match(tail) or not tail:
        before = before.rstrip(" \t\n\u00a0")
        tail = tail.lstrip(" \t\n\u00a0")
    if previous is not None:
        previous.tail = before
    else:
        marker.getparent().text = before
    marker.tail = tail
    marker.drop_tree()


def by_id(root, prefix: str) -> list:
    """The elements whose id starts with ``prefix`` ("rct_", "art_", "anx_")."""
    return root.xpath(f'//*[starts-with(@id, "{prefix}")]')
