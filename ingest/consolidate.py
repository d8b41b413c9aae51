"""Apply amending instructions to the act they amend: every version of every provision.

In: the amended act's provisions (``ingest.eurlex``) and its instructions (``ingest.instructions``);
out: versions with the dates each wording applies from and until, and the points applied or failed
(with the reason: nothing is skipped).  Application dates are left to ``kb.law.dates``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ingest.instructions import Instruction, Operation
from ingest.provision_tree import (
    PARA_NUMBER,
    CannotApply,
    Child,
    Node,
    Tree,
    kind_of,
    last_label,
    order_key,
    segment,
    subparagraphs,
)
from kb.index.catalog import in_force
from kb.records import Document, Provision, Unit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Consolidation:
    """The amended act: every version of every provision, and what was (not) applied."""

    provisions: list[Provision]
    applied: list[str]  # top-level points whose instructions were all applied
    failed: list[tuple[str, str]]  # (point, reason)


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

    def __init__(self, tree: Tree, doc_id: str) -> None:
        self.tree = tree
        self.doc_id = doc_id
        self.sources: dict[str, str] = {}  # source -> url

    def apply(self, ins: Instruction) -> None:
        if ins.operation is None:
            raise CannotApply(ins.error or "not understood")
        saved = self.tree.snapshot()
        try:
            self._apply(ins)
        except CannotApply:
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
            raise CannotApply(f"{container} does not exist")
        for root in roots:
            if root.ref in tree.nodes:
                raise CannotApply(f"{root.ref} already exists")
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
        like = [s for s in siblings if kind_of(s) == kind_of(p)]
        model = like[-1] if like else parent_prov
        if p.ref in tree.nodes:
            model = tree.nodes[p.ref].prov
        fields: dict = {"doc_id": self.doc_id, "anchor": "", "url": ""}
        if model is not None:
            fields["chapter"] = model.chapter
            fields["section"] = model.section
            if not p.title:
                fields["title"] = model.title
            if model.unit is Unit.DEFINITION and kind_of(p) == kind_of(model):
                fields["unit"] = Unit.DEFINITION
                term = re.match(r"^[‘'“\"]([^’'”\"]+)[’'”\"]", p.text)
                fields["term"] = term.group(1).strip() if term else ""
        if kind_of(p) == "article" and p.ref not in tree.nodes:
            # A new article sits in the chapter of the article it follows (or precedes).
            near = [s for s in like if order_key(s) < order_key(p)][-1:] or [
                s for s in like if order_key(s) > order_key(p)][:1]
            if near:
                fields["chapter"], fields["section"] = near[0].chapter, near[0].section
        return replace(p, **fields)

    # -- operations -------------------------------------------------------------------------

    def _replace(self, target: str, subtree: list[Provision], source: str) -> None:
        tree = self.tree
        if target not in tree.nodes:
            raise CannotApply(f"{target} does not exist")
        tree.check_chain(target)
        old = tree.nodes[target].prov
        root = replace(subtree[0], parent=old.parent, chapter=old.chapter, section=old.section,
                       title=subtree[0].title or old.title, intro=old.intro,
                       order=old.order)
        if old.title and root.title != old.title and kind_of(old) != "article":
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
            raise CannotApply(f"the new wording of {target} does not contain its parts")
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
                raise CannotApply(f"cannot find the parts of {container} in its text")
            refs = node.children
        else:
            refs = tree.top
        same = [r for r in refs if r in tree.nodes and kind_of(tree.nodes[r].prov) == kind_of(root)]
        before = [r for r in same if order_key(tree.nodes[r].prov) < order_key(root)]
        after = [r for r in same if order_key(tree.nodes[r].prov) > order_key(root)]
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
            line = Child(root.ref, prefix)
            lines = node.lines
            if anchor:
                index = next(i for i, x in enumerate(lines)
                             if isinstance(x, Child) and x.ref == anchor)
                lines.insert(index + 1 if before else index, line)
            else:
                lines.append(line)
        root = replace(root, parent=container)
        tree.add([root, *subtree[1:]], at, source)
        if container:
            tree.refresh(container, source)

    def _prefix(self, new: Provision, sibling: Node | None, parent: Node) -> str:
        if sibling is not None:
            line = next((x for x in parent.lines if isinstance(x, Child)
                         and x.ref == sibling.prov.ref), None)
            if line is not None:
                old = last_label(sibling.prov)
                return line.prefix.replace(old, last_label(new), 1) if line.prefix else ""
        kind = kind_of(new)
        if kind in ("point", "subpoint"):
            return f"({last_label(new)}) "
        if kind == "annexpoint":
            return f"{last_label(new)}. "
        return ""

    def _delete(self, target: str, source: str) -> None:
        tree = self.tree
        if target not in tree.nodes:
            raise CannotApply(f"{target} does not exist")
        tree.check_chain(target)
        parent_ref = tree.nodes[target].prov.parent
        if parent_ref in tree.nodes:
            parent = tree.nodes[parent_ref]
            parent.lines = [x for x in parent.lines
                            if not (isinstance(x, Child) and x.ref == target)]
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
            raise CannotApply(f"{target} does not exist")
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
            raise CannotApply(f"cannot find the parts of {target} in its text")
        points = [self._complete(replace(p, parent=target)) for p in ins.new[1:]
                  if p.parent == target]
        new_lines = segment(head.text, points)
        if new_lines is None:
            raise CannotApply(f"the new wording for {target} does not contain its points")
        groups = subparagraphs(node.lines)
        if ins.part == "subparagraph":
            start = end = len(node.lines)
        elif ins.part == "introductory part":
            first = next((i for i, x in enumerate(node.lines) if isinstance(x, Child)), None)
            if first is None or first == 0:
                raise CannotApply(f"{target} has no list with an introductory part")
            start, end = 0, first
            new_lines = [x for x in new_lines if isinstance(x, str)]
        else:
            number = int(ins.part.split()[-1])
            if number > len(groups):
                raise CannotApply(f"{target} has {len(groups)} subparagraph(s), not {number}")
            start, end = groups[number - 1]
        old_first = node.lines[0] if node.lines and isinstance(node.lines[0], str) else ""
        new_lines = self._numbered(new_lines, start, old_first, kind_of(node.prov))
        gone = [x.ref for x in node.lines[start:end] if isinstance(x, Child)]
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
        position = len([x for x in node.lines[:start] if isinstance(x, Child)])
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
        number = PARA_NUMBER.match(old_first)
        if start == 0 and number and not PARA_NUMBER.match(lines[0]):
            return [number.group(0) + lines[0], *lines[1:]]
        if start > 0 and PARA_NUMBER.match(lines[0]):
            return [PARA_NUMBER.sub("", lines[0], count=1), *lines[1:]]
        return lines


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
    tree = Tree(current, list(dict.fromkeys(p.ref for p in base)))
    editor = _Editor(tree, doc_id)
    failed: list[tuple[str, str]] = []
    points: dict[str, bool] = {}
    for ins in instructions:
        top = ins.point.split("(")[0]
        try:
            editor.apply(ins)
            points.setdefault(top, True)
        except CannotApply as error:
            failed.append((ins.point, str(error)))
            points[top] = False
            log.warning("%s, point (%s): %s", amending.id, ins.point, error)
    provisions = _versions(base, current, tree, editor.sources, in_force)
    applied = [p for p, ok in points.items() if ok]
    log.info("%s: %d of %d points applied to %s", amending.id, len(applied), len(points), doc_id)
    return Consolidation(provisions, applied, failed)


def _versions(base: list[Provision], current: list[Provision], tree: Tree,
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
