"""The query adapter: the shipped matrix, its file format, and reproducible training."""

from __future__ import annotations

import logging

import numpy as np

from eval.train_adapter import _unit, build, train, training_pairs
from kb.obligations.catalogue import load_catalogue
from kb.search.adapter import ADAPTER_PATH, QueryAdapter


def test_the_shipped_adapter_is_for_the_bundled_model_and_trained_on_the_corpus():
    adapter = QueryAdapter.load("bundled")
    assert adapter is not None, "kb/search/adapter.npz is missing: run python -m eval.train_adapter"
    assert adapter.matrix.shape == (384, 384)
    assert "catalogue, article titles, definitions" in adapter.trained_on
    assert "question" not in adapter.trained_on  # never trained on evaluation questions


def test_another_embedding_model_gets_no_adapter():
    assert QueryAdapter.load("sentence-transformers/all-mpnet-base-v2") is None


def test_round_trip_and_unit_vectors(tmp_path):
    rng = np.random.default_rng(0)
    adapter = QueryAdapter(np.eye(4) + rng.normal(0, 0.1, (4, 4)).round(6), "bundled", "test")
    path = tmp_path / "adapter.npz"
    adapter.save(path)
    loaded = QueryAdapter.load("bundled", path)
    assert loaded is not None and loaded.trained_on == "test"
    assert np.allclose(loaded.matrix, adapter.matrix, atol=1e-6)
    mapped = np.asarray(loaded.apply([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    assert np.isclose(np.linalg.norm(mapped[0]), 1.0)
    assert not mapped[1].any()  # a zero vector stays zero instead of dividing by zero


def test_a_broken_file_means_no_adapter_with_a_warning(tmp_path, caplog):
    path = tmp_path / "adapter.npz"
    path.write_bytes(b"not a zip")
    with caplog.at_level(logging.WARNING, logger="kb.search.adapter"):
        assert QueryAdapter.load("bundled", path) is None
    assert "unreadable" in caplog.text
    assert QueryAdapter.load("bundled", tmp_path / "missing.npz") is None
    assert ADAPTER_PATH.name == "adapter.npz"


def test_the_assistant_searches_with_the_adapter_as_one_more_list(assistant):
    retriever = assistant.retriever
    assert retriever.adapter is not None
    lists = retriever.gather("Must our chatbot tell customers it is an AI?", as_of="2026-11-27")
    assert lists.adapted, "the adapted vector found nothing"
    assert set(i for i, _ in lists.adapted) <= set(lists.candidates())


def test_training_on_the_fixture_corpus_is_deterministic_and_pulls_pairs_together(assistant):
    first = build(assistant, steps=25).matrix
    second = build(assistant, steps=25).matrix
    assert np.array_equal(first, second)
    assert not np.array_equal(first, np.eye(first.shape[0]))

    retriever = assistant.retriever
    ids, passages = retriever.snapshot.dense.vectors()
    pairs = training_pairs(retriever, load_catalogue(), ids)
    assert len(pairs) >= 20
    queries = _unit(np.asarray(assistant.embed([text for text, _ in pairs])))
    passages = _unit(passages)
    matrix = train(queries, [rows for _, rows in pairs], passages, steps=40)

    def mean_target_rank(q: np.ndarray) -> float:
        scores = q @ passages.T
        ranks = [min(int((scores[k] > scores[k, r]).sum()) for r in rows)
                 for k, (_, rows) in enumerate(pairs)]
        return float(np.mean(ranks))

    assert mean_target_rank(_unit(queries @ matrix)) < mean_target_rank(queries)
