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
from ingest.manifest import load_manifest
from ingest.parsers import parse_document, source_files, source_hash
from ingest.translations import build_translations, split_translations
from kb.config import Settings
from kb.index.catalog import Catalog, DocumentRecord, StoredChunk, stored, write_catalog
from kb.index.embeddings import embed_texts, load_embedder, max_tokens, token_counter
from kb.index.store import DOC_KEY, Store, to_node
from kb.records import Document, Provision

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


@dataclass
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


def _no_progress(stage: str, doc_id: str, done: int, total: int) -> None:
    pass


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
    from ingest.consolidate import consolidate, entry_into_force, parse_instructions

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


def next_generation(store: Store) -> str:
    numbers = [int(name.rsplit("-g", 1)[1]) for name in store.generation_names()]
    return f"{store.settings.collection}-g{max(numbers, default=0) + 1:04d}"


def sync(
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress = _no_progress,
    store: Store | None = None,
) -> SyncReport:
    """Make the index match the manifest.  Returns what changed."""
    started = time.perf_counter()
    store = store or Store(settings)
    documents = load_manifest(settings.manifest_path)
    hashes = document_hashes(settings, documents)
    old = store.catalog if store.exists() else None
    old_records = {r.document.id: r for r in old.documents()} if old else {}
    report = SyncReport()
    for doc in documents:
        previous = old_records.get(doc.id)
        if previous is None:
            report.added.append(doc.id)
        elif rebuild or previous.source_hash != hashes[doc.id]:
            report.replaced.append(doc.id)
        else:
            report.unchanged.append(doc.id)
    manifest_ids = {d.id for d in documents}
    report.removed = [doc_id for doc_id in old_records if doc_id not in manifest_ids]
    if old and not report.changed and _collection_ok(store):
        report.collection = store.collection_name
        report.seconds = time.perf_counter() - started
        log.info("index is up to date (%d documents)", len(documents))
        return report
    if old and not report.changed:
        report.replaced, report.unchanged = report.unchanged, []  # vectors lost: rebuild
    _build(settings, store, documents, hashes, old, old_records, report, progress)
    report.seconds = time.perf_counter() - started
    return report


def _collection_ok(store: Store) -> bool:
    try:
        return store.collection is not None
    except Exception:
        return False


def _build(settings, store, documents, hashes, old, old_records, report, progress) -> None:
    documents, translated = split_translations(documents)  # language versions: catalog only
    changed_ids = set(report.added + report.replaced)
    parsed: dict[str, list[Provision]] = {}
    for i, doc in enumerate(documents):
        progress("parse", doc.id, i, len(documents))
        # An amended act needs its amending acts parsed too (they are small).
        if doc.id in changed_ids or (doc.amends and doc.amends in changed_ids):
            parsed[doc.id] = parse_document(settings.corpus_dir, doc)
    amendments = consolidate_amendments(settings, documents, parsed)
    progress("parse", "", len(documents), len(documents))

    embedder = load_embedder(settings.embed_model)
    count = token_counter(embedder)
    limit = max_tokens(embedder)
    translations = build_translations(settings.corpus_dir, translated, documents, parsed, old,
                                      hashes, count_tokens=count, max_tokens=limit)
    new_name = next_generation(store)
    collection = store.client.create_collection(new_name, metadata={"hnsw:space": "cosine"})
    try:
        records, chunks, provisions = [], {}, {}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        old_live = store.collection if old and _collection_ok(store) else None
        for doc in documents:
            if doc.id in changed_ids or old_live is None:
                provisions[doc.id] = parsed.get(doc.id) or parse_document(settings.corpus_dir, doc)
                doc_chunks = chunk_document(
                    provisions[doc.id], doc, count_tokens=count, max_tokens=limit
                )
                chunks[doc.id] = [stored(c) for c in doc_chunks]
                units = {c.id: c.provision.unit.value for c in doc_chunks}
                _embed_into(collection, embedder, chunks[doc.id], units, doc,
                            progress, settings.embed_precision)
                report.chunks_embedded += len(doc_chunks)
                records.append(
                    DocumentRecord(doc, hashes[doc.id], len(doc_chunks),
                                   unit_counts(provisions[doc.id]), now)
                )
            else:
                provisions[doc.id] = old.provisions(doc.id)
                chunks[doc.id] = old.chunks(doc.id)
                report.chunks_copied += _copy_vectors(old_live, collection, doc.id, progress)
                records.append(
                    DocumentRecord(doc, hashes[doc.id], len(chunks[doc.id]),
                                   old_records[doc.id].unit_counts, old_records[doc.id].ingested_at)
                )
        progress("write", "", 0, 1)
        state = {
            "collection": new_name,
            "corpus_version": corpus_version(hashes),
            "last_ingest": now,
            "embed_model": settings.embed_model,
            "amendments": json.dumps(
                [a.to_dict() for a in amendments] if amendments else _old_amendments(old)
            ),
        }
        write_catalog(settings.catalog_path, documents=records + translations.records,
                      provisions=provisions, chunks=chunks, state=state,
                      translations=translations.provisions,
                      translation_chunks=translations.chunks)
    except BaseException:
        log.warning("ingest failed; the previous index is unchanged")
        _drop(store, new_name)
        raise
    report.collection = new_name
    progress("write", "", 1, 1)
    for name in store.generation_names():
        if name != new_name:
            _drop(store, name)


def _old_amendments(old: Catalog | None) -> list:
    return json.loads(old.state("amendments", "[]")) if old else []


def _embed_into(collection, embedder, chunks: list[StoredChunk], units, doc, progress,
                precision: str) -> None:
    from llama_index.vector_stores.chroma import ChromaVectorStore

    vector_store = ChromaVectorStore(chroma_collection=collection)
    step = 256
    for start in range(0, len(chunks), step):
        batch = chunks[start : start + step]
        progress("embed", doc.id, start, len(chunks))
        vectors = embed_texts(embedder, [c.embed_text for c in batch], precision=precision)
        vector_store.add([to_node(c, units[c.id], v) for c, v in zip(batch, vectors, strict=True)])
    progress("embed", doc.id, len(chunks), len(chunks))


def _copy_vectors(source, target, doc_id: str, progress) -> int:
    """Copy one document's vectors between collections (no re-embedding)."""
    copied, offset, page = 0, 0, 1000
    while True:
        got = source.get(
            where={DOC_KEY: doc_id}, include=["embeddings", "documents", "metadatas"],
            limit=page, offset=offset,
        )
        if not got["ids"]:
            return copied
        target.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                   metadatas=got["metadatas"])
        copied += len(got["ids"])
        offset += page
        progress("copy", doc_id, copied, copied)


def _drop(store: Store, name: str) -> None:
    try:
        store.client.delete_collection(name)
    except Exception as error:  # leftover generations are removed by the next sync
        log.warning("could not delete collection %s: %s", name, error)
