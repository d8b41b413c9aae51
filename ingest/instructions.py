"""Read an amending act's instructions (Formex) into :class:`Instruction` records, in order.

In: the amending act's file and manifest :class:`Document`; out: one instruction per (sub-)point
with targets as refs of the amended act, and the act's date of entry into force.  An unreadable
instruction keeps its error, never skipped; applying them is left to ``ingest.consolidate``.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
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
    # doc_id is the amended act's, filled in by ingest.consolidate; order likewise.
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

