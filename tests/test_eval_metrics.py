"""The evaluation metrics on hand-made data, and the eval machinery on the smoke set."""

from __future__ import annotations

import doctest
import json
import tomllib
from dataclasses import replace

import pytest
from click.testing import CliRunner

import eval.baseline
import eval.metrics
import eval.report
from eval.baseline import RefMapper, html_text, leaves, shingles
from eval.cli import cli
from eval.metrics import (
    Grounding,
    Outcome,
    Thresholds,
    abstention_scores,
    ancestors,
    article_level,
    article_match,
    failures,
    first_hit,
    gate,
    hit_at,
    marker_coverage,
    provision_match,
    recall_at,
    reciprocal_rank,
    summarise,
    target_status,
    unsupported_figures,
)
from eval.runner import EVAL_DIR, THRESHOLDS_PATH, parse_questions
from kb.errors import KbError
from kb.records import Provision, Unit


def outcome(qid="q", category="cx", gold=("Article 50(1)",), cited=(), retrieved=None,
            abstained=False, needs_all=False, grounding=None, timing=100.0) -> Outcome:
    cited = tuple((r,) for r in cited)
    retrieved = cited if retrieved is None else tuple((r,) for r in retrieved)
    return Outcome(qid, category, f"question {qid}", tuple(gold), needs_all, cited, retrieved,
                   abstained=abstained, timing_ms=timing, wall_ms=timing, grounding=grounding)


@pytest.mark.parametrize("module", [eval.metrics, eval.baseline, eval.report])
def test_eval_doctests_pass(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


# --- refs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref, top", [
    ("Article 5(1)(f)", "Article 5"),
    ("Article 5(1)(h)(i)", "Article 5"),
    ("Article 4a(1)(e)", "Article 4a"),
    ("Annex III, point 5(b)", "Annex III"),
    ("Annex VIII, Section A, point 1", "Annex VIII"),
    ("Recital 132", "Recital 132"),
    ("Article 22(1) GDPR", "Article 22 GDPR"),
    ("Recital 71 GDPR", "Recital 71 GDPR"),
    ("Guidelines C(2025) 5052, para. 123", "Guidelines C(2025) 5052, para. 123"),
    ("Regulation (EU) 2026/1744, Article 1, point (40)", "Regulation (EU) 2026/1744, Article 1"),
    ("Article 113", "Article 113"),
])
def test_article_level_reduces_each_ref_kind_to_its_top_unit(ref, top):
    assert article_level(ref) == top


def test_refs_of_different_documents_never_match():
    assert not article_match("Article 22(1)", "Article 22(1) GDPR")
    assert not provision_match("Article 22(1) GDPR", "Article 22(1)")
    assert not article_match("Guidelines C(2025) 5052, para. 40",
                             "Guidelines C(2026) 5054, para. 40")
    assert article_match("Article 22(3) GDPR", "Article 22(1) GDPR")


def test_provision_match_accepts_the_gold_ref_or_a_descendant_only():
    assert provision_match("Article 5(1)(f)", "Article 5(1)(f)")
    assert provision_match("Article 5(1)(f)", "Article 5(1)")  # more precise than the gold
    assert provision_match("Article 113(c)", "Article 113")
    assert provision_match("Annex III, point 5(c)", "Annex III, point 5")
    assert not provision_match("Article 5(1)", "Article 5(1)(f)")  # the enclosing paragraph
    assert not provision_match("Article 5", "Article 5(1)(f)")
    assert not provision_match("Article 5(1)(g)", "Article 5(1)(f)")  # a sibling
    assert not provision_match("Article 50(1)", "Article 5(1)")  # a prefix, not a parent


def test_ancestors_keep_the_document_qualifier():
    assert ancestors("Guidelines C(2026) 5054, para. 38") == ["Guidelines C(2026) 5054, para. 38"]
    assert ancestors("Article 13(2)(f) GDPR") == [
        "Article 13(2)(f) GDPR", "Article 13(2) GDPR", "Article 13 GDPR"]


# --- ranking ---------------------------------------------------------------------------------


RANKED = [("Recital 1",), ("Article 50(2)",), ("Article 50(1)",), ("Article 4",)]


def test_hit_at_k_counts_the_first_position_matching_any_gold_ref():
    gold = ["Article 50(1)", "Recital 132"]
    assert first_hit(RANKED, gold, provision_match) == 3
    assert first_hit(RANKED, gold, article_match) == 2  # Article 50(2) is the same article
    assert not hit_at(RANKED, gold, 2, provision_match)
    assert hit_at(RANKED, gold, 3, provision_match)
    assert hit_at(RANKED, gold, 2, article_match)
    assert first_hit(RANKED, ["Article 99(4)"], article_match) is None


def test_mrr_is_the_reciprocal_of_the_first_hit_rank():
    assert reciprocal_rank(RANKED, ["Article 50(1)"], provision_match) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKED, ["Article 50(1)"], article_match) == 0.5
    assert reciprocal_rank(RANKED, ["Annex III"], article_match) == 0.0


def test_a_baseline_chunk_position_hits_if_any_of_its_refs_does():
    ranked = [("Recital 1", "Recital 2"), ("Article 3(4)", "Article 3(5)", "Article 3(6)")]
    assert first_hit(ranked, ["Article 3(5)"], provision_match) == 2


def test_needs_all_recall_counts_each_required_ref_within_the_top_10():
    gold = ["Article 50(1)", "Article 50(4)"]
    assert recall_at(RANKED, gold, 10, provision_match) == 0.5
    assert recall_at([*RANKED, ("Article 50(4)",)], gold, 10, provision_match) == 1.0
    assert recall_at([("Article 4",)] * 10 + [("Article 50(4)",)], gold, 10,
                     provision_match) == 0.0


# --- grounding ---------------------------------------------------------------------------------


def test_figures_must_occur_in_the_cited_text():
    source = ("Non-compliance shall be subject to administrative fines of up to EUR 35 000 000 "
              "or, if the offender is an undertaking, up to 7 % of its total worldwide annual "
              "turnover. This Regulation shall apply from 2 August 2026.")
    assert unsupported_figures("fines of up to EUR 35 000 000 or 7 %", source) == []
    assert unsupported_figures("It applies from 2 August 2026.", source) == []
    assert unsupported_figures("fines of up to EUR 15 000 000 or 3 %", source) == [
        "15000000", "3"]
    assert unsupported_figures("It applies from 2 December 2027.", source) == ["2027-12-02"]
    assert unsupported_figures("It applies from 2.8.2026 on.", source) == []
    assert unsupported_figures("No figures at all.", source) == []


def test_marker_coverage_counts_sentences_without_a_marker():
    assert marker_coverage("A deployer shall inform. [1] Providers shall mark outputs. [2]") == (
        2, 2)
    assert marker_coverage("A deployer shall inform. Providers shall mark outputs. [1]") == (1, 2)
    assert marker_coverage("A deployer shall inform. [1] Unsupported claim here.") == (1, 2)
    assert marker_coverage("") == (0, 0)


# --- abstention and summary ------------------------------------------------------------------


def test_abstention_precision_recall_and_false_abstention():
    cases = [(False, True)] * 3 + [(False, False)] + [(True, True)] + [(True, False)] * 9
    scores = abstention_scores(cases)
    assert scores["abstention_precision"] == 0.75
    assert scores["abstention_recall"] == 0.75
    assert scores["false_abstention"] == 0.1
    assert abstention_scores([(True, False)])["abstention_precision"] is None


def test_summary_counts_an_abstention_as_a_miss_but_keeps_its_retrieval():
    outcomes = [
        outcome("a", cited=["Article 50(1)"]),
        outcome("b", abstained=True, retrieved=["Recital 1", "Article 50(1)"]),
        outcome("c", category="out_of_scope", gold=(), abstained=True),
    ]
    s = summarise(outcomes)
    assert (s["questions"], s["in_scope"], s["out_of_scope"]) == (3, 2, 1)
    assert s["article_hit_1"] == 0.5
    assert s["retrieval"]["article_hit_1"] == 0.5
    assert s["retrieval"]["article_hit_3"] == 1.0
    assert s["article_mrr"] == 0.5
    assert s["retrieval"]["article_mrr"] == 0.75
    assert s["false_abstention"] == 0.5
    assert s["abstention_recall"] == 1.0
    assert s["curves"]["article"] == [0.5] * 10
    assert s["citation_validity"] is None  # no grounding recorded: n/a, not 0


def test_answer_metrics_score_what_the_text_quotes_first_and_at_all():
    def quoting(qid, used, **kw):
        return replace(outcome(qid, cited=used, **kw), used=tuple(used))

    outcomes = [
        quoting("lead", ["Article 50(1)", "Recital 132"]),  # right provision first
        quoting("article", ["Article 50(2)", "Article 50(1)"]),  # right article first
        quoting("late", ["Recital 1", "Article 50(1)"]),  # gold quoted, but not first
        quoting("wrong", ["Article 6(2)"]),
        replace(outcome("abstained", abstained=True), used=()),
        replace(outcome("oos", category="out_of_scope", gold=(), abstained=True), used=()),
    ]
    s = summarise(outcomes)
    assert s["lead_provision_hit"] == 1 / 5  # in-scope only; an abstention is a miss
    assert s["lead_article_hit"] == 2 / 5
    assert s["answer_hit"] == 3 / 5
    assert s["answer_precision"] == 4 / 7  # gold-article refs among all refs quoted


def test_decisions_close_to_an_abstention_threshold_are_counted():
    outcomes = [replace(outcome("a"), margin=0.004), replace(outcome("b"), margin=0.2),
                replace(outcome("c"), margin=None),
                replace(outcome("d", abstained=True), margin=0.0099)]
    assert summarise(outcomes)["abstention_within_margin"] == 2


def test_citation_validity_pools_citations_and_sentences_of_answered_questions():
    good = Grounding(citations=3, citations_valid=3, sentences=2, sentences_verified=2,
                     text_sentences=2, text_marked=2, figures=1, figures_supported=1)
    bad = Grounding(citations=3, citations_valid=3, sentences=2, sentences_verified=1,
                    text_sentences=2, text_marked=1, problems=("[2] Article 4: text differs",))
    s = summarise([outcome("a", grounding=good, cited=["Article 50(1)"]),
                   outcome("b", grounding=bad, cited=["Article 50(1)"])])
    assert s["citation_validity"] == 0.9
    assert s["marker_share"] == 0.75
    assert s["figures_supported"] == 1.0
    assert failures([outcome("b", grounding=bad)])[0].kind == "grounding"


def test_failures_name_what_went_wrong():
    found = {f.id: f for f in failures([
        outcome("ok", cited=["Article 50(1)"]),
        outcome("abst", abstained=True, retrieved=["Article 50(1)"]),
        outcome("oos", category="out_of_scope", gold=(), cited=["Recital 1"]),
        outcome("art", cited=["Article 4"] * 5 + ["Article 50(1)"]),
        outcome("prov", cited=["Article 50(2)"]),
        outcome("all", gold=("Article 50(1)", "Article 50(4)"), needs_all=True,
                cited=["Article 50(1)"]),
    ])}
    assert "ok" not in found
    assert found["abst"].kind == "abstained_in_scope"
    assert found["abst"].detail == "retrieval had a gold provision at rank 1"
    assert found["oos"].kind == "answered_out_of_scope"
    assert found["art"].kind == "article_miss"
    assert found["prov"].kind == "provision_miss"
    assert found["all"].kind == "needs_all_partial"


# --- the gate -------------------------------------------------------------------------------


def test_gate_names_each_metric_below_its_floor_or_above_its_ceiling():
    thresholds = Thresholds.from_dict({
        "min": {"article_hit_5": 0.8, "target_article_hit_5": 0.95, "citation_validity": 1.0},
        "max": {"false_abstention": 0.1, "target_false_abstention": 0.05},
    })
    summary = {"article_hit_5": 0.79, "citation_validity": 1.0, "false_abstention": 0.12}
    assert gate(summary, thresholds) == [
        "article_hit_5 = 0.790 is below the threshold 0.800",
        "false_abstention = 0.120 is above the threshold 0.100",
    ]
    status = {t["metric"]: t for t in target_status(summary, thresholds)}
    assert status["article_hit_5"]["gap"] == 0.16 and not status["article_hit_5"]["met"]
    assert "citation_validity" not in status  # no target recorded


def test_gate_treats_a_missing_value_as_broken_and_an_unknown_metric_as_an_error():
    thresholds = Thresholds.from_dict({"min": {"abstention_precision": 0.5}})
    assert gate({"abstention_precision": None}, thresholds) == [
        "abstention_precision = n/a is below the threshold 0.500"]
    with pytest.raises(KeyError, match="unknown metric 'abstention_precision'"):
        gate({}, thresholds)


def test_thresholds_file_records_the_issue_targets_for_every_gated_metric():
    data = tomllib.loads(THRESHOLDS_PATH.read_text(encoding="utf-8"))
    targets = {**{k: v for k, v in data["min"].items() if k.startswith("target_")},
               **{k: v for k, v in data["max"].items() if k.startswith("target_")}}
    assert targets == {
        "target_article_hit_1": 0.75, "target_lead_article_hit": 0.75,
        "target_provision_hit_1": 0.60,
        "target_article_hit_5": 0.95, "target_article_mrr": 0.85,
        "target_provision_hit_5": 0.85, "target_citation_validity": 1.0,
        "target_abstention_recall": 0.95, "target_false_abstention": 0.05,
        "target_assessment.accuracy": 0.92, "target_assessment.prohibited_f1": 0.92,
        "target_assessment.high_risk_f1": 0.92, "target_assessment.macro_f1": 0.88,
        "target_assessment.deciding_ref_found": 0.90, "target_assessment.unclear_rate": 0.05,
    }
    assert data["min"]["citation_validity"] == 1.0
    for key, value in data["min"].items():
        if not key.startswith("target_") and f"target_{key}" in data["min"]:
            assert value <= data["min"][f"target_{key}"]


# --- questions and baseline helpers -----------------------------------------------------------


def test_parse_questions_names_the_bad_line():
    good = json.dumps({"id": "x-1", "category": "cx", "question": "Q?", "gold": ["Recital 1"],
                       "needs_all": False, "note": "n"})
    assert parse_questions([good, ""])[0].gold == ("Recital 1",)
    with pytest.raises(KbError, match="q.jsonl, line 2: not a question record"):
        parse_questions([good, '{"id": "x-2"}'], source="q.jsonl")
    with pytest.raises(KbError, match="unknown category 'legal'"):
        parse_questions([good.replace('"cx"', '"legal"')])


def test_ref_mapper_maps_a_chunk_to_the_leaf_provisions_it_quotes():
    article = Provision("x", "Article 50", Unit.ARTICLE, "1. Providers shall ensure that AI "
                        "systems are designed to inform people. 2. Deployers of deep fakes "
                        "shall disclose that the content has been artificially generated.")
    p1 = Provision("x", "Article 50(1)", Unit.ARTICLE, "Providers shall ensure that AI systems "
                   "are designed to inform people.", parent="Article 50")
    p2 = Provision("x", "Article 50(2)", Unit.ARTICLE, "Deployers of deep fakes shall disclose "
                   "that the content has been artificially generated.", parent="Article 50")
    kept = leaves([article, p1, p2])
    assert [p.ref for p in kept] == ["Article 50(1)", "Article 50(2)"]
    chunk = ("Chapter IV. Deployers of deep fakes shall disclose that the content has been "
             "artificially generated. Other text.")
    assert RefMapper(kept, n=4).refs_for(chunk) == ("Article 50(2)",)
    assert RefMapper(kept, n=4).refs_for("nothing in common here at all") == ()
    assert shingles("") == set()


def test_html_text_keeps_block_elements_apart_and_drops_scripts():
    html = (b"<html><head><title>T</title></head><body><p>Article 5</p><p>Prohibited AI "
            b"practices</p><script>var x = 1;</script><table><tr><td>(a)</td><td>the "
            b"placing</td></tr></table></body></html>")
    assert html_text(html) == "Article 5\nProhibited AI practices\n(a)\nthe placing"


# --- the machinery on the smoke set ----------------------------------------------------------


def _env(settings) -> dict:
    return {"KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
            "CHROMA_HOST": "", "KB_COLLECTION": "kb", "KB_AS_OF": ""}


def test_eval_cli_on_the_smoke_set_writes_the_report_with_valid_citations(
        small_kb, assistant, tmp_path):
    result = CliRunner().invoke(cli, [
        "--questions", str(EVAL_DIR / "questions_smoke.jsonl"), "--out", str(tmp_path), "--json",
    ], env=_env(small_kb))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"meta", "systems", "gate", "targets", "failure_kinds", "assessment"}
    assert report["assessment"]["overall"]["cases"] == 213
    assert report["assessment"]["overall"]["errors"] == 0
    assert list(report["systems"]) == ["product"]
    product = report["systems"]["product"]
    overall = product["overall"]
    assert (overall["questions"], overall["in_scope"], overall["out_of_scope"]) == (15, 12, 3)
    assert overall["citation_validity"] == 1.0
    assert overall["marker_share"] == 1.0
    assert overall["answers_checked"] >= 1
    assert set(product["by_category"]) == {"cx", "compliance", "hard", "out_of_scope"}
    assert len(overall["curves"]["article"]) == 10
    ranking = ("article_hit_5", "article_mrr", "provision_hit_5", "needs_all_recall_10")
    assert all(key in overall and key in overall["retrieval"] for key in ranking)
    assert all(key in overall for key in ("abstention_recall", "false_abstention",
                                          "latency_p95_ms", "figures_supported"))
    assert {t["metric"] for t in report["targets"]} >= {"article_hit_5", "false_abstention"}
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8")) == report
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Product vs baseline" in md and "## How it is measured" in md
    assert (tmp_path / "hitk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_cli_reports_a_missing_questions_file_without_a_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["--questions", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1
    assert "cannot read the questions file" in result.output
    assert "Traceback" not in result.output


# --- the assessment metrics ---------------------------------------------------------------

from eval.assessment import Case, Result, ref_match  # noqa: E402
from eval.assessment import summarise as summarise_assessment  # noqa: E402


def _case(id_: str, level: str, deciding: tuple[str, ...] = ()) -> Case:
    return Case(id_, "a system", None, {}, None, level, (level,), deciding)


def test_assessment_summary_scores_each_tier_and_the_deciding_refs():
    results = [
        Result(_case("a", "prohibited", ("Article 5(1)(f)",)), "prohibited", ("prohibited",),
               ("Article 5(1)(f)",), 1.0),
        Result(_case("b", "high_risk", ("Annex III, point 4(a)",)), "minimal", ("minimal",),
               ("Annex III, point 4",), 1.0),
        Result(_case("c", "minimal"), "minimal", ("minimal",), (), 1.0),
        Result(_case("d", "limited", ("Article 50(1)",)), "unclear", (), (), 1.0),
    ]
    s = summarise_assessment(results)
    assert s["accuracy"] == 0.5
    assert s["tiers"]["prohibited"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                        "support": 1}
    assert s["tiers"]["high_risk"]["f1"] == 0.0
    assert s["tiers"]["minimal"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667,
                                     "support": 1}
    assert s["unclear_rate"] == 0.25
    assert s["deciding_ref_found"] == round(2 / 3, 4)  # "Annex III, point 4" nests 4(a)
    assert s["macro_f1"] == round((1.0 + 0.0 + 0.0 + 0.6667) / 4, 4)


def test_ref_match_accepts_nesting_but_not_siblings():
    assert ref_match("Article 5(1)(h)", "Article 5(1)(h)(iii)")
    assert not ref_match("Article 5(1)(b)", "Article 5(1)(ba)")
    assert not ref_match("Article 50(1)", "Article 5(1)")


def test_held_back_part_is_fixed_by_the_id_and_about_30_percent():
    held = [Case(f"sys-{i:03d}", "x", None, {}, None, "minimal", ("minimal",), ()).held_back
            for i in range(1, 214)]
    assert 0.2 < sum(held) / len(held) < 0.4
    assert held == [Case(f"sys-{i:03d}", "y", None, {}, None, "limited", ("limited",),
                         ()).held_back for i in range(1, 214)]
