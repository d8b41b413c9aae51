"""The learned fusion: the shipped model matches the features, training is reproducible."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from eval.train_ranker import Example, fit, measure
from kb.search.ranker import FEATURES, RANKER_PATH, Ranker


def synthetic(seed: int, questions: int = 30, candidates: int = 20) -> list[Example]:
    """Questions whose gold candidate stands out on the 'dense' and 'direct' features."""
    rng = np.random.default_rng(seed)
    dense, direct = FEATURES.index("dense"), FEATURES.index("direct")
    out = []
    for q in range(questions):
        x = rng.random((candidates, len(FEATURES)))
        label = np.zeros(candidates, dtype=int)
        gold = int(rng.integers(candidates))
        label[gold] = 2
        x[gold, dense] += 1.0
        x[gold, direct] = 1.0
        refs = [f"Article {q}({k + 1})" for k in range(candidates)]
        out.append(Example(f"q{q}", [f"c{q}-{k}" for k in range(candidates)], refs, set(), x,
                           label, [refs[gold]]))
    return out


def test_the_shipped_ranker_is_trained_on_the_current_features():
    ranker = Ranker.load()
    assert ranker is not None, "kb/search/ranker.json is missing or stale: " \
                               "run python -m eval.train_ranker"
    assert ranker.names == FEATURES
    assert "questions.jsonl" in ranker.trained_on  # trained on the dev set, never the held-out
    assert "heldout" not in ranker.trained_on


def test_training_twice_on_the_same_data_gives_the_same_weights():
    first = fit(synthetic(1), c=1.0, positive=2).to_json()
    second = fit(synthetic(1), c=1.0, positive=2).to_json()
    assert first == second
    assert first != fit(synthetic(2), c=1.0, positive=2).to_json()


def test_a_trained_ranker_puts_the_standout_candidate_first():
    ranker = fit(synthetic(3), c=1.0, positive=2)
    assert ranker.weights[FEATURES.index("dense")] > 0
    assert measure(synthetic(4), ranker)["provision_hit_1"] >= 0.9
    assert measure(synthetic(4), None)["provision_hit_1"] < 0.5  # its 'rrf' feature is noise


def test_round_trip_through_json(tmp_path):
    ranker = fit(synthetic(5), c=0.3, positive=2)
    path = tmp_path / "ranker.json"
    path.write_text(ranker.to_json(), encoding="utf-8")
    assert Ranker.load(path) == ranker


@pytest.mark.parametrize("content", ["{not json", json.dumps({"names": ["dense"]}),
                                     json.dumps({"names": ["x"], "means": [0], "scales": [1],
                                                 "weights": [1], "intercept": 0})])
def test_a_broken_or_stale_model_falls_back_to_fusion_with_a_warning(tmp_path, caplog, content):
    path = tmp_path / "ranker.json"
    path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kb.search.ranker"):
        assert Ranker.load(path) is None
    assert "reciprocal rank fusion" in caplog.text


def test_no_model_file_means_fusion(tmp_path):
    assert Ranker.load(tmp_path / "missing.json") is None
    assert RANKER_PATH.name == "ranker.json"


FIXTURE_QUESTIONS = [
    {"id": "bot", "question": "Must our chatbot tell customers it is an AI?",
     "gold": ["Article 50(1)"]},
    {"id": "emotion", "question": "Can we read employees' emotions from their voice at work?",
     "gold": ["Article 5(1)(f)"]},
    {"id": "deployer", "question": "What is a deployer?", "gold": ["Article 3(4)"]},
    {"id": "when", "question": "When does the regulation apply?", "gold": ["Article 113"]},
    {"id": "deepfake", "question": "Do we have to label deepfake videos in our ads?",
     "gold": ["Article 50(4)"]},
    {"id": "highrisk", "question": "Which AI systems are high-risk?", "gold": ["Article 6"]},
]


def test_a_ranker_trained_on_the_fixture_corpus_is_deterministic(assistant):
    from eval.train_ranker import examples

    first = examples(assistant, FIXTURE_QUESTIONS, "2026-11-27")
    second = examples(assistant, FIXTURE_QUESTIONS, "2026-11-27")
    assert [e.ids for e in first] == [e.ids for e in second]
    assert all(np.array_equal(a.x, b.x) for a, b in zip(first, second, strict=True))
    one, two = fit(first, c=1.0, positive=1), fit(second, c=1.0, positive=1)
    assert one.to_json() == two.to_json()
    rows = np.vstack([e.x for e in first])
    assert [one.score(r) for r in rows] == [two.score(r) for r in rows]
    assert sum(int(e.label.max() > 0) for e in first) >= 5  # the gold is among the candidates
