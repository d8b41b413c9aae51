"""Language versions of a document (the German and French AI Act): parse, check, chunk.

A language version (manifest ``translation_of``) is read by its original's parser and comes
out under the original's doc_id and refs, with its own ``lang`` and deep links.  It must
have exactly the provisions of the original's own text (amendments are English-only): one
with missing or extra refs is refused, naming them.  Its provisions and chunks go to the
catalog only, not to Chroma (the bundled embedding model reads English); which wording is
in force on a date is decided when it is read (``kb.law.library``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from ingest.chunking import DEFAULT_MAX_TOKENS, TokenCounter, approximate_tokens, chunk_document
from ingest.manifest import check_translation_of
from ingest.parsers import parse_document
from kb.errors import BadDocument
from kb.index.catalog import Catalog, DocumentRecord, StoredChunk, stored
from kb.records import Document, Provision

log = logging.getLogger(__name__)

LISTED = 25  # refs named per line of a refusal; the rest are counted


@dataclass
class TranslationSet:
    """What ingest writes to the catalog for the language versions."""

    records: list[DocumentRecord] = field(default_factory=list)
    provisions: dict[str, list[Provision]] = field(default_factory=dict)  # by version's id
    chunks: dict[str, list[StoredChunk]] = field(default_factory=dict)


def split_translations(documents: list[Document]) -> tuple[list[Document], list[Document]]:
    """(originals, language versions), each in manifest order."""
    originals = [d for d in documents if not d.translation_of]
    return originals, [d for d in documents if d.translation_of]


def parse_translation(corpus_dir: Path, doc: Document, original: Document) -> list[Provision]:
    """The provisions of a language version under its original's doc_id and refs."""
    # Refs are qualified like the original's ("Article 22(1) GDPR"), whatever the version's
    # own cite_as says.
    provisions = parse_document(corpus_dir, replace(doc, cite_as=original.cite_as))
    return [replace(p, doc_id=original.id) for p in provisions]


def original_refs(provisions: Iterable[Provision]) -> list[str]:
    """The refs of an act's own text, without those that amending acts inserted."""
    seen: dict[str, None] = {}
    for p in provisions:
        if not p.version_source:
            seen.setdefault(p.ref)
    return list(seen)


def differing_refs(expected: list[str], found: list[str]) -> tuple[list[str], list[str]]:
    """(refs of ``expected`` missing from ``found``, refs of ``found`` not in ``expected``).

    >>> differing_refs(["Article 1", "Article 2"], ["Article 2", "Article 3"])
    (['Article 1'], ['Article 3'])
    """
    have, want = set(found), set(expected)
    return [r for r in expected if r not in have], [r for r in found if r not in want]


def _listed(refs: list[str]) -> str:
    shown = ", ".join(refs[:LISTED])
    return shown + (f" … and {len(refs) - LISTED} more" if len(refs) > LISTED else "")


def check_refs(doc: Document, original: Document, expected: list[str],
               provisions: list[Provision]) -> None:
    """BadDocument, listing the differing refs, unless ``provisions`` have the refs of
    ``expected`` exactly."""
    missing, extra = differing_refs(expected, [p.ref for p in provisions])
    if not missing and not extra:
        return
    lines = [
        f"{doc.id} ({doc.language}) does not match {original.id}: {len(missing)} ref(s) "
        f"missing, {len(extra)} extra; a language version needs exactly the original's "
        f"provisions (check the file: {doc.file})"
    ]
    if missing:
        lines.append(f"  missing: {_listed(missing)}")
    if extra:
        lines.append(f"  extra: {_listed(extra)}")
    raise BadDocument("\n".join(lines))


def checked_translation(corpus_dir: Path, doc: Document, original: Document,
                        original_provisions: list[Provision]) -> list[Provision]:
    """Parse a language version and check its refs against the original's provisions."""
    provisions = parse_translation(corpus_dir, doc, original)
    check_refs(doc, original, original_refs(original_provisions), provisions)
    return provisions


def build_translations(
    corpus_dir: Path,
    translations: list[Document],
    documents: list[Document],
    parsed: dict[str, list[Provision]],
    old: Catalog | None,
    hashes: dict[str, str],
    *,
    count_tokens: TokenCounter = approximate_tokens,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> TranslationSet:
    """Parse, check and chunk every language version (before anything is embedded).

    ``parsed`` holds the originals ingest parsed this run; an unchanged original is read
    from the ``old`` catalog.  Raises BadDocument for a version whose refs differ.
    """
    out = TranslationSet()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for doc in translations:
        original = check_translation_of(doc, [*documents, *translations])
        source = parsed.get(original.id) or (old.provisions(original.id) if old else [])
        if not source:
            source = parse_document(corpus_dir, original)
        provisions = checked_translation(corpus_dir, doc, original, source)
        chunks = chunk_document(provisions, original, count_tokens=count_tokens,
                                max_tokens=max_tokens)
        out.provisions[doc.id] = provisions
        out.chunks[doc.id] = [stored(c) for c in chunks]
        units: dict[str, int] = {}
        for p in provisions:
            units[p.unit.value] = units.get(p.unit.value, 0) + 1
        out.records.append(DocumentRecord(doc, hashes.get(doc.id, ""), len(chunks), units, now))
        log.info("%s: %d provisions in %s of %s, %d chunks (catalog only)",
                 doc.id, len(provisions), doc.language, original.id, len(chunks))
    return out
