"""eval.languages: the fixed tuning/held-out split of the German and French sets, the
per-language metrics and their table in the report."""

from __future__ import annotations

from eval.languages import SETS, held_out, part_metrics, parts
from eval.metrics import Grounding, Outcome, summarise
from eval.report import language_rows, markdown, terminal
from eval.runner import load_questions, parse_questions


def outcome(qid: str, gold: tuple[str, ...], cited: tuple[str, ...], *, abstained=False,
            ms: float = 10.0) -> Outcome:
    grounding = Grounding(citations=len(cited), citations_valid=len(cited))
    return Outcome(qid, "cx" if gold else "out_of_scope", "q", gold, False,
                   tuple((r,) for r in cited), tuple((r,) for r in cited), abstained=abstained,
                   timing_ms=ms, wall_ms=ms, grounding=None if abstained else grounding)


def test_the_split_is_fixed_by_id_and_holds_out_about_40_percent():
    for lang, path in SETS.items():
        questions = load_questions(path)
        assert {q.lang for q in questions} == {lang}
        share = sum(held_out(q.id) for q in questions) / len(questions)
        assert 0.35 <= share <= 0.5, (lang, share)
    # Fixed: the same ids on every run and machine (sha256 of the salted id).
    assert [held_out(f"de-{n:03d}") for n in range(1, 6)] == [True, False, True, False, False]


def test_question_records_carry_their_language():
    [german] = parse_questions(['{"id": "de-900", "category": "cx", "question": "Was ist ein '
                                'Betreiber?", "gold": ["Article 3(4)"], "lang": "de"}'])
    [english] = parse_questions(['{"id": "x-1", "category": "cx", "question": "What is a '
                                 'deployer?", "gold": ["Article 3(4)"]}'])
    assert (german.lang, english.lang) == ("de", "en")


def test_parts_score_the_tuning_and_held_out_questions_apart():
    outcomes = [outcome("de-001", ("Article 50(1)",), ("Article 50(1)",)),  # held out
                outcome("de-002", ("Article 3(4)",), ("Recital 1",)),  # tuning
                outcome("de-003", (), (), abstained=True)]  # held out, out of scope
    scored = parts(outcomes)
    assert scored["held-out part"]["article_hit_5"] == 1.0
    assert scored["tuning part"]["article_hit_5"] == 0.0
    assert scored["all"]["article_hit_5"] == 0.5
    assert scored["held-out part"]["abstention_recall"] == 1.0
    assert part_metrics(outcomes)["questions"] == 3


def test_the_report_has_a_language_table_with_the_paired_latency():
    outcomes = [outcome("de-001", ("Article 50(1)",), ("Article 50(1)",))]
    section = {"de": {"parts": parts(outcomes),
                      "latency": {"p50_ms": 60.0, "english_p50_ms": 50.0, "ratio": 1.2,
                                  "pairs": 1}}}
    rows = language_rows(section)
    assert rows[1][0] == "de all" and rows[1][-1] == "60 / 50 ms = ×1.2"
    assert [row[0] for row in rows[1:]] == ["de all", "de tuning part", "de held-out part"]
    report = {"meta": {"questions": 1, "questions_file": "eval/questions_de.jsonl",
                       "as_of": "2026-11-27", "top_k": 10, "corpus_version": "x",
                       "generated": "now", "seconds": 1, "product_seconds": 1,
                       "embed_model": "bundled", "baseline": None},
              "systems": {"product": {"overall": summarise(outcomes), "by_category": {},
                                      "failure_counts": {}, "failures": []}},
              "gate": {"passed": True, "broken": []}, "targets": [], "failure_kinds": {},
              "languages": section}
    assert "By language (held-out part: never tuned on" in terminal(report)
    assert "## By language" in markdown(report)
