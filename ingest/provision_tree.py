"""The amended act being edited: a tree of provisions whose texts are built from their children's.

In: the amended act's current provisions; out: :class:`Tree`, which re-renders every enclosing
provision when one changes and records what each change touched, plus ordering and labelling
helpers.  Which change to make, and the versions that result, are left to ``ingest.consolidate``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from kb.records import Provision, Unit

log = logging.getLogger(__name__)

PARA_NUMBER = re.compile(r"^(\d+[a-z]*)\.\s")  # "1. " before a paragraph's first line
_PREFIX = re.compile(r"^(?:\(\w{1,8}\) |\w{1,8}\. |[—–-] )?$")
_ROMAN = re.compile(r"^[ivxlc]+$", re.IGNORECASE)
_ANNEX_REF = re.compile(r"^Annex ([IVXLC]+)(?:, Section (\w+))?(?:, point ([^(]+))?((?:\(\w+\))*)$")


class CannotApply(Exception):
    """An instruction that cannot be applied; the message is the reason."""


@dataclass(slots=True)
class Child:
    """Where a child provision stands among its parent's lines."""

    ref: str
    prefix: str  # the label in front of the child's text in its parent ("(a) ", "" ...)


@dataclass(slots=True)
class Node:
    """A provision in the tree: its children and its text as lines of its own and children."""

    prov: Provision
    children: list[str]
    lines: list | None  # str (a line of the node's own words) or Child; None: not located


def _roman(text: str) -> int:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
    total = 0
    digits = [values[c] for c in text.lower()]
    for i, value in enumerate(digits):
        total += -value if i + 1 < len(digits) and digits[i + 1] > value else value
    return total


def kind_of(p: Provision) -> str:
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


def last_label(p: Provision) -> str:
    annex = _ANNEX_REF.match(p.ref)
    if annex:
        if annex.group(4):
            return re.findall(r"\((\w+)\)", annex.group(4))[-1]
        return (annex.group(3) or annex.group(2) or annex.group(1)).strip()
    parens = re.findall(r"\((\w+)\)", p.ref)
    if parens:
        return parens[-1]
    return p.article or p.recital or ""


def order_key(p: Provision) -> tuple[int, str]:
    label = last_label(p)
    kind = kind_of(p)
    if kind == "annex" or (kind == "subpoint" and _ROMAN.match(label)):
        return _roman(label), ""
    match = re.match(r"^(\d+)([a-z]*)$", label)
    if match:
        return int(match.group(1)), match.group(2)
    return 0, label


def segment(text: str, children: Sequence[Provision]) -> list | None:
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
        lines.append(Child(child.ref, text[start:idx]))
        pos = end
    lines.extend(line for line in text[pos:].split("\n") if line)
    return lines


class Tree:
    """The amended act being edited: provisions as a tree whose texts are built from
    their children's, so a change anywhere shows in every enclosing provision."""

    def __init__(self, current: list[Provision], sequence: list[str]) -> None:
        self.nodes: dict[str, Node] = {}
        self.top: list[str] = []
        self.sequence = sequence  # every ref, past or present, in reading order
        self.orders: dict[str, int] = {p.ref: p.order for p in current}
        for p in current:
            self.nodes[p.ref] = Node(p, [], None)
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
        nodes = {r: Node(n.prov, list(n.children), None if n.lines is None else list(n.lines))
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

    def locate_parts(self, ref: str, node: Node) -> None:
        if not node.children:
            node.lines = [line for line in node.prov.text.split("\n") if line]
            return
        node.lines = segment(node.prov.text, [self.nodes[c].prov for c in node.children])
        if node.lines is not None and self.render(node) != node.prov.text:
            node.lines = None
        if node.lines is None:
            log.debug("children of %s not found in its text", ref)
            return
        for child, intro in self.intros(node).items():
            self.intro_ok[child] = intro == self.nodes[child].prov.intro

    # -- text ----------------------------------------------------------------------------

    def render(self, node: Node) -> str:
        return "\n".join(
            line if isinstance(line, str) else line.prefix + self.nodes[line.ref].prov.text
            for line in node.lines or [])

    def intros(self, node: Node) -> dict[str, str]:
        """The opening words before each point's list (as ``ingest.eurlex`` sets ``intro``)."""
        out: dict[str, str] = {}
        lines = node.lines or []
        for i, line in enumerate(lines):
            if not isinstance(line, Child) or not self.nodes[line.ref].prov.point:
                continue
            j = i - 1
            while j >= 0 and isinstance(lines[j], Child):
                j -= 1
            run: list[str] = []
            while j >= 0 and isinstance(lines[j], str):
                run.append(lines[j])
                j -= 1
            run.reverse()
            if run and j < 0 and kind_of(node.prov) == "paragraph":
                run[0] = PARA_NUMBER.sub("", run[0], count=1)
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
                raise CannotApply(f"cannot find the parts of {ref} in its text")
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
                raise CannotApply(f"cannot find {node.prov.ref} in the text of {parent.prov.ref}")
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
            self.nodes[p.ref] = Node(p, [], None)
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
                raise CannotApply(f"the new wording of {p.ref} does not contain its parts")
            for child, intro in self.intros(node).items():
                self.nodes[child].prov = replace(self.nodes[child].prov, intro=intro)


def subparagraphs(lines: list) -> list[tuple[int, int]]:
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
