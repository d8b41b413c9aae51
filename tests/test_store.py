"""kb.index.store on a private copy of the indexed fixture corpus: snapshots, the key readers
poll, the generation life cycle (add, copy, commit, discard, grace period, stale leftovers),
dense and BM25 search with repeatable order, and one-line errors."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from kb.errors import IndexMissing, StoreUnavailable
from kb.index.catalog import CatalogContent, write_catalog
from kb.index.store import DOC_KEY, INDEX_FORMAT, NO_END, LexicalIndex, Store, ranked
from kb.records import StoredChunk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST = "kb-g0001"  # the fixture index has one generation


def stored(chunk_id: str, text: str, *, ref: str = "Article 1", doc_id: str = "doc",
           valid_from: str | None = None) -> StoredChunk:
    return StoredChunk(chunk_id, doc_id, ref, 0, valid_from, None, text, text, "hash")


def copy_live(store: Store, **grace) -> str:
    """Commit a new generation that copies every document of the live one; its name."""
    live = store.snapshot()
    generation = store.new_generation(source=live)
    for record in live.catalog.documents():
        generation.copy_from(record.document.id)
    generation.commit(CatalogContent.read(live.catalog))
    return generation.name


def commit_vectors(store: Store, items: dict[str, list[float]]) -> None:
    """A live generation holding exactly these chunk ids and vectors (a synthetic index)."""
    chunks = [stored(i, f"text of {i}") for i in items]
    with store.new_generation() as generation:
        generation.add(chunks, {c.id: "article" for c in chunks}, list(items.values()))
        generation.commit(CatalogContent([], {}, {"doc": chunks}, {}))


# --- snapshots and the key --------------------------------------------------------------------


def test_snapshot_opens_the_live_generation_with_its_catalog(fresh_kb):
    store = Store(fresh_kb)
    snapshot = store.snapshot()
    assert snapshot.collection == store.collection_name == FIRST
    assert snapshot.key == store.current_key()
    assert snapshot.catalog.state("index_format") == INDEX_FORMAT
    stored_ids = {c.id for c in snapshot.catalog.chunks()}
    assert set(store.collection.get(include=[])["ids"]) == stored_ids


def test_current_key_changes_exactly_when_a_generation_is_committed(fresh_kb):
    store = Store(fresh_kb)
    before = store.current_key()
    live = store.snapshot()
    generation = store.new_generation(source=live)
    for record in live.catalog.documents():
        generation.copy_from(record.document.id)
    assert store.current_key() == before  # filled, not committed: readers see nothing new
    assert store.snapshot().collection == FIRST
    generation.commit(CatalogContent.read(live.catalog))
    after = store.current_key()
    assert after != before
    assert store.snapshot().collection == "kb-g0002"
    store.open_catalog()
    store.snapshot()
    assert store.current_key() == after  # reading never changes it


def test_current_key_is_none_without_a_catalog(tmp_path):
    from conftest import settings_for

    assert Store(settings_for(tmp_path / "corpus", tmp_path / "data")).current_key() is None


# --- the generation life cycle ----------------------------------------------------------------


def test_copy_from_moves_a_documents_vectors_without_reembedding(fresh_kb):
    store = Store(fresh_kb)
    live = store.snapshot()
    old = store.collection.get(include=["embeddings", "metadatas"])
    with store.new_generation(source=live) as generation:
        counts = {r.document.id: generation.copy_from(r.document.id)
                  for r in live.catalog.documents()}
        assert generation.count == sum(counts.values()) == len(old["ids"])
        generation.commit(CatalogContent.read(live.catalog))
    assert counts["eu-ai-act-de"] == 0  # language versions have no vectors
    new = store.collection.get(ids=old["ids"], include=["embeddings", "metadatas"])
    assert new["ids"] == old["ids"]
    # The same vectors, to float32 precision (Chroma re-reads them from its own index).
    assert np.allclose(new["embeddings"], old["embeddings"], rtol=0, atol=1e-7)
    assert new["metadatas"] == old["metadatas"]


def test_add_stores_vectors_with_flat_citation_metadata(fresh_kb):
    store = Store(fresh_kb)
    chunk = stored("doc:1", "Providers shall act.", ref="Article 4", valid_from="2030-01-01")
    with store.new_generation() as generation:
        assert generation.name == "kb-g0002"
        generation.add([chunk], {"doc:1": "article"}, [[1.0, 0.0, 0.0]])
        generation.commit(CatalogContent([], {}, {"doc": [chunk]}, {}))
    got = store.collection.get(include=["documents", "metadatas"])
    assert got["ids"] == ["doc:1"]
    assert got["documents"] == ["Providers shall act."]
    metadata = got["metadatas"][0]
    assert {k: metadata[k] for k in (DOC_KEY, "ref", "unit", "part", "valid_from",
                                     "valid_until")} == {
        DOC_KEY: "doc", "ref": "Article 4", "unit": "article", "part": 0,
        "valid_from": 20300101, "valid_until": NO_END}


def test_discard_drops_the_new_generation_and_keeps_the_live_one(fresh_kb, caplog):
    store = Store(fresh_kb)
    key = store.current_key()
    generation = store.new_generation(source=store.snapshot())
    generation.copy_from("eu-ai-act")
    assert store.generation_names() == [FIRST, "kb-g0002"]
    generation.discard()
    assert store.generation_names() == [FIRST]
    assert store.current_key() == key
    assert "generation kb-g0002 discarded; the previous index is unchanged" in caplog.text


def test_an_error_inside_the_with_block_discards_the_generation(fresh_kb):
    store = Store(fresh_kb)
    with pytest.raises(RuntimeError, match="embedding failed"), \
            store.new_generation(source=store.snapshot()) as generation:
        generation.copy_from("eu-ai-act")
        raise RuntimeError("embedding failed")
    assert store.generation_names() == [FIRST]
    assert store.snapshot().collection == FIRST


def test_a_retired_generation_stays_for_the_grace_period_then_goes(fresh_kb):
    store = Store(fresh_kb.with_(generation_grace=600))
    old = store.snapshot()
    second = copy_live(store)
    assert [r["name"] for r in store.retired()] == [FIRST]
    assert store.generation_names() == [FIRST, second]
    assert old.dense.query([[0.05] * 384], 3)[0]  # a reader of the old generation still reads

    # Pretend the first generation was retired two hours ago: the next commit drops it and
    # keeps the one it retires now.
    content = CatalogContent.read(store.open_catalog())
    long_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    write_catalog(fresh_kb.catalog_path, content.with_state(
        {**content.state, "retired": json.dumps([{"name": FIRST, "at": long_ago}])}))
    third = copy_live(store)
    assert [r["name"] for r in store.retired()] == [second]
    assert store.generation_names() == [second, third]

    # With no grace period, a commit drops what it retires at once.
    fourth = copy_live(Store(fresh_kb.with_(generation_grace=0)))
    assert store.retired() == []
    assert store.generation_names() == [fourth]


def test_clean_stale_drops_only_collections_neither_live_nor_retired(fresh_kb, caplog):
    store = Store(fresh_kb.with_(generation_grace=600))
    second = copy_live(store)  # the first is retired, within its grace period
    killed = store.new_generation(source=store.snapshot())  # never committed nor discarded
    killed.copy_from("eu-ai-act")
    with caplog.at_level(logging.WARNING):
        assert store.clean_stale() == [killed.name]
    assert store.generation_names() == [FIRST, second]
    assert f"dropping collection {killed.name} left by an interrupted ingest" in caplog.text
    assert store.clean_stale() == []


def test_new_generation_is_numbered_after_the_highest_existing_one(fresh_kb):
    store = Store(fresh_kb)
    leftover = store.new_generation()
    assert leftover.name == "kb-g0002"
    assert store.new_generation().name == "kb-g0003"


# --- dense search -----------------------------------------------------------------------------


def test_dense_query_gives_rounded_cosines_best_first_ties_by_id(fresh_kb):
    store = Store(fresh_kb)
    commit_vectors(store, {"c": [1.0, 0.0, 0.0], "a": [2.0, 0.0, 0.0], "b": [1.0, 1.0, 0.0],
                           "d": [0.0, 0.0, 1.0]})
    dense = store.snapshot().dense
    first, second = dense.query([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 3)
    # "a" and "c" point the same way: cosine 1.0 each, so their ids decide.
    assert first == [("a", 1.0), ("c", 1.0), ("b", round(1 / np.sqrt(2), 6))]
    assert second[0] == ("b", round(1 / np.sqrt(2), 6))
    assert [s for _, s in second] == sorted((s for _, s in second), reverse=True)


def test_dense_query_of_the_fixture_index_is_the_same_in_another_process(fresh_kb, tmp_path):
    store = Store(fresh_kb)
    stored_vectors = store.collection.get(include=["embeddings"], limit=4)["embeddings"]
    noise = np.random.default_rng(7).normal(0, 0.02, (2, len(stored_vectors[0])))
    vectors = [(np.asarray(stored_vectors[0]) + noise[0]).tolist(),
               (np.mean(stored_vectors[1:], axis=0) + noise[1]).tolist()]
    here = store.snapshot().dense.query(vectors, 20)
    assert len(here[0]) == len(here[1]) == 20
    assert here[0][0][0] == store.collection.get(limit=1, include=[])["ids"][0]

    (tmp_path / "vectors.json").write_text(json.dumps(vectors))
    script = (
        "import json, sys\n"
        "from kb.config import Settings\n"
        "from kb.index.store import Store\n"
        "settings = Settings.from_env()\n"
        "vectors = json.load(open(sys.argv[1]))\n"
        "print(json.dumps(Store(settings).snapshot().dense.query(vectors, 20)))\n"
    )
    env = {**os.environ, "KB_DATA_DIR": str(fresh_kb.data_dir),
           "KB_CORPUS_DIR": str(fresh_kb.corpus_dir), "CHROMA_HOST": "", "KB_COLLECTION": "kb"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "vectors.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    there = [[(i, s) for i, s in pairs] for pairs in json.loads(done.stdout)]
    assert there == here


# --- lexical search and ranking ---------------------------------------------------------------


def test_lexical_search_ranks_by_bm25_then_by_id():
    index = LexicalIndex([
        stored("x2", "emotion recognition systems must inform natural persons"),
        stored("x1", "emotion recognition in the workplace is prohibited"),
        stored("x3", "credit scoring of natural persons"),
        stored("b-dup", "biometric categorisation by sensitive traits"),
        stored("a-dup", "biometric categorisation by sensitive traits"),
    ], {}, top_k=10)
    found = index.search("emotion recognition at the workplace")
    assert [i for i, _ in found[:2]] == ["x1", "x2"]
    assert found[0][1] > found[1][1] > 0
    assert [i for i, s in found if s == 0] == ["a-dup", "b-dup", "x3"]
    twins = index.search("biometric categorisation")
    assert [i for i, _ in twins[:2]] == ["a-dup", "b-dup"]
    assert twins[0][1] == twins[1][1] > 0


def test_lexical_search_reads_the_context_line_too():
    chunk = replace(stored("t", "Providers shall ensure it."),
                    embed_text="AI Act Article 50(1) Transparency obligations\nProviders "
                               "shall ensure it.")
    index = LexicalIndex([chunk, stored("u", "Deployers shall do something else.")], {},
                         top_k=2)
    best, score = index.search("transparency obligations")[0]
    assert best == "t" and score > 0  # the words are only in its context line


def test_ranked_rounds_away_float_noise_and_breaks_ties_by_id():
    result = ranked([("b", 0.1 + 0.2), ("a", 0.3), ("c", 0.2999999)])
    assert result == [("a", 0.3), ("b", 0.3), ("c", 0.3)]
    assert ranked([("z", np.float32(0.5)), ("y", 0.75)]) == [("y", 0.75), ("z", 0.5)]


# --- errors -----------------------------------------------------------------------------------


def test_a_missing_collection_is_a_one_line_index_missing(fresh_kb):
    store = Store(fresh_kb)
    snapshot = store.snapshot()
    store.client.delete_collection(FIRST)
    message = (f"The index is being rebuilt or was removed (collection '{FIRST}' is missing "
               f"from {fresh_kb.chroma_dir}); retry in a moment, or rebuild with: "
               "python -m ingest --rebuild")
    with pytest.raises(IndexMissing) as raised:
        store.snapshot()
    assert str(raised.value) == message
    with pytest.raises(IndexMissing) as raised:
        snapshot.dense.query([[0.05] * 384], 3)  # a reader that had opened it
    assert str(raised.value) == message


def test_an_index_of_an_older_format_asks_for_a_rebuild(fresh_kb):
    content = CatalogContent.read(Store(fresh_kb).open_catalog())
    write_catalog(fresh_kb.catalog_path,
                  content.with_state({**content.state, "index_format": "1"}))
    with pytest.raises(IndexMissing) as raised:
        Store(fresh_kb).snapshot()
    assert str(raised.value) == (f"The index in {fresh_kb.data_dir} was built by an older "
                                 "version. Rebuild with: python -m ingest")


def test_an_unreachable_server_is_a_one_line_store_unavailable(fresh_kb):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free: nothing listens there
    store = Store(fresh_kb.with_(chroma_host="127.0.0.1", chroma_port=port))
    with pytest.raises(StoreUnavailable) as raised:
        store.snapshot()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot reach the Chroma server at http://127.0.0.1:{port} (")
    assert message.endswith(f"); is it running? Start it with: chroma run --path "
                            f"data/chroma-server --port {port}")
