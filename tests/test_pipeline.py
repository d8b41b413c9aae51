"""Incremental, safe ingest on the fixture corpus with the real model and a real Chroma."""

from __future__ import annotations

import pytest

from ingest.manifest import load_manifest, save_manifest
from ingest.pipeline import sync
from kb.assistant import Assistant
from kb.index.catalog import Catalog
from kb.index.store import DOC_KEY, Store

GUIDELINE_MD = "guidelines-transparency-art50"
VERSIONS = ["eu-ai-act-de", "eu-ai-act-fr"]  # language versions: catalog only, no vectors


def vectors(settings) -> dict[str, str]:
    """Chunk id -> doc id of every vector in the live collection."""
    store = Store(settings)
    got = store.collection.get(include=["metadatas"])
    return {i: m[DOC_KEY] for i, m in zip(got["ids"], got["metadatas"], strict=True)}


def test_fixture_index_has_every_document_and_matching_vectors(small_kb):
    catalog = Catalog(small_kb.catalog_path)
    ids = [r.document.id for r in catalog.documents()]
    assert ids == ["eu-ai-act", "guidelines-ai-system-definition", GUIDELINE_MD, *VERSIONS]
    stored = {c.id for c in catalog.chunks()}
    assert set(vectors(small_kb)) == stored
    assert not {c.id for c in catalog.translation_chunks()} & set(vectors(small_kb))


def test_noop_reingest_changes_nothing(fresh_kb):
    before = vectors(fresh_kb)
    assert len(before) == len(Catalog(fresh_kb.catalog_path).chunks()) > 150
    collection = Store(fresh_kb).collection_name
    report = sync(fresh_kb)
    assert not report.changed
    assert report.chunks_embedded == 0
    assert report.unchanged == ["eu-ai-act", *VERSIONS, "guidelines-ai-system-definition",
                                GUIDELINE_MD]
    assert Store(fresh_kb).collection_name == collection
    assert vectors(fresh_kb) == before


def test_editing_one_document_reembeds_only_that_document(fresh_kb):
    path = fresh_kb.corpus_dir / "guideline-excerpt.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("(14) ", "(14) Edited for the test. ", 1), encoding="utf-8")
    before = vectors(fresh_kb)
    report = sync(fresh_kb)
    assert report.replaced == [GUIDELINE_MD]
    assert report.unchanged == ["eu-ai-act", *VERSIONS, "guidelines-ai-system-definition"]
    md_chunks = [i for i, d in vectors(fresh_kb).items() if d == GUIDELINE_MD]
    assert report.chunks_embedded == len(md_chunks)
    assert report.chunks_copied == sum(1 for d in before.values() if d != GUIDELINE_MD)
    edited = Assistant.open(fresh_kb).show("Guidelines C(2026) 5054, para. 14")
    assert edited.text.startswith("Edited for the test.")


def test_removing_a_document_deletes_exactly_its_chunks(fresh_kb):
    before = vectors(fresh_kb)
    documents = load_manifest(fresh_kb.manifest_path)
    save_manifest(fresh_kb.manifest_path, [d for d in documents if d.id != GUIDELINE_MD])
    report = sync(fresh_kb)
    assert report.removed == [GUIDELINE_MD]
    after = vectors(fresh_kb)
    assert after == {i: d for i, d in before.items() if d != GUIDELINE_MD}
    assert GUIDELINE_MD not in {r.document.id for r in Catalog(fresh_kb.catalog_path).documents()}


class Boom(Exception):
    pass


def test_failure_mid_ingest_leaves_previous_index_intact_and_queryable(fresh_kb):
    before = vectors(fresh_kb)
    collection = Store(fresh_kb).collection_name
    path = fresh_kb.corpus_dir / "guideline-excerpt.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n(16) A new paragraph.\n",
                    encoding="utf-8")

    def explode(stage, doc_id, done, total):
        if stage == "embed" and doc_id == GUIDELINE_MD:
            raise Boom("injected failure while embedding")

    with pytest.raises(Boom):
        sync(fresh_kb, progress=explode)
    store = Store(fresh_kb)
    assert store.collection_name == collection
    assert store.generation_names() == [collection]  # the half-built one is gone
    assert vectors(fresh_kb) == before
    answer = Assistant.open(fresh_kb).ask("Do I have to tell customers they're talking to a bot?")
    assert answer.citations[0].ref == "Article 50(1)"
    # The next sync picks up the change.
    assert sync(fresh_kb).replaced == [GUIDELINE_MD]


def test_interrupt_mid_ingest_leaves_previous_index_intact(fresh_kb):
    before = vectors(fresh_kb)

    def interrupt(stage, doc_id, done, total):
        if stage == "embed" and doc_id == "guidelines-ai-system-definition":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(fresh_kb, progress=interrupt, rebuild=True)
    assert vectors(fresh_kb) == before
    assert len(Store(fresh_kb).generation_names()) == 1


def test_rebuild_when_vectors_are_lost(fresh_kb):
    store = Store(fresh_kb)
    store.client.delete_collection(store.collection_name)
    report = sync(fresh_kb)
    assert set(report.replaced) == {"eu-ai-act", "guidelines-ai-system-definition", GUIDELINE_MD,
                                    *VERSIONS}
    assert set(vectors(fresh_kb)) == {c.id for c in Catalog(fresh_kb.catalog_path).chunks()}
