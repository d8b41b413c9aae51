"""Sync the corpus to the index: parse, consolidate, chunk, embed, store; incrementally
and safely.

A document whose source hash is unchanged keeps its vectors (copied, not re-embedded);
a changed one is replaced as a whole; a removed one disappears.  Every run that changes
anything builds a new Chroma generation and a new catalog, and only then switches to
them, so a failure half-way leaves the previous index fully usable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.chunking import chunk_document
from ingest.lock import writer_lock
from ingest.manifest import load_manifest
from ingest.parsers import parse_document, source_files, source_hash
from ingest.translations import build_translations, split_translations
from kb.config import Settings
from kb.console import no_progress
from kb.errors import KbError
from kb.index.catalog import CatalogContent, DocumentRecord, stored
from kb.index.embeddings import embed_texts, load_embedder, max_tokens, token_counter
from kb.index.store import Generation, Snapshot, Store
from kb.records import Document, Provision, StoredChunk

log = logging.getLogger(__name__)

# progress(stage, doc_id, done, total): stages "parse", "embed", "copy", "write".
Progress = Callable[[str, str, int, int], None]


@dataclass
class AmendmentReport:
    """How an amending act was applied to the act it amends."""

    doc_id: str
    target: str
    in_force: str
    applied: list[str]
    total: int
    failed: list[tuple[str, str]]

    def to_dict(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "target": self.target,
            "in_force": self.in_force,
            "applied": len(self.applied),
            "total": self.total,
            "failed": [list(f) for f in self.failed],
        }


@dataclass(frozen=True)
class SyncReport:
    """What a sync did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_copied: int = 0
    collection: str = ""
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def document_hashes(settings: Settings, documents: list[Document]) -> dict[str, str]:
    """Source hash per document; an amended act also depends on its amending acts."""
    own = {d.id: source_hash(settings.corpus_dir, d) for d in documents}
    combined = dict(own)
    for doc in documents:
        amending = sorted(own[a.id] for a in documents if a.amends == doc.id)
        if amending:
            joined = "|".join([own[doc.id], *amending])
            combined[doc.id] = hashlib.sha256(joined.encode()).hexdigest()[:16]
    return combined


def corpus_version(hashes: dict[str, str]) -> str:
    """One hash naming the whole corpus state (shown with every answer export)."""
    text = "|".join(f"{k}={v}" for k, v in sorted(hashes.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def consolidate_amendments(
    settings: Settings, documents: list[Document], parsed: dict[str, list[Provision]]
) -> list[AmendmentReport]:
    """Apply each amending act, oldest first, to the parsed act it amends (in place)."""
    amending = sorted((d for d in documents if d.amends in parsed), key=lambda d: d.date)
    if not amending:
        return []
    from ingest.consolidate import consolidate
    from ingest.instructions import entry_into_force, parse_instructions

    reports = []
    for doc in amending:
        path = source_files(settings.corpus_dir, doc)[0]
        in_force = entry_into_force(path)
        instructions = parse_instructions(path, doc)
        result = consolidate(parsed[doc.amends], doc, instructions, in_force=in_force)
        parsed[doc.amends] = result.provisions
        total = len({i.point.split("(")[0] for i in instructions})
        reports.append(
            AmendmentReport(doc.id, doc.amends, in_force, result.applied, total, result.failed)
        )
        for point, reason in result.failed:
            log.warning("%s: point (%s) not applied: %s", doc.id, point, reason)
    return reports


def unit_counts(provisions: list[Provision]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in provisions:
        if p.valid_until is None and not p.deleted:
            counts[p.unit.value] = counts.get(p.unit.value, 0) + 1
    return counts


@dataclass(frozen=True)
class Plan:
    """What a sync has to do, decided before anything is written."""

    documents: list[Document]
    hashes: dict[str, str]
    live: Snapshot | None  # the generation to copy unchanged documents from
    records: dict[str, DocumentRecord]  # the live catalog's documents, by id
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def plan(settings: Settings, store: Store, *, rebuild: bool = False) -> Plan:
    """Compare the manifest with the live index: which documents to embed, keep or drop."""
    documents = load_manifest(settings.manifest_path)
    hashes = document_hashes(settings, documents)
    live = store.live()  # replaced by the new generation; copied from unless rebuilding
    records = {r.document.id: r for r in live.catalog.documents()} if live else {}
    added, replaced, unchanged = [], [], []
    old_ids = set(records) | _catalog_ids(store)
    for doc in documents:
        if doc.id not in old_ids:
            added.append(doc.id)
        elif (rebuild or doc.id not in records
              or records[doc.id].source_hash != hashes[doc.id]):
            replaced.append(doc.id)  # changed, rebuilt, or its vectors are lost
        else:
            unchanged.append(doc.id)
    wanted = {d.id for d in documents}
    removed = [doc_id for doc_id in sorted(old_ids) if doc_id not in wanted]
    return Plan(documents, hashes, live, records, added, replaced, unchanged, removed)


def _catalog_ids(store: Store) -> set[str]:
    """Documents of the committed catalog, even when its vectors are unusable."""
    try:
        return {r.document.id for r in store.open_catalog().documents()}
    except KbError:
        return set()


def sync(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress = no_progress,
    store: Store | None = None,
) -> SyncReport:
    """Make the index match the manifest (holding the writer lock).  Returns what changed."""
    started = time.perf_counter()
    store = store or Store(settings)
    with writer_lock(settings):
        store.clean_stale()
        todo = plan(settings, store, rebuild=rebuild)
        if todo.live is not None and not todo.changed:
            log.info("index is up to date (%d documents)", len(todo.documents))
            return SyncReport(unchanged=todo.unchanged, collection=todo.live.collection,
                              seconds=time.perf_counter() - started)
        embedded, copied, collection = _build(settings, store, todo, progress)
    return SyncReport(added=todo.added, replaced=todo.replaced, removed=todo.removed,
                      unchanged=todo.unchanged, chunks_embedded=embedded, chunks_copied=copied,
                      collection=collection, seconds=time.perf_counter() - started)


def _build(settings: Settings, store: Store, todo: Plan,
           progress: Progress) -> tuple[int, int, str]:
    """Fill and commit a new generation: (chunks embedded, chunks copied, its name)."""
    changed = set(todo.added + todo.replaced)
    documents, translated = split_translations(todo.documents)  # language versions: catalog only
    parsed: dict[str, list[Provision]] = {}
    for i, doc in enumerate(documents):
        progress("parse", doc.id, i, len(documents))
        # An amended act needs its amending acts parsed too (they are small).
        if doc.id in changed or (doc.amends and doc.amends in changed):
            parsed[doc.id] = parse_document(settings.corpus_dir, doc, **settings.parse_limits)
    amendments = consolidate_amendments(settings, documents, parsed)
    progress("parse", "", len(documents), len(documents))

    embedder = load_embedder(settings.embed_model)
    count, limit = token_counter(embedder), max_tokens(embedder)
    translations = build_translations(settings.corpus_dir, translated, documents, parsed,
                                      todo.live.catalog if todo.live else None, todo.hashes,
                                      count_tokens=count, max_tokens=limit)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    records, provisions, chunks = [], {}, {}
    embedded = copied = 0
    with store.new_generation(source=todo.live) as generation:
        for doc in documents:
            if doc.id in changed:
                provisions[doc.id] = parsed.get(doc.id) or parse_document(
                    settings.corpus_dir, doc, **settings.parse_limits)
                doc_chunks = chunk_document(provisions[doc.id], doc, count_tokens=count,
                                            max_tokens=limit)
                chunks[doc.id] = [stored(c) for c in doc_chunks]
                units = {c.id: c.provision.unit.value for c in doc_chunks}
                _embed_into(generation, embedder, chunks[doc.id], units, doc.id, progress,
                            settings.embed_precision)
                embedded += len(doc_chunks)
                records.append(DocumentRecord(doc, todo.hashes[doc.id], len(doc_chunks),
                                              unit_counts(provisions[doc.id]), now))
            else:
                old = todo.live.catalog
                provisions[doc.id] = old.provisions(doc.id)
                chunks[doc.id] = old.chunks(doc.id)
                copied += generation.copy_from(
                    doc.id, progress=lambda n, d=doc.id: progress("copy", d, n, n))
                previous = todo.records[doc.id]
                records.append(DocumentRecord(doc, todo.hashes[doc.id], len(chunks[doc.id]),
                                              previous.unit_counts, previous.ingested_at))
        progress("write", "", 0, 1)
        old_amendments = todo.live.catalog.state("amendments", "[]") if todo.live else "[]"
        state = {
            "corpus_version": corpus_version(todo.hashes),
            "last_ingest": now,
            "embed_model": settings.embed_model,
            "amendments": json.dumps([a.to_dict() for a in amendments]) if amendments
            else old_amendments,
        }
        generation.commit(CatalogContent(records + translations.records, provisions, chunks,
                                         state, translations.provisions, translations.chunks))
    progress("write", "", 1, 1)
    return embedded, copied, generation.name


def _embed_into(generation: Generation, embedder, chunks: list[StoredChunk],
                units: dict[str, str], doc_id: str, progress: Progress, precision: str) -> None:
    step = 256
    for start in range(0, len(chunks), step):
        batch = chunks[start : start + step]
        progress("embed", doc_id, start, len(chunks))
        vectors = embed_texts(embedder, [c.embed_text for c in batch], precision=precision)
        generation.add(batch, units, vectors)
    progress("embed", doc_id, len(chunks), len(chunks))
