"""The provisions of the knowledge base in memory, by ref and by date.

Loaded once from the catalog: every version of every provision, the documents, the
Article 3-style definitions, and the wording of each ref in the other official languages
(the German and French AI Act).  Answers the structural questions retrieval cannot: which
wording was in force on a date (in which language), what a ref names, what a passage
cross-references, which defined terms it uses, an act's table of contents.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from kb.errors import UnknownReference
from kb.index.catalog import Catalog, in_force
from kb.law.refs import RefMention, find_refs, local_label, parents, qualify
from kb.records import LANGUAGES, Document, Kind, Provision, Unit

_GDPR_CONTEXT = re.compile(r"\bGDPR\b|2016/679|General Data Protection Regulation", re.I)


_DETERMINERS = r"(?:a|an|the|that|this|such|each|any|its|their|every|no)"


def _term_pattern(term: str) -> str:
    """Where a defined term is used in its defined sense.  A one-word term must be plural
    or follow a determiner, so "subject to appropriate safeguards" is not the defined
    "subject" (Article 3(58)) while "the provider" and "providers" are "provider".

    >>> bool(re.search(_term_pattern("subject"), "subject to appropriate safeguards"))
    False
    >>> bool(re.search(_term_pattern("provider"), "providers shall ensure"))
    True
    """
    word = re.escape(term)
    if " " in term or "-" in term:
        return rf"(?<![\w-]){word}s?(?![\w-])"
    return rf"(?:(?<![\w-]){word}s(?![\w-])|\b{_DETERMINERS}\s+{word}(?![\w-]))"


def _point_readings(local: str) -> list[str]:
    """``local`` and, for a bracketed article label, its readings as an amending act's points.

    >>> _point_readings("Article 1(7)(a)")
    ['Article 1(7)(a)', 'Article 1, point (7)(a)', 'Article 1(7), point (a)']
    >>> _point_readings("Article 1, point (7)")
    ['Article 1, point (7)']
    """
    m = re.fullmatch(r"(Article \w+)((?:\(\w+\))+)", local)
    if not m:
        return [local]
    groups = re.findall(r"\(\w+\)", m.group(2))
    return [local, f"{m.group(1)}, point {''.join(groups)}"] + (
        [f"{m.group(1)}{groups[0]}, point {''.join(groups[1:])}"] if len(groups) > 1 else [])


@dataclass
class TocGroup:
    """A heading of a table of contents with its entries (ref, label) and sub-groups."""

    title: str
    entries: list[tuple[str, str]] = field(default_factory=list)
    groups: list[TocGroup] = field(default_factory=list)

    def refs(self) -> list[str]:
        return [ref for ref, _ in self.entries] + [r for g in self.groups for r in g.refs()]


def today() -> str:
    return date.today().isoformat()


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a ref written by someone resolved to."""

    asked: str  # the ref as understood ("Article 50(1)")
    provision: Provision  # the closest existing provision in force (maybe an ancestor)
    exact: bool  # False when only an ancestor exists


@dataclass(frozen=True, slots=True)
class Rendition:
    """A provision shown in a language: its wording in ``lang`` where that wording is the
    law in force, else the English text in force and a note saying why."""

    provision: Provision  # ``provision.lang`` is the language of the text shown
    lang: str  # the language asked for
    note: str = ""  # "" when the text is in ``lang``

    @property
    def translated(self) -> bool:
        """Whether the text is in the language asked for."""
        return self.provision.lang == self.lang


def amended_note(lang: str) -> str:
    """The note shown with the English text of a provision amended in English only.

    >>> amended_note("de")[:60]
    'German wording of this amended provision not yet in the know'
    """
    return (f"{LANGUAGES.get(lang, lang)} wording of this amended provision not yet in the "
            "knowledge base; the English text is shown.")


class Library:
    """Provisions by ref and date; read-only after construction."""

    def __init__(self, documents: list[Document], provisions: list[Provision],
                 translations: list[Provision] = ()):
        # Language versions (manifest translation_of) are not documents of their own here:
        # their provisions are other wordings of the original's refs.
        self.documents = {d.id: d for d in documents if not d.translation_of}
        self.language_versions: dict[str, dict[str, Document]] = defaultdict(dict)
        for d in documents:
            if d.translation_of:
                self.language_versions[d.translation_of][d.language] = d
        self._translated: dict[tuple[str, str], Provision] = {
            (p.lang, p.ref): p for p in translations
        }
        self._versions: dict[str, list[Provision]] = defaultdict(list)
        self._children: dict[str, list[str]] = defaultdict(list)
        for p in provisions:
            versions = self._versions[p.ref]
            if not versions and p.parent:
                self._children[p.parent].append(p.ref)
            versions.append(p)
        for versions in self._versions.values():
            versions.sort(key=lambda p: p.valid_from or "")
        self._order = {ref: i for i, ref in enumerate(self._versions)}
        self._terms: dict[str, list[tuple[str, str]]] = {}

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Library:
        return cls([r.document for r in catalog.documents()], catalog.provisions(),
                   catalog.translations())

    # --- other languages -----------------------------------------------------------------

    def languages(self, doc_id: str | None = None) -> list[str]:
        """The languages the official text is in: "en" and those of the language versions
        (of one document, or of any)."""
        found = {lang for original, versions in self.language_versions.items()
                 if doc_id is None or original == doc_id for lang in versions}
        return ["en", *sorted(found)]

    def translation(self, ref: str, lang: str, as_of: str | None = None) -> Rendition:
        """``ref`` as in force on ``as_of``, in ``lang`` where that wording is the law.

        The language versions hold the original 2024 wording.  Where an amending act
        (English only) has changed, inserted or deleted the provision by ``as_of``, there
        is no official wording in ``lang`` in force: the English text in force comes back
        with a note, never the old wording as if it were the law.
        """
        current = self.get(ref, as_of)
        if lang == current.lang:
            return Rendition(current, lang)
        name = LANGUAGES.get(lang, lang)
        version = self.language_versions.get(current.doc_id, {}).get(lang)
        if version is None:
            doc = self.documents.get(current.doc_id)
            title = doc.title if doc else current.doc_id
            return Rendition(current, lang, f"No {name} wording of {title} in the knowledge "
                                            "base; the English text is shown.")
        wording = self._translated.get((lang, current.ref))
        if current.version_source or current.deleted or wording is None:
            return Rendition(current, lang, amended_note(lang))
        # The original wording is in force: the same dates apply to every language.
        return Rendition(replace(wording, valid_from=current.valid_from,
                                 valid_until=current.valid_until), lang)

    def wordings(self, ref: str, lang: str | None = None) -> list[Provision]:
        """Every official wording of ``ref``: all English versions and the other languages'
        (``lang`` given: only that language's)."""
        english = self.versions(ref)
        others = [p for code in LANGUAGES if (p := self._translated.get((code, ref)))]
        if lang is None:
            return english + others
        return [p for p in english + others if p.lang == lang]

    def translations(self, lang: str) -> list[Provision]:
        """Every provision of the language versions in ``lang`` (their original 2024
        wording), in document order."""
        return [p for (code, _), p in self._translated.items() if code == lang]

    def language_version(self, doc_id: str, lang: str) -> Document | None:
        """The manifest entry of ``doc_id``'s version in ``lang``, if there is one."""
        return self.language_versions.get(doc_id, {}).get(lang)

    # --- one provision -----------------------------------------------------------------

    def refs(self) -> list[str]:
        """Every ref in the knowledge base, in document order."""
        return list(self._versions)

    def versions(self, ref: str) -> list[Provision]:
        """Every version of ``ref``, oldest first (empty if unknown)."""
        return list(self._versions.get(ref, ()))

    def version(self, ref: str, as_of: str | None = None) -> Provision | None:
        """The version of ``ref`` in force on ``as_of`` (a tombstone if deleted by then)."""
        as_of = as_of or today()
        for p in reversed(self._versions.get(ref, ())):
            if in_force(p.valid_from, p.valid_until, as_of):
                return p
        return None

    def get(self, ref: str, as_of: str | None = None) -> Provision:
        """The provision in force, or UnknownReference saying what exists instead."""
        p = self.version(ref, as_of)
        if p is None:
            hint = self._closest(ref)
            raise UnknownReference(
                f"No provision {ref!r} in the knowledge base"
                + (f" on {as_of}" if as_of and self._versions.get(ref) else "")
                + (f"; did you mean {hint!r}?" if hint else ".")
            )
        return p

    def _closest(self, ref: str) -> str:
        for mention in find_refs(ref):
            for local in parents(mention.local):
                for candidate in self._qualified(local, mention.act):
                    if candidate in self._versions and candidate != ref:
                        return candidate
        return ""

    def children(self, ref: str, as_of: str | None = None) -> list[Provision]:
        kids = (self.version(r, as_of) for r in self._children.get(ref, ()))
        return [k for k in kids if k is not None and not k.deleted]

    def document(self, doc_id: str) -> Document:
        return self.documents[doc_id]

    # --- refs written by people ----------------------------------------------------------

    def _qualified(self, local: str, act: str) -> list[str]:
        """Stored refs a local label may mean, most likely first."""
        if act == "gdpr":
            docs = [d for d in self.documents.values() if d.cite_as == "GDPR"]
        elif act == "amending":
            docs = [d for d in self.documents.values() if d.kind is Kind.AMENDING_REGULATION]
            # "Article 1(7)" of an amending act: written in brackets, but its points are
            # stored as "Article 1, point (7)" (or "Article 2(1), point (3)").
            return [qualify(label, d) for d in docs for label in _point_readings(local)]
        elif act:
            docs = [d for d in self.documents.values() if act in d.cite_as]
        else:
            docs = [d for d in self.documents.values() if not d.cite_as]
        return [qualify(local, d) for d in docs]

    def resolve(self, mention: RefMention, as_of: str | None = None) -> Resolved | None:
        """The provision a mention names, or its closest existing ancestor."""
        for depth, local in enumerate(parents(mention.local)):
            for ref in self._qualified(local, mention.act):
                p = self.version(ref, as_of)
                if p is not None and not p.deleted:
                    return Resolved(mention.local, p, exact=depth == 0)
        return None

    def lookup(self, text: str, as_of: str | None = None) -> list[Resolved]:
        """Every provision named in ``text`` that exists, in order, without repeats.

        A question that mentions the GDPR anywhere means the GDPR's articles.
        """
        found, seen = [], set()
        gdpr = bool(_GDPR_CONTEXT.search(text))
        for mention in find_refs(text):
            if gdpr and mention.act == "":
                mention = RefMention(mention.local, "gdpr", mention.start, mention.end)
            resolved = self.resolve(mention, as_of)
            if resolved and resolved.provision.ref not in seen:
                seen.add(resolved.provision.ref)
                found.append(resolved)
        return found

    # --- context of a passage --------------------------------------------------------------

    def cross_references(self, p: Provision, as_of: str | None = None) -> list[Provision]:
        """Provisions that ``p``'s text refers to ("referred to in Article 6(2)")."""
        doc = self.documents.get(p.doc_id)
        out, seen = [], {p.ref}
        for mention in find_refs(p.text):
            act = mention.act
            if act == "" and doc is not None and doc.kind is Kind.REGULATION and doc.cite_as:
                act = "gdpr" if doc.cite_as == "GDPR" else act
            resolved = self.resolve(RefMention(mention.local, act, 0, 0), as_of)
            if resolved and resolved.provision.ref not in seen:
                seen.add(resolved.provision.ref)
                out.append(resolved.provision)
        return out

    def definitions(self, doc_id: str, as_of: str | None = None) -> dict[str, Provision]:
        """Defined term (lower case) -> its definition in force, for one act."""
        out = {}
        for ref, versions in self._versions.items():
            first = versions[0]
            if first.doc_id == doc_id and first.unit is Unit.DEFINITION:
                p = self.version(ref, as_of)
                if p is not None and not p.deleted and p.term:
                    out[p.term.lower()] = p
        return out

    def define(self, term: str, as_of: str | None = None) -> Provision:
        """The definition of ``term`` (AI Act first, then other acts)."""
        wanted = term.strip().strip("‘’'\"").lower()
        docs = sorted(self.documents.values(), key=lambda d: (bool(d.cite_as), d.id))
        for doc in docs:
            found = self.definitions(doc.id, as_of).get(wanted)
            if found:
                return found
        singular = wanted.removesuffix("s")
        for doc in docs:  # plural: "deployers", "AI systems"
            found = self.definitions(doc.id, as_of).get(singular)
            if found:
                return found
        for doc in docs:  # whole words of a term: "recognition", "emotion recognition"
            for key, p in self.definitions(doc.id, as_of).items():
                if f" {wanted} " in f" {key} " or f" {singular} " in f" {key} ":
                    return p
        raise UnknownReference(f"No definition of {term!r}; try: python -m kb ask 'what is {term}'")

    def terms_used(self, p: Provision, as_of: str | None = None) -> list[Provision]:
        """Definitions of the act's defined terms that appear in ``p``'s text."""
        doc_id = p.doc_id if p.unit is not Unit.SECTION else self._main_act()
        if doc_id not in self._terms:
            self._terms[doc_id] = sorted(
                ((term, d.ref) for term, d in self.definitions(doc_id, as_of).items()),
                key=lambda item: -len(item[0]),
            )
        text = p.text.lower()
        out, seen = [], set()
        for term, ref in self._terms[doc_id]:
            if ref == p.ref or ref in seen:
                continue
            if re.search(_term_pattern(term), text):
                text = text.replace(term, " ")  # "AI system" inside "high-risk AI system"
                definition = self.version(ref, as_of)
                if definition is not None:
                    seen.add(ref)
                    out.append(definition)
        return out

    def _main_act(self) -> str:
        for doc in self.documents.values():
            if doc.kind is Kind.REGULATION and not doc.cite_as:
                return doc.id
        return ""

    # --- whole documents ----------------------------------------------------------------------

    def in_force(self, doc_id: str | None = None, as_of: str | None = None) -> list[Provision]:
        """Every provision in force on ``as_of`` (of one document), in document order."""
        out = []
        for ref in self._versions:
            p = self.version(ref, as_of)
            if p is not None and not p.deleted and (doc_id is None or p.doc_id == doc_id):
                out.append(p)
        return out

    def all_versions(self, doc_id: str) -> list[Provision]:
        """Every version of every provision of one document, in document order."""
        return [p for versions in self._versions.values() for p in versions
                if p.doc_id == doc_id]

    def main_act(self) -> str:
        """The id of the act refs without a suffix belong to (the AI Act)."""
        return self._main_act()

    def article(self, p: Provision, as_of: str | None = None) -> Provision | None:
        """The whole article (or annex) a provision belongs to."""
        ref = p.ref
        while True:
            current = self.version(ref, as_of)
            if current is None or not current.parent or current.parent not in self._versions:
                return current
            ref = current.parent

    def related_recitals(self, p: Provision, as_of: str | None = None) -> list[Provision]:
        """Recitals of the same act that cite the provision's article ("Article 50", also in
        a list: "Articles 50 and 52"), not another act's ("Article 16 TFEU")."""
        if not p.article:
            return []
        article = f"Article {p.article}"
        out = []
        for q in self.in_force(p.doc_id, as_of):
            if q.unit is Unit.RECITAL and any(
                    m.local == article and m.act == "" for m in find_refs(q.text)):
                out.append(q)
        return out[:5]

    def table_of_contents(self, doc_id: str, as_of: str | None = None, *,
                          recitals_per_group: int = 25) -> list[TocGroup]:
        """Chapters → sections → articles, then recitals, annexes and guideline sections.

        Of one document's provisions in force on ``as_of``; only top-level units are
        entries.
        """
        provisions = self.in_force(doc_id, as_of)
        doc = self.documents.get(doc_id)
        present = {p.ref for p in provisions}
        top = [p for p in provisions if not p.parent or p.parent not in present]
        recitals = [p for p in top if p.unit is Unit.RECITAL]
        groups: dict[str, TocGroup] = {}
        order: list[TocGroup] = []

        def group(title: str) -> TocGroup:
            if title not in groups:
                groups[title] = TocGroup(title)
                order.append(groups[title])
            return groups[title]

        for p in top:
            label = local_label(p.ref, doc)
            if p.unit is Unit.RECITAL:
                continue
            if p.unit is Unit.SECTION:
                first = p.text.split("\n")[0]
                short = first if len(first) <= 70 else first[:67].rstrip() + "…"
                group(p.section or "Text").entries.append((p.ref, f"{label} — {short}"))
                continue
            entry = (p.ref, f"{label} — {p.title}" if p.title else label)
            if p.unit is Unit.ANNEX:
                group("Annexes").entries.append(entry)
            elif p.chapter:
                chapter = group(p.chapter)
                if p.section:
                    sections = {g.title: g for g in chapter.groups}
                    if p.section not in sections:
                        chapter.groups.append(TocGroup(p.section))
                        sections[p.section] = chapter.groups[-1]
                    sections[p.section].entries.append(entry)
                else:
                    chapter.entries.append(entry)
            else:
                group("Articles").entries.append(entry)
        if recitals:
            head = TocGroup("Recitals")
            for i in range(0, len(recitals), recitals_per_group):
                batch = recitals[i:i + recitals_per_group]
                first, last = (local_label(batch[0].ref, doc), local_label(batch[-1].ref, doc))
                sub = TocGroup(f"{first} – {last}" if len(batch) > 1 else first)
                sub.entries = [(p.ref, local_label(p.ref, doc)) for p in batch]
                head.groups.append(sub)
            if len(head.groups) == 1:
                head.entries, head.groups = head.groups[0].entries, []
            order.insert(0, head)
        return order
