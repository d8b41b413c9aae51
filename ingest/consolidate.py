"""Apply an amending act to the provisions of the act it amends: versioned, consolidated law.

In: the amending act's Formex (its instructions "point (g) is replaced by the following:",
"the following Article is inserted:", "paragraph 5 is deleted;", ...) and the provisions of
the amended act (``ingest.eurlex``); out: every version of every provision, with the dates
each wording applies from and until.  Anything not understood is reported, never skipped.
Application dates of the amended rules are left to ``kb.law.dates``.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date as _Date
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from ingest.formex import (
    annex_parts,
    formex_text,
    identifier_label,
    inline_text,
    is_pi,
    label_of,
    ordinal,
    read_formex,
)
from kb.errors import BadAmendment, BadDocument
from kb.index.catalog import in_force
from kb.records import Document, Provision, Unit

log = logging.getLogger(__name__)


class Operation(StrEnum):
    """What an amending instruction does to its target."""

    REPLACE = "replace"  # "... is replaced by the following:" (also "amended as follows:" + text)
    INSERT = "insert"  # "the following ... is inserted:"
    ADD = "add"  # "the following ... is added:"
    DELETE = "delete"  # "... is deleted"


@dataclass(frozen=True)
class Instruction:
    """One amending instruction: a point ("7") or sub-point ("7(a)") of the amending article.

    ``targets`` are refs of the amended act in the canonical scheme: the provisions replaced
    or deleted, or the new provisions inserted/added (into ``container``, "" for the act
    itself).  ``part`` narrows a change to part of the target: "heading", "introductory
    part", "subparagraph 2", or "subparagraph" for an added one; ``new`` then holds that part
    as the target's text.  ``new`` holds the new provisions (doc_id is filled in when they
    are applied).  An instruction that could not be read has ``operation`` None and an
    ``error``.
    """

    point: str
    targets: tuple[str, ...]
    operation: Operation | None
    new: list[Provision] = field(default_factory=list)
    source: str = ""  # "Regulation (EU) 2026/1744, Article 1, point (7)(a)"
    url: str = ""  # deep link to the amending point
    container: str = ""
    part: str = ""
    wording: str = ""  # the instruction's own words: "paragraph 5 is deleted"
    error: str = ""


@dataclass(frozen=True)
class Consolidation:
    """The amended act: every version of every provision, and what was (not) applied."""

    provisions: list[Provision]
    applied: list[str]  # top-level points whose instructions were all applied
    failed: list[tuple[str, str]]  # (point, reason)


# --- reading the instructions ----------------------------------------------------------

_VERBS = (
    (re.compile(r"^(.*?),?\s*\bthe following (\w+) (?:is|are) (inserted|added)$"), None),
    (re.compile(r"^(.*?)\s+(?:is|are) replaced by the following$"), Operation.REPLACE),
    (re.compile(r"^(.*?)\s+(?:is|are) amended as follows$"), "amend"),
    (re.compile(r"^(.*?)\s+(?:is|are) deleted$"), Operation.DELETE),
)
_LABELS = r"(?:\(\w+\)|\d+[a-z]*)"
_TOKENS = re.compile(
    r"\bArticles? (?P<article>\d+[a-z]*)(?P<parens>(?:\(\w+\))*)"
    r"|\bAnnex (?P<annex>[IVXLC]+)\b"
    r"|\b[Ss]ection (?P<section>[A-Z0-9]+)\b"
    r"|\bparagraphs? (?P<paragraphs>\d+[a-z]*(?:(?:,\s*|\s+and\s+)\d+[a-z]*)*)"
    rf"|\bpoints? (?P<points>{_LABELS}(?:(?:,\s*|\s+and\s+){_LABELS})*)"
    r"|\bthe (?P<sub>\w+) subparagraph\b"
    r"|\bthe (?P<unnumbered>\w+) paragraph\b"
    r"|\bthe (?P<intro>introductory (?:part|wording|words|sentence))\b"
    r"|\bthe (?P<heading>heading|title)\b"
)
_FILLER = re.compile(r"\b(?:in|the|of|and|thereof)\b|[,;:]")
_KINDS = {
    "article": "article", "articles": "article", "annex": "annex", "annexes": "annex",
    "paragraph": "paragraph", "paragraphs": "paragraph", "point": "point", "points": "point",
    "subparagraph": "subparagraph", "subparagraphs": "subparagraph",
}
_AMENDED = re.compile(r"^(.+?) is amended as follows:?$")


@dataclass(frozen=True)
class _Loc:
    """Where an instruction points in the amended act, as its words build it up."""

    article: str | None = None
    paragraph: str | None = None
    points: tuple[str, ...] = ()
    annex: str | None = None
    section: str | None = None
    subparagraph: int | None = None
    part: str = ""
    alternatives: tuple[str, ...] = ()  # "paragraphs 2 and 3": the last level's labels
    last: str = ""  # the level named last: article, paragraph, point, annex, section ...

    def ref(self) -> str:
        """The canonical ref of the provision named (without part or subparagraph)."""
        if self.annex:
            ref = f"Annex {self.annex}"
            if self.section:
                ref += f", Section {self.section}"
            if self.points:
                ref += f", point {self.points[0]}" + "".join(f"({p})" for p in self.points[1:])
            return ref
        if self.article:
            ref = f"Article {self.article}"
            if self.paragraph:
                ref += f"({self.paragraph})"
            return ref + "".join(f"({p})" for p in self.points)
        return ""

    def each(self) -> list[_Loc]:
        """One location per alternative ("paragraphs 2 and 3" names two)."""
        if len(self.alternatives) < 2:
            return [self]
        if self.last == "paragraph":
            return [replace(self, paragraph=a, alternatives=()) for a in self.alternatives]
        if self.last == "point":
            return [replace(self, points=(*self.points[:-1], a), alternatives=())
                    for a in self.alternatives]
        return [self]

    def up(self) -> _Loc:
        """The enclosing provision of the one named."""
        if self.points:
            return replace(self, points=self.points[:-1], alternatives=(), last="")
        if self.annex:
            return replace(self, section=None, alternatives=(), last="")
        if self.paragraph:
            return replace(self, paragraph=None, alternatives=(), last="")
        return _Loc()


def _locate(words: str, loc: _Loc) -> _Loc:
    """The location named by ``words`` ("in Article 1(2), point (g)"), within ``loc``.

    Raises ValueError for words it cannot place ("the second sentence", "the words ‘x’"):
    applying such an instruction to the whole provision would be wrong.
    """
    rest = _FILLER.sub(" ", _TOKENS.sub(" ", words)).strip(" ,;:")
    if rest:
        raise ValueError(f"cannot tell which provision {words!r} names (at {rest!r})")
    for m in _TOKENS.finditer(words):
        if m.group("article"):
            loc = _Loc(article=m.group("article"), last="article")
            for label in re.findall(r"\((\w+)\)", m.group("parens")):
                if loc.paragraph is None and not loc.points and label[0].isdigit():
                    loc = replace(loc, paragraph=label, last="paragraph")
                else:
                    loc = replace(loc, points=(*loc.points, label), last="point")
        elif m.group("annex"):
            loc = _Loc(annex=m.group("annex"), last="annex")
        elif m.group("section"):
            loc = replace(loc, section=m.group("section").upper(), points=(), last="section")
        elif m.group("paragraphs"):
            labels = tuple(re.findall(r"\d+[a-z]*", m.group("paragraphs")))
            loc = replace(loc, paragraph=labels[0], points=(), subparagraph=None,
                          alternatives=labels, last="paragraph")
        elif m.group("points"):
            labels = tuple(a or b for a, b in re.findall(r"\((\w+)\)|(\d+[a-z]*)",
                                                          m.group("points")))
            loc = replace(loc, points=(*loc.points, labels[0]), alternatives=labels,
                          last="point")
        elif m.group("sub") or m.group("unnumbered"):
            number = ordinal(m.group("sub") or m.group("unnumbered"))
            loc = replace(loc, subparagraph=number, last="subparagraph")
        elif m.group("intro"):
            loc = replace(loc, part="introductory part", last="part")
        elif m.group("heading"):
            loc = replace(loc, part="heading", last="part")
    return loc


def _new(ref: str, unit: Unit, text: str, **fields) -> Provision:
    # doc_id is the amended act's, filled in by consolidate(); order likewise.
    return Provision(doc_id="", ref=ref, unit=unit, text=text, **fields)


class _Content:
    """Turns the quoted Formex of an instruction into provisions of the amended act."""

    def __init__(self, quot_s: ET.Element, base_dir: Path) -> None:
        self.quot_s = quot_s
        self.base_dir = base_dir

    def text(self, element: ET.Element) -> str:
        return formex_text(element, quoted_in=self.quot_s)

    def elements(self) -> list[ET.Element]:
        out = []
        for child in self.quot_s:
            if is_pi(child):
                continue
            if child.tag == "INCL.ELEMENT":
                path = self.base_dir / child.get("FILEREF", "")
                if not path.is_file():
                    raise ValueError(f"included file {path.name} is missing")
                out.append(read_formex(path))
            else:
                out.append(child)
        return out

    def article(self, element: ET.Element, fields: dict) -> list[Provision]:
        number = identifier_label(element.get("IDENTIFIER", ""))
        if not number:
            number = re.sub(r"^Article\s+", "", inline_text(element.find("TI.ART"),
                                                            quoted_in=self.quot_s))
        title_el = element.find("STI.ART")
        title = inline_text(title_el, quoted_in=self.quot_s) if title_el is not None else ""
        ref = f"Article {number}"
        base = {**fields, "article": number, "title": title}
        out = [_new(ref, Unit.ARTICLE, self.text(element), **base)]
        paragraphs = element.findall("PARAG")
        for parag in paragraphs:
            out.extend(self.paragraph(parag, ref, base))
        if not paragraphs:
            out.extend(self.points(element, ref, base))
        return out

    def paragraph(self, element: ET.Element, article_ref: str, fields: dict) -> list[Provision]:
        number = label_of(element.find("NO.PARAG")) or identifier_label(
            element.get("IDENTIFIER", ""))
        ref = f"{article_ref}({number})"
        base = {**fields, "paragraph": number}
        out = [_new(ref, Unit.ARTICLE, self.text(element), parent=article_ref, **base)]
        return out + self.points(element, ref, base)

    def points(self, container: ET.Element, parent: str, fields: dict, *,
               annex_base: str = "", depth: int = 0) -> list[Provision]:
        out: list[Provision] = []
        items = container.findall("ITEM") if container.tag == "LIST" else _items(container)
        for item in items:
            out.extend(self.item(item, parent, fields, annex_base=annex_base, depth=depth))
        return out

    def item(self, item: ET.Element, parent: str, fields: dict, *, annex_base: str = "",
             depth: int = 0) -> list[Provision]:
        np = item if item.tag == "NP" else item.find("NP")
        label = label_of(np.find("NO.P")) if np is not None else ""
        if not re.fullmatch(r"\w+", label):
            return []  # a dash item is words of its parent, not a point of its own
        if annex_base and depth == 0:
            ref = f"{annex_base}, point {label}"
            own = {"point": label, "subpoint": None}
        else:
            ref = f"{parent}({label})"
            own = {"point": label} if depth == 0 else {"subpoint": label}
            if depth > 1:
                own = {}
        base = {**fields, **own}
        unit = Unit.ANNEX if fields.get("annex") else Unit.ARTICLE
        out = [_new(ref, unit, self.text(item), parent=parent, **base)]
        return out + self.points(np, ref, base, depth=depth + 1)

    def annex(self, root: ET.Element) -> list[Provision]:
        number, title, lines, parts = annex_parts(root, quoted=True)
        if not number or not lines:
            raise ValueError("the quoted annex has no 'Annex N' title or no contents")
        ref = f"Annex {number}"
        out = [_new(ref, Unit.ANNEX, "\n".join(lines), title=title, annex=number)]
        for point, part_lines in parts:
            out.append(_new(f"{ref}, point {point}", Unit.ANNEX, "\n".join(part_lines),
                            parent=ref, title=title, annex=number, point=point))
        return out


def _items(container: ET.Element) -> list[ET.Element]:
    """The ITEMs of the lists directly in ``container`` (or in its P/ALINEA children)."""
    items: list[ET.Element] = []
    for child in container:
        if is_pi(child):
            continue
        if child.tag == "LIST":
            items.extend(child.findall("ITEM"))
        elif child.tag in ("P", "ALINEA"):
            items.extend(_items(child))
    return items


def _content_provisions(content: _Content, loc: _Loc, op: Operation | str, kind: str
                        ) -> list[Provision]:
    """New provisions from the quoted block, placed at ``loc`` (the container for inserts)."""
    out: list[Provision] = []
    container = loc if op in (Operation.INSERT, Operation.ADD) else loc.up()
    parent = container.ref()
    annex_fields = {"annex": container.annex} if container.annex else {}
    for element in content.elements():
        tag = element.tag
        if tag == "ARTICLE":
            out.extend(content.article(element, {}))
        elif tag == "PARAG":
            if not container.article:
                raise ValueError("a paragraph is quoted but no article is named")
            out.extend(content.paragraph(element, f"Article {container.article}",
                                         {"article": container.article}))
        elif tag == "LIST":
            fields = _fields(container)
            if container.annex:
                out.extend(content.points(element, parent, fields, annex_base=parent))
            else:
                depth = 1 if container.points else 0
                out.extend(content.points(element, parent, fields, depth=depth))
        elif tag == "NP":
            fields = {**_fields(container), **annex_fields}
            out.extend(content.item(element, parent, fields, annex_base=parent if
                                    container.annex else ""))
        elif tag == "ANNEX":
            out.extend(content.annex(element))
        else:
            raise ValueError(f"cannot place a quoted {tag} for a {kind or op}")
    return out


def _fields(loc: _Loc) -> dict:
    fields: dict = {}
    if loc.article:
        fields["article"] = loc.article
    if loc.paragraph:
        fields["paragraph"] = loc.paragraph
    if loc.annex:
        fields["annex"] = loc.annex
    if loc.points:
        fields["point"] = loc.points[0]
    return fields


def _part_provisions(content: _Content, target: str, loc: _Loc) -> list[Provision]:
    """The new wording of part of a provision (a subparagraph, an introductory part, a
    heading) as the target's text, plus any points it contains."""
    out: list[Provision] = []
    for element in content.elements():
        tag = element.tag
        if tag == "STI.ART":
            title = inline_text(element, quoted_in=content.quot_s)
            out.append(_new(target, Unit.ARTICLE, "", title=title, article=loc.article))
        elif tag in ("ALINEA", "PARAG", "P"):
            fields = _fields(loc)
            points = content.points(element, target, fields, depth=1 if loc.points else 0)
            if tag == "PARAG":
                points = content.paragraph(element, f"Article {loc.article}",
                                           {"article": loc.article})[1:]
            out.append(_new(target, Unit.ARTICLE, content.text(element), **fields))
            out.extend(points)
        else:
            raise ValueError(f"cannot read a quoted {tag} as part of {target}")
    if not out:
        raise ValueError("the instruction quotes no new wording")
    return out


def _amending_article(root: ET.Element, doc: Document, amends: str | None) -> ET.Element:
    """The article that amends the base act: "Regulation (EU) 2024/1689 is amended as follows:"."""
    terms = root.find("ENACTING.TERMS")
    candidates: list[tuple[str, ET.Element]] = []
    for article in terms.findall("ARTICLE") if terms is not None else []:
        for alinea in article.findall("ALINEA"):
            first = alinea.find("P")
            match = _AMENDED.match(inline_text(first)) if first is not None else None
            if match:
                candidates.append((match.group(1), article))
                break
    if not candidates:
        raise BadAmendment(f"{doc.file or doc.id}: no article says '... is amended as follows:'; "
                           "is this an amending act?")
    if amends:
        chosen = [a for act, a in candidates if act == amends]
    else:
        # The act named in the amending act's title ("... amending Regulation (EU) 2024/1689").
        chosen = [a for act, a in candidates if _act_number(act) in f"{doc.title} {doc.note}"]
    if not chosen and amends:
        named = ", ".join(act for act, _ in candidates)
        raise BadAmendment(f"{doc.file or doc.id} does not amend {amends}; it amends {named}")
    return (chosen or [candidates[0][1]])[0]


def _act_number(act: str) -> str:
    match = re.search(r"\d{4}/\d+|\d+/\d{4}", act)
    return match.group(0) if match else act


def parse_instructions(
    path: Path, doc: Document, *, amends: str | None = None
) -> list[Instruction]:
    """The amending instructions of the act at ``path``, one per (sub-)point, in order.

    ``amends`` names the amended act as the amending article does ("Regulation (EU)
    2024/1689"); by default the act named in ``doc.title``.  An instruction that cannot be
    read is returned with ``operation`` None and an ``error``.
    """
    path = Path(path)
    root = read_formex(path)
    article = _amending_article(root, doc, amends)
    number = identifier_label(article.get("IDENTIFIER", "")) or "1"
    source = f"{doc.cite_as or doc.title}, Article {number}"
    url = f"{doc.url}#art_{number}" if doc.url else ""
    out: list[Instruction] = []
    for item in _items(article.find("ALINEA")):
        _instructions(item, (), _Loc(), source, url, path.parent, out)
    log.info("%s: %d instructions in %d points", doc.id, len(out),
             len({i.point.split("(")[0] for i in out}))
    return out


def _instructions(item: ET.Element, labels: tuple[str, ...], loc: _Loc, source: str, url: str,
                  base_dir: Path, out: list[Instruction]) -> None:
    np = item.find("NP")
    label = label_of(np.find("NO.P")) if np is not None else ""
    labels = (*labels, label)
    point = labels[0] + "".join(f"({x})" for x in labels[1:])
    own = f"{source}, point ({labels[0]})" + "".join(f"({x})" for x in labels[1:])
    txt = np.find("TXT") if np is not None else None
    wording = inline_text(txt) if txt is not None else ""
    info = {"point": point, "source": own, "url": url, "wording": wording}
    quoted = [q for p in np.findall("P") for q in p.findall("QUOT.S")] if np is not None else []
    subs = [i for p in np.findall("P") for lst in p.findall("LIST") for i in lst.findall("ITEM")
            ] if np is not None else []
    try:
        op, where, kind = _read_wording(wording, loc)
        if op == "amend" and subs and not quoted:
            for sub in subs:
                _instructions(sub, labels, where, source, url, base_dir, out)
            return
        if op == "amend":
            op = Operation.REPLACE  # "point (14) is amended as follows:" + its new wording
        out.append(_instruction(op, where, kind, quoted, base_dir, info))
    except ValueError as error:
        out.append(Instruction(targets=(), operation=None, error=str(error), **info))


def _read_wording(wording: str, loc: _Loc) -> tuple[Operation | str, _Loc, str]:
    text = wording.strip().rstrip(":;.").strip()
    for pattern, op in _VERBS:
        match = pattern.match(text)
        if not match:
            continue
        if op is None:
            kind = _KINDS.get(match.group(2).lower())
            if kind is None:
                raise ValueError(f"cannot insert or add a {match.group(2)!r}")
            verb = Operation.INSERT if match.group(3) == "inserted" else Operation.ADD
            return verb, _locate(match.group(1), loc), kind
        return op, _locate(match.group(1), loc), ""
    raise ValueError(f"unknown kind of instruction: {wording!r}")


def _instruction(op: Operation, loc: _Loc, kind: str, quoted: list[ET.Element], base_dir: Path,
                 info: dict) -> Instruction:
    if op is Operation.DELETE:
        if quoted:
            raise ValueError("a deletion quotes new wording")
        if loc.part or loc.last == "subparagraph":
            raise ValueError("deleting part of a provision is not supported")
        return Instruction(targets=tuple(x.ref() for x in loc.each()), operation=op, **info)
    if len(quoted) != 1:
        raise ValueError(f"expected one quoted block of new wording, found {len(quoted)}")
    content = _Content(quoted[0], base_dir)
    if op is Operation.REPLACE and (loc.part or loc.last == "subparagraph"):
        target = replace(loc, part="", subparagraph=None).ref()
        part = loc.part or f"subparagraph {loc.subparagraph}"
        new = _part_provisions(content, target, replace(loc, part="", subparagraph=None))
        return Instruction(targets=(target,), operation=op, new=new, part=part, **info)
    if kind == "subparagraph":
        target = replace(loc, subparagraph=None).ref()
        new = _part_provisions(content, target, replace(loc, subparagraph=None))
        return Instruction(targets=(target,), operation=op, new=new, part="subparagraph",
                           container=target, **info)
    new = _content_provisions(content, loc, op, kind)
    if not new:
        raise ValueError("the quoted block holds no provision")
    roots = tuple(p.ref for p in new if p.parent not in {q.ref for q in new})
    if op is Operation.REPLACE:
        expected = tuple(x.ref() for x in loc.each())
        if roots != expected:
            raise ValueError(f"the new wording is for {', '.join(roots)}, "
                             f"the instruction names {', '.join(expected)}")
        return Instruction(targets=roots, operation=op, new=new, **info)
    container = replace(loc, subparagraph=None, part="").ref()
    return Instruction(targets=roots, operation=op, new=new, container=container, **info)


# --- entry into force -------------------------------------------------------------------

_ENTRY = re.compile(
    r"shall enter into force on the (?:(\w+) day following (?:that|the day) of its publication"
    r"|(?:day|date) of its publication)",
    re.IGNORECASE,
)


def entry_into_force(path: Path) -> str:
    """The act's date of entry into force (ISO), from its final article and the Official
    Journal date in its Formex metadata ("third day following that of its publication",
    published 24.7.2026 -> "2026-07-27")."""
    path = Path(path)
    root = read_formex(path)
    days = None
    terms = root.find("ENACTING.TERMS")
    for article in terms.findall("ARTICLE") if terms is not None else []:
        match = _ENTRY.search(inline_text(article))
        if match:
            days = ordinal(match.group(1)) if match.group(1) else 0
    if days is None:
        raise BadAmendment(f"{path.name}: no 'shall enter into force on the ... day' sentence")
    published = _publication_date(root, path)
    return (published + timedelta(days=days)).isoformat()


def _publication_date(root: ET.Element, path: Path) -> _Date:
    for ref in root.iter("DOCUMENT.REF"):
        doc_path = path.parent / ref.get("FILE", "")
        if ref.get("FILE") and doc_path.is_file():
            meta = read_formex(doc_path)
            found = meta.find("PUBLICATION.REF/DATE")
            if found is not None and found.get("ISO"):
                return _iso(found.get("ISO"))
    raise BadDocument(f"{path.name}: no Official Journal publication date (PUBLICATION.REF/DATE "
                      "in the .doc.fmx.xml metadata file next to it)")


def _iso(value: str) -> _Date:
    return _Date(int(value[:4]), int(value[4:6]), int(value[6:8]))


# --- versions in force -------------------------------------------------------------------


def _applies(p: Provision, on: str) -> bool:
    return in_force(p.valid_from, p.valid_until, on)


def in_force_on(provisions: Iterable[Provision], date: str) -> list[Provision]:
    """The version of each provision that is the law on ``date`` (ISO), tombstones left out."""
    return [p for p in provisions if not p.deleted and _applies(p, date)]


def version_of(provisions: Iterable[Provision], ref: str, date: str) -> Provision | None:
    """The version of ``ref`` on ``date``: the wording in force, a tombstone (``deleted``)
    if it had been deleted, or None if it did not exist then."""
    for p in provisions:
        if p.ref == ref and _applies(p, date):
            return p
    return None


# --- applying instructions --------------------------------------------------------------

_PARA_NUMBER = re.compile(r"^(\d+[a-z]*)\.\s")
_PREFIX = re.compile(r"^(?:\(\w{1,8}\) |\w{1,8}\. |[—–-] )?$")
_ROMAN = re.compile(r"^[ivxlc]+$", re.IGNORECASE)
_ANNEX_REF = re.compile(r"^Annex ([IVXLC]+)(?:, Section (\w+))?(?:, point ([^(]+))?((?:\(\w+\))*)$")


class _Fail(Exception):
    """An instruction that cannot be applied; the message is the reason."""


@dataclass(slots=True)
class _Child:
    ref: str
    prefix: str  # the label in front of the child's text in its parent ("(a) ", "" ...)


@dataclass(slots=True)
class _Node:
    prov: Provision
    children: list[str]
    lines: list | None  # str (a line of the node's own words) or _Child; None: not located


def _roman(text: str) -> int:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
    total = 0
    digits = [values[c] for c in text.lower()]
    for i, value in enumerate(digits):
        total += -value if i + 1 < len(digits) and digits[i + 1] > value else value
    return total


def _kind(p: Provision) -> str:
    """What sort of unit a provision is, for ordering siblings and labelling new ones."""
    if p.unit is Unit.RECITAL:
        return "recital"
    annex = _ANNEX_REF.match(p.ref)
    if annex:
        if annex.group(4):
            return "subpoint"
        if annex.group(3):
            return "annexpoint"
        return "section" if annex.group(2) else "annex"
    if p.subpoint or (p.point and p.ref.count("(") > (2 if p.paragraph else 1)):
        return "subpoint"
    if p.point:
        return "point"
    if p.paragraph:
        return "paragraph"
    return "article"


def _label(p: Provision) -> str:
    annex = _ANNEX_REF.match(p.ref)
    if annex:
        if annex.group(4):
            return re.findall(r"\((\w+)\)", annex.group(4))[-1]
        return (annex.group(3) or annex.group(2) or annex.group(1)).strip()
    parens = re.findall(r"\((\w+)\)", p.ref)
    if parens:
        return parens[-1]
    return p.article or p.recital or ""


def _key(p: Provision) -> tuple[int, str]:
    label = _label(p)
    kind = _kind(p)
    if kind == "annex" or (kind == "subpoint" and _ROMAN.match(label)):
        return _roman(label), ""
    match = re.match(r"^(\d+)([a-z]*)$", label)
    if match:
        return int(match.group(1)), match.group(2)
    return 0, label


def _segment(text: str, children: Sequence[Provision]) -> list | None:
    """Split a parent's text into its own lines and its children, or None if a child's text
    is not found whole, in order, on lines of its own."""
    lines: list = []
    pos = 0
    for child in children:
        body = child.text
        if not body:
            return None
        idx = text.find(body, pos)
        while idx >= 0:
            start = text.rfind("\n", 0, idx) + 1
            end = idx + len(body)
            if start >= pos and (end == len(text) or text[end] == "\n") and _PREFIX.match(
                    text[start:idx]):
                break
            idx = text.find(body, idx + 1)
        if idx < 0:
            return None
        lines.extend(line for line in text[pos:start].split("\n") if line)
        lines.append(_Child(child.ref, text[start:idx]))
        pos = end
    lines.extend(line for line in text[pos:].split("\n") if line)
    return lines


class _Tree:
    """The amended act being edited: provisions as a tree whose texts are built from
    their children's, so a change anywhere shows in every enclosing provision."""

    def __init__(self, current: list[Provision], sequence: list[str]) -> None:
        self.nodes: dict[str, _Node] = {}
        self.top: list[str] = []
        self.sequence = sequence  # every ref, past or present, in reading order
        self.orders: dict[str, int] = {p.ref: p.order for p in current}
        for p in current:
            self.nodes[p.ref] = _Node(p, [], None)
        for p in current:
            if p.parent and p.parent in self.nodes:
                self.nodes[p.parent].children.append(p.ref)
            else:
                self.top.append(p.ref)
        self.intro_ok: dict[str, bool] = {}
        for ref, node in self.nodes.items():
            self.locate_parts(ref, node)
        self.touched: dict[str, set[str]] = {}

    def snapshot(self) -> tuple:
        nodes = {r: _Node(n.prov, list(n.children), None if n.lines is None else list(n.lines))
                 for r, n in self.nodes.items()}
        return (nodes, list(self.top), list(self.sequence), dict(self.orders),
                {r: set(s) for r, s in self.touched.items()}, dict(self.intro_ok))

    def restore(self, state: tuple) -> None:
        (self.nodes, self.top, self.sequence, self.orders, self.touched,
         self.intro_ok) = state

    def set_text(self, ref: str, text: str, source: str) -> None:
        """New wording for a provision without parts of its own."""
        self.set(ref, source, text=text)
        self.locate_parts(ref, self.nodes[ref])

    def locate_parts(self, ref: str, node: _Node) -> None:
        if not node.children:
            node.lines = [line for line in node.prov.text.split("\n") if line]
            return
        node.lines = _segment(node.prov.text, [self.nodes[c].prov for c in node.children])
        if node.lines is not None and self.render(node) != node.prov.text:
            node.lines = None
        if node.lines is None:
            log.debug("children of %s not found in its text", ref)
            return
        for child, intro in self.intros(node).items():
            self.intro_ok[child] = intro == self.nodes[child].prov.intro

    # -- text ----------------------------------------------------------------------------

    def render(self, node: _Node) -> str:
        return "\n".join(
            line if isinstance(line, str) else line.prefix + self.nodes[line.ref].prov.text
            for line in node.lines or [])

    def intros(self, node: _Node) -> dict[str, str]:
        """The opening words before each point's list (as ``ingest.eurlex`` sets ``intro``)."""
        out: dict[str, str] = {}
        lines = node.lines or []
        for i, line in enumerate(lines):
            if not isinstance(line, _Child) or not self.nodes[line.ref].prov.point:
                continue
            j = i - 1
            while j >= 0 and isinstance(lines[j], _Child):
                j -= 1
            run: list[str] = []
            while j >= 0 and isinstance(lines[j], str):
                run.append(lines[j])
                j -= 1
            run.reverse()
            if run and j < 0 and _kind(node.prov) == "paragraph":
                run[0] = _PARA_NUMBER.sub("", run[0], count=1)
            out[line.ref] = "\n".join(run)
        return out

    def set(self, ref: str, source: str, **changes) -> None:
        node = self.nodes[ref]
        new = replace(node.prov, **changes)
        if new != node.prov:
            node.prov = new
            self.touched.setdefault(ref, set()).add(source)

    def refresh(self, ref: str, source: str) -> None:
        """Rebuild the texts of ``ref`` and its ancestors, and their points' intros."""
        while ref:
            node = self.nodes[ref]
            if node.lines is None:
                raise _Fail(f"cannot find the parts of {ref} in its text")
            self.set(ref, source, text=self.render(node))
            if node.children:
                for child, intro in self.intros(node).items():
                    if self.intro_ok.get(child, True):
                        self.set(child, source, intro=intro)
            ref = node.prov.parent if node.prov.parent in self.nodes else ""

    def check_chain(self, ref: str) -> None:
        node = self.nodes.get(ref)
        while node is not None and node.prov.parent in self.nodes:
            parent = self.nodes[node.prov.parent]
            if parent.lines is None:
                raise _Fail(f"cannot find {node.prov.ref} in the text of {parent.prov.ref}")
            node = parent

    # -- structure -----------------------------------------------------------------------

    def descendants(self, ref: str) -> list[str]:
        out: list[str] = []
        stack = list(reversed(self.nodes[ref].children))
        while stack:
            child = stack.pop()
            out.append(child)
            stack.extend(reversed(self.nodes[child].children))
        return out

    def subtree_end(self, ref: str) -> int:
        """Index in ``sequence`` just after ``ref`` and its descendants (present or past)."""
        index = self.sequence.index(ref)
        prefix = (ref, ref + "(", ref + ",")
        end = index + 1
        while end < len(self.sequence) and self.sequence[end].startswith(prefix):
            end += 1
        return end

    def remove(self, ref: str, source: str) -> None:
        for gone in [ref, *self.descendants(ref)]:
            self.touched.setdefault(gone, set()).add(source)
            del self.nodes[gone]

    def add(self, provisions: list[Provision], at: int, source: str) -> None:
        """Create nodes for new provisions (parents first) and put them in reading order."""
        previous = next((self.orders[r] for r in reversed(self.sequence[:at])
                         if r in self.orders), 0)
        for p in provisions:
            # A new provision shares the running position of the one it follows.
            p = replace(p, order=self.orders.get(p.ref, previous))
            self.orders.setdefault(p.ref, p.order)
            self.nodes[p.ref] = _Node(p, [], None)
            self.touched.setdefault(p.ref, set()).add(source)
            if p.parent in self.nodes and p.ref not in self.nodes[p.parent].children:
                self.nodes[p.parent].children.append(p.ref)
            if p.ref not in self.sequence:
                self.sequence.insert(at, p.ref)
                at += 1
            else:
                at = self.sequence.index(p.ref) + 1
        for p in reversed(provisions):
            node = self.nodes[p.ref]
            self.locate_parts(p.ref, node)
            if node.children and node.lines is None:
                raise _Fail(f"the new wording of {p.ref} does not contain its parts")
            for child, intro in self.intros(node).items():
                self.nodes[child].prov = replace(self.nodes[child].prov, intro=intro)


def _summary(sources: set[str]) -> str:
    """One source for several points: "..., point (9)" or "..., points (2) and (3)"."""
    if len(sources) == 1:
        return next(iter(sources))
    parsed = [re.match(r"^(.*), point \((\w+)\)(.*)$", s) for s in sources]
    if not all(parsed):
        return "; ".join(sorted(sources))
    bases = {m.group(1) for m in parsed}
    tops = sorted({m.group(2) for m in parsed}, key=lambda x: (len(x), x))
    if len(bases) != 1:
        return "; ".join(sorted(sources))
    base = bases.pop()
    if len(tops) == 1:
        return f"{base}, point ({tops[0]})"
    listed = ", ".join(f"({t})" for t in tops[:-1]) + f" and ({tops[-1]})"
    return f"{base}, points {listed}"


class _Editor:
    """Applies instructions to a tree, one at a time, all or nothing each."""

    def __init__(self, tree: _Tree, doc_id: str) -> None:
        self.tree = tree
        self.doc_id = doc_id
        self.sources: dict[str, str] = {}  # source -> url

    def apply(self, ins: Instruction) -> None:
        if ins.operation is None:
            raise _Fail(ins.error or "not understood")
        saved = self.tree.snapshot()
        try:
            self._apply(ins)
        except _Fail:
            self.tree.restore(saved)
            raise
        self.sources[ins.source] = ins.url

    def _apply(self, ins: Instruction) -> None:
        tree = self.tree
        if ins.part:
            self._part(ins)
            return
        if ins.operation is Operation.DELETE:
            for target in ins.targets:
                self._delete(target, ins.source)
            return
        new = self._complete_all(ins.new)
        roots = [p for p in new if p.ref in ins.targets]
        if ins.operation is Operation.REPLACE:
            for root in roots:
                subtree = [root, *[p for p in new if p.ref.startswith(
                    (root.ref + "(", root.ref + ","))]]
                self._replace(root.ref, subtree, ins.source)
            return
        container = ins.container
        if container and container not in tree.nodes:
            raise _Fail(f"{container} does not exist")
        for root in roots:
            if root.ref in tree.nodes:
                raise _Fail(f"{root.ref} already exists")
            subtree = [root, *[p for p in new if p.ref.startswith(
                (root.ref + "(", root.ref + ","))]]
            self._insert(container, subtree, ins.source)

    # -- filling in what the amending act leaves implicit -------------------------------------

    def _complete_all(self, provisions: list[Provision]) -> list[Provision]:
        done: dict[str, Provision] = {}
        for p in provisions:
            done[p.ref] = self._complete(p, done)
        return list(done.values())

    def _complete(self, p: Provision, pending: dict[str, Provision] | None = None
                  ) -> Provision:
        """Document, chapter, title, unit and term as the amended act has them."""
        tree = self.tree
        pending = pending or {}
        parent = tree.nodes.get(p.parent)
        if p.parent in pending:
            siblings = [q for q in pending.values() if q.parent == p.parent]
            parent_prov: Provision | None = pending[p.parent]
        elif parent is not None:
            siblings = [tree.nodes[c].prov for c in parent.children]
            parent_prov = parent.prov
        else:
            siblings = [tree.nodes[r].prov for r in tree.top if r in tree.nodes]
            parent_prov = None
        like = [s for s in siblings if _kind(s) == _kind(p)]
        model = like[-1] if like else parent_prov
        if p.ref in tree.nodes:
            model = tree.nodes[p.ref].prov
        fields: dict = {"doc_id": self.doc_id, "anchor": "", "url": ""}
        if model is not None:
            fields["chapter"] = model.chapter
            fields["section"] = model.section
            if not p.title:
                fields["title"] = model.title
            if model.unit is Unit.DEFINITION and _kind(p) == _kind(model):
                fields["unit"] = Unit.DEFINITION
                term = re.match(r"^[‘'“\"]([^’'”\"]+)[’'”\"]", p.text)
                fields["term"] = term.group(1).strip() if term else ""
        if _kind(p) == "article" and p.ref not in tree.nodes:
            # A new article sits in the chapter of the article it follows (or precedes).
            near = [s for s in like if _key(s) < _key(p)][-1:] or [
                s for s in like if _key(s) > _key(p)][:1]
            if near:
                fields["chapter"], fields["section"] = near[0].chapter, near[0].section
        return replace(p, **fields)

    # -- operations -------------------------------------------------------------------------

    def _replace(self, target: str, subtree: list[Provision], source: str) -> None:
        tree = self.tree
        if target not in tree.nodes:
            raise _Fail(f"{target} does not exist")
        tree.check_chain(target)
        old = tree.nodes[target].prov
        root = replace(subtree[0], parent=old.parent, chapter=old.chapter, section=old.section,
                       title=subtree[0].title or old.title, intro=old.intro,
                       order=old.order)
        if old.title and root.title != old.title and _kind(old) != "article":
            root = replace(root, title=old.title)
        at = tree.sequence.index(target)
        for gone in tree.descendants(target):
            tree.touched.setdefault(gone, set()).add(source)
            del tree.nodes[gone]
        tree.nodes[target].children = []
        tree.nodes[target].prov = root
        tree.touched.setdefault(target, set()).add(source)
        tree.add(subtree[1:], at + 1, source)
        node = tree.nodes[target]
        tree.locate_parts(target, node)
        if node.children and node.lines is None:
            raise _Fail(f"the new wording of {target} does not contain its parts")
        for child, intro in tree.intros(node).items():
            tree.nodes[child].prov = replace(tree.nodes[child].prov, intro=intro)
        tree.refresh(target, source)

    def _insert(self, container: str, subtree: list[Provision], source: str) -> None:
        tree = self.tree
        root = subtree[0]
        if container:
            tree.check_chain(container)
            node = tree.nodes[container]
            if node.lines is None:
                raise _Fail(f"cannot find the parts of {container} in its text")
            refs = node.children
        else:
            refs = tree.top
        same = [r for r in refs if r in tree.nodes and _kind(tree.nodes[r].prov) == _kind(root)]
        before = [r for r in same if _key(tree.nodes[r].prov) < _key(root)]
        after = [r for r in same if _key(tree.nodes[r].prov) > _key(root)]
        if before:
            anchor = before[-1]
            at = tree.subtree_end(anchor)
            position = refs.index(anchor) + 1
        elif after:
            anchor = after[0]
            at = tree.sequence.index(anchor)
            position = refs.index(anchor)
        else:
            anchor = ""
            at = tree.subtree_end(container) if container else len(tree.sequence)
            position = len(refs)
        refs.insert(position, root.ref)
        if container:
            prefix = self._prefix(root, tree.nodes[anchor] if anchor else None, node)
            line = _Child(root.ref, prefix)
            lines = node.lines
            if anchor:
                index = next(i for i, x in enumerate(lines)
                             if isinstance(x, _Child) and x.ref == anchor)
                lines.insert(index + 1 if before else index, line)
            else:
                lines.append(line)
        root = replace(root, parent=container)
        tree.add([root, *subtree[1:]], at, source)
        if container:
            tree.refresh(container, source)

    def _prefix(self, new: Provision, sibling: _Node | None, parent: _Node) -> str:
        if sibling is not None:
            line = next((x for x in parent.lines if isinstance(x, _Child)
                         and x.ref == sibling.prov.ref), None)
            if line is not None:
                old = _label(sibling.prov)
                return line.prefix.replace(old, _label(new), 1) if line.prefix else ""
        kind = _kind(new)
        if kind in ("point", "subpoint"):
            return f"({_label(new)}) "
        if kind == "annexpoint":
            return f"{_label(new)}. "
        return ""

    def _delete(self, target: str, source: str) -> None:
        tree = self.tree
        if target not in tree.nodes:
            raise _Fail(f"{target} does not exist")
        tree.check_chain(target)
        parent_ref = tree.nodes[target].prov.parent
        if parent_ref in tree.nodes:
            parent = tree.nodes[parent_ref]
            parent.lines = [x for x in parent.lines
                            if not (isinstance(x, _Child) and x.ref == target)]
            parent.children.remove(target)
        elif target in tree.top:
            tree.top.remove(target)
        tree.remove(target, source)
        if parent_ref in tree.nodes:
            tree.refresh(parent_ref, source)

    def _part(self, ins: Instruction) -> None:
        tree = self.tree
        target = ins.targets[0]
        if target not in tree.nodes:
            raise _Fail(f"{target} does not exist")
        tree.check_chain(target)
        node = tree.nodes[target]
        head = ins.new[0]
        if ins.part == "heading":
            old = node.prov.title
            for ref in [target, *tree.descendants(target)]:
                if tree.nodes[ref].prov.title == old:
                    tree.set(ref, ins.source, title=head.title)
            return
        if node.lines is None:
            raise _Fail(f"cannot find the parts of {target} in its text")
        points = [self._complete(replace(p, parent=target)) for p in ins.new[1:]
                  if p.parent == target]
        new_lines = _segment(head.text, points)
        if new_lines is None:
            raise _Fail(f"the new wording for {target} does not contain its points")
        groups = _groups(node.lines)
        if ins.part == "subparagraph":
            start = end = len(node.lines)
        elif ins.part == "introductory part":
            first = next((i for i, x in enumerate(node.lines) if isinstance(x, _Child)), None)
            if first is None or first == 0:
                raise _Fail(f"{target} has no list with an introductory part")
            start, end = 0, first
            new_lines = [x for x in new_lines if isinstance(x, str)]
        else:
            number = int(ins.part.split()[-1])
            if number > len(groups):
                raise _Fail(f"{target} has {len(groups)} subparagraph(s), not {number}")
            start, end = groups[number - 1]
        old_first = node.lines[0] if node.lines and isinstance(node.lines[0], str) else ""
        new_lines = self._numbered(new_lines, start, old_first, _kind(node.prov))
        gone = [x.ref for x in node.lines[start:end] if isinstance(x, _Child)]
        kept = {p.ref for p in points}
        for ref in gone:
            if ref not in kept:
                node.children.remove(ref)
                tree.remove(ref, ins.source)
        node.lines[start:end] = new_lines
        at = tree.subtree_end(target)
        fresh = [p for p in points if p.ref not in tree.nodes]
        for p in points:
            if p.ref in tree.nodes:
                tree.set_text(p.ref, p.text, ins.source)
        position = len([x for x in node.lines[:start] if isinstance(x, _Child)])
        for offset, p in enumerate(fresh):
            node.children.insert(position + offset, p.ref)
        tree.add(fresh, at, ins.source)
        tree.touched.setdefault(target, set()).add(ins.source)
        tree.refresh(target, ins.source)

    @staticmethod
    def _numbered(lines: list, start: int, old_first: str, kind: str) -> list:
        """Keep a paragraph's number ("1. ") in front of its first line, and only there."""
        if kind != "paragraph" or not lines or not isinstance(lines[0], str):
            return lines
        number = _PARA_NUMBER.match(old_first)
        if start == 0 and number and not _PARA_NUMBER.match(lines[0]):
            return [number.group(0) + lines[0], *lines[1:]]
        if start > 0 and _PARA_NUMBER.match(lines[0]):
            return [_PARA_NUMBER.sub("", lines[0], count=1), *lines[1:]]
        return lines


def _groups(lines: list) -> list[tuple[int, int]]:
    """Subparagraphs as [start, end) line ranges: a line of own words and the points after."""
    groups: list[tuple[int, int]] = []
    start = 0
    for i, line in enumerate(lines):
        if isinstance(line, str) and i > start:
            groups.append((start, i))
            start = i
    if lines:
        groups.append((start, len(lines)))
    return groups


def consolidate(
    base: list[Provision],
    amending: Document,
    instructions: list[Instruction],
    *,
    in_force: str,
) -> Consolidation:
    """Apply ``instructions`` of ``amending`` to ``base`` (every version of the amended act).

    Returns every version: unchanged provisions as they were; changed ones closed at
    ``in_force`` (``valid_until``) plus a new version from ``in_force``; new ones from
    ``in_force``; deleted ones closed plus a tombstone (``deleted``, old text).  Enclosing
    paragraphs and articles get new versions whose text shows the change.
    """
    current = [p for p in base if p.valid_until is None and not p.deleted]
    doc_id = base[0].doc_id if base else amending.amends
    tree = _Tree(current, list(dict.fromkeys(p.ref for p in base)))
    editor = _Editor(tree, doc_id)
    failed: list[tuple[str, str]] = []
    points: dict[str, bool] = {}
    for ins in instructions:
        top = ins.point.split("(")[0]
        try:
            editor.apply(ins)
            points.setdefault(top, True)
        except _Fail as error:
            failed.append((ins.point, str(error)))
            points[top] = False
            log.warning("%s, point (%s): %s", amending.id, ins.point, error)
    provisions = _versions(base, current, tree, editor.sources, in_force)
    applied = [p for p, ok in points.items() if ok]
    log.info("%s: %d of %d points applied to %s", amending.id, len(applied), len(points), doc_id)
    return Consolidation(provisions, applied, failed)


def _versions(base: list[Provision], current: list[Provision], tree: _Tree,
              urls: dict[str, str], in_force: str) -> list[Provision]:
    """All versions in reading order: history, then the versions from ``in_force``."""
    before = {p.ref: p for p in current}
    history: dict[str, list[Provision]] = {}
    for p in base:
        history.setdefault(p.ref, []).append(p)
    out: list[Provision] = []
    for ref in tree.sequence:
        versions = list(history.get(ref, []))
        sources = tree.touched.get(ref)
        old = before.get(ref)
        now = tree.nodes[ref].prov if ref in tree.nodes else None
        if sources:
            source = _summary(sources)
            url = urls.get(next(iter(sorted(sources))), "")
            stamp = {"valid_from": in_force, "version_source": source, "url": url,
                     "anchor": url.rsplit("#", 1)[1] if "#" in url else ""}
            if old is not None and (now is None or _differs(old, now)):
                versions = [replace(v, valid_until=in_force) if v is old else v
                            for v in versions]
                if now is None:
                    versions.append(replace(old, deleted=True, valid_until=None, **stamp))
            if now is not None and old is None:
                versions = [replace(v, valid_until=in_force) if v.deleted and v.valid_until
                            is None else v for v in versions]
            if now is not None and (old is None or _differs(old, now)):
                versions.append(replace(now, valid_until=None, deleted=False, **stamp))
        out.extend(versions)
    return out


def _differs(old: Provision, new: Provision) -> bool:
    return (old.text, old.title, old.intro, old.unit, old.term) != (
        new.text, new.title, new.intro, new.unit, new.term)
