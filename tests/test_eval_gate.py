"""The evaluation gate: the full evaluation set on the full corpus must stay at or above
eval/thresholds.toml (the product only; the baseline is for the report)."""

from __future__ import annotations

import pytest

from eval.runner import load_questions, load_thresholds, run

pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def full_report(full_assistant) -> dict:
    return run(full_assistant, load_questions(), top_k=10, thresholds=load_thresholds(),
               questions_source="eval/questions.jsonl")


def test_full_eval_meets_every_threshold(full_report):
    broken = full_report["gate"]["broken"]
    assert not broken, "eval gate broken (eval/thresholds.toml):\n" + "\n".join(broken)


def test_every_answer_on_the_full_corpus_is_verbatim_and_cited(full_report):
    overall = full_report["systems"]["product"]["overall"]
    grounding = [f for f in full_report["systems"]["product"]["failures"]
                 if f["kind"] == "grounding"]
    assert overall["citation_validity"] == 1.0, grounding[:5]
    assert overall["answers_checked"] > 150


def test_assessment_section_lists_every_miss_with_both_parts_of_the_set(full_report):
    section = full_report["assessment"]
    overall = section["overall"]
    assert overall["cases"] >= 150 and overall["errors"] == 0
    assert {"tuning part", "held-back part", "cx", "near miss"} <= set(section["by_group"])
    wrong = round((1 - overall["accuracy"]) * overall["cases"])
    assert len(section["misses"]) == wrong
