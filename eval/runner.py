"""Run the evaluation: ask every question, check every answer, summarise, compare.

In: an :class:`kb.Assistant`, the questions (``eval/questions.jsonl``) and the gate
(``eval/thresholds.toml``).  Out: the report dict that :mod:`eval.report` renders and
``--json`` prints.  The metrics themselves are the pure functions of :mod:`eval.metrics`.
"""

from __future__ import annotations

import logging
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eval.assessment import SYSTEMS_PATH, assess_all, assessment_report, load_cases
from eval.metrics import (
    FAILURE_KINDS,
    Grounding,
    Outcome,
    Thresholds,
    by_category,
    failure_counts,
    failures,
    gate,
    marker_coverage,
    summarise,
    target_status,
    unsupported_figures,
)
from kb.assistant import Assistant
from kb.console import no_progress
from kb.errors import KbError
from kb.jsonlines import parse_lines, read_lines
from kb.law.dates import parse_date
from kb.records import Answer

log = logging.getLogger(__name__)

EVAL_DIR = Path(__file__).resolve().parent
QUESTIONS_PATH = EVAL_DIR / "questions.jsonl"
THRESHOLDS_PATH = EVAL_DIR / "thresholds.toml"
# The gold refs follow the law in force on the day the set was written (eval/QUESTIONS.md);
# evaluating on another day would test the calendar, not the system.
EVAL_AS_OF = "2026-11-27"
CATEGORIES = ("cx", "compliance", "guidelines", "gdpr", "out_of_scope", "hard")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Question:
    """One line of questions.jsonl."""

    id: str
    category: str
    question: str
    gold: tuple[str, ...]
    needs_all: bool = False
    note: str = ""
    lang: str = "en"  # the language the question is written in (eval/QUESTIONS_MORE.md)


def parse_questions(lines: Sequence[str], *, source: str = "questions") -> list[Question]:
    """Questions from JSON lines; KbError naming the line for a malformed one."""
    out = []
    for number, q in parse_lines(
            lines, lambda row: Question(row["id"], row["category"], row["question"],
                                        tuple(row["gold"]), bool(row.get("needs_all", False)),
                                        row.get("note", ""), row.get("lang", "en")),
            source=source, what="a question record",
            hint="; see eval/QUESTIONS.md for the format"):
        if q.category not in CATEGORIES:
            raise KbError(f"{source}, line {number}: unknown category {q.category!r}; "
                          f"valid: {', '.join(CATEGORIES)}")
        out.append(q)
    return out


def load_questions(path: Path = QUESTIONS_PATH) -> list[Question]:
    path = Path(path)
    return parse_questions(read_lines(path, "the questions file"), source=path.name)


def load_thresholds(path: Path = THRESHOLDS_PATH) -> Thresholds:
    try:
        return Thresholds.from_dict(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise KbError(f"cannot read the gate thresholds {path}: {error}") from None


# --- the product ------------------------------------------------------------------------------


def check_answer(assistant: Assistant, answer: Answer) -> Grounding:
    """The grounding checks of one answer: refs exist, sentences verbatim, markers present,
    stated numbers and dates found in the cited text."""
    if answer.abstained:
        return Grounding()
    problems = []
    valid = 0
    for c in answer.citations:
        if assistant.library.versions(c.ref):
            valid += 1
        else:
            problems.append(f"[{c.n}] {c.ref}: unknown ref")
    results = assistant.verify_answer(answer)
    for sentence, result in zip(answer.sentences, results, strict=True):
        if not result.ok:
            problems.append(f"[{sentence.n}] {result.ref}: {result.reason}")
    marked, total = marker_coverage(answer.text)
    by_n = {c.n: c for c in answer.citations}
    figures = supported = 0
    for sentence in answer.sentences:
        cited = by_n.get(sentence.n)
        source = cited.text if cited else ""
        stated = unsupported_figures(sentence.text, "")  # everything stated
        missing = unsupported_figures(sentence.text, source)
        figures += len(stated)
        supported += len(stated) - len(missing)
        if missing:
            problems.append(f"[{sentence.n}] figures not in the cited text: {', '.join(missing)}")
    return Grounding(
        citations=len(answer.citations), citations_valid=valid,
        sentences=len(answer.sentences), sentences_verified=sum(r.ok for r in results),
        text_sentences=total, text_marked=marked,
        figures=figures, figures_supported=supported, problems=tuple(problems),
    )


def ask_all(assistant: Assistant, questions: Sequence[Question], *, top_k: int, as_of: str,
            progress: Progress = no_progress, lang: str | None = None) -> list[Outcome]:
    """Ask every question.  An answer's citations are its retrieval list, so retrieval is
    run again only for abstentions (whose citations are empty).  The question's language is
    detected, as for a user, unless ``lang`` forces one."""
    outcomes = []
    for done, q in enumerate(questions, start=1):
        started = time.perf_counter()
        answer = assistant.ask(q.question, top_k=top_k, as_of=as_of, lang=lang)
        wall = (time.perf_counter() - started) * 1000
        cited = tuple((c.ref,) for c in answer.citations)
        retrieved = cited
        if answer.abstained:
            hits = assistant.retrieve(q.question, top_k=top_k, as_of=as_of, lang=lang)
            retrieved = tuple((h.provision.ref,) for h in hits)
        by_n = {c.n: c.ref for c in answer.citations}
        used = tuple(dict.fromkeys(by_n[s.n] for s in answer.sentences if s.n in by_n))
        outcomes.append(Outcome(
            q.id, q.category, q.question, q.gold, q.needs_all, cited, retrieved,
            abstained=answer.abstained, timing_ms=answer.timing_ms, wall_ms=wall,
            grounding=check_answer(assistant, answer), used=used,
            margin=answer.margin,
        ))
        progress("product", done, len(questions))
    return outcomes


# --- the report --------------------------------------------------------------------------------


def system_report(outcomes: Sequence[Outcome]) -> dict:
    found = failures(outcomes)
    return {
        "overall": summarise(outcomes),
        "by_category": by_category(outcomes),
        "failure_counts": failure_counts(found),
        "failures": [f.to_dict() for f in found],
    }


def build_report(product: Sequence[Outcome], baseline: Sequence[Outcome] | None,
                 thresholds: Thresholds, meta: dict,
                 generous: Sequence[Outcome] | None = None,
                 assessment: dict | None = None) -> dict:
    """The whole report (see :mod:`eval.report` for its documented shape)."""
    systems = {"product": system_report(product)}
    if baseline is not None:
        systems["baseline"] = system_report(baseline)
    if generous is not None:
        systems["baseline_generous"] = {"overall": summarise(generous),
                                        "by_category": by_category(generous)}
    overall = dict(systems["product"]["overall"])
    if assessment is not None:  # gated as "assessment.<metric>" in thresholds.toml
        overall["assessment"] = assessment["overall"]
    else:
        thresholds = Thresholds(tuple(b for b in thresholds.bounds
                                      if not b.metric.startswith("assessment.")))
    report = {
        "meta": meta,
        "systems": systems,
        "gate": {"passed": not gate(overall, thresholds), "broken": gate(overall, thresholds)},
        "targets": target_status(overall, thresholds),
        "failure_kinds": FAILURE_KINDS,
    }
    if assessment is not None:
        report["assessment"] = assessment
    return report


def run(assistant: Assistant, questions: Sequence[Question], *, top_k: int = 10,
        as_of: str = EVAL_AS_OF, baseline: bool = False, thresholds: Thresholds | None = None,
        questions_source: str = "", progress: Progress = no_progress,
        systems_path: Path | None = SYSTEMS_PATH) -> dict:
    """Evaluate the product (and, with ``baseline``, the naive llama-index pipeline), and the
    assessment engine on ``systems_path`` (None: skip it)."""
    if not questions:
        raise KbError("no questions to evaluate; check the questions file")
    as_of = parse_date(as_of)  # a bad date fails before the model loads
    started = time.perf_counter()
    thresholds = thresholds if thresholds is not None else load_thresholds()
    product = ask_all(assistant, questions, top_k=top_k, as_of=as_of, progress=progress)
    product_seconds = time.perf_counter() - started
    base_outcomes, generous, base_meta = None, None, {}
    if baseline:
        from eval.baseline import evaluate_baseline

        base_started = time.perf_counter()
        base_outcomes, generous, base_meta = evaluate_baseline(
            assistant, questions, top_k=top_k, as_of=as_of, progress=progress)
        base_meta["seconds"] = round(time.perf_counter() - base_started, 1)
    from eval.languages import languages_section

    languages = languages_section(assistant, questions, product, as_of=as_of, top_k=top_k)
    assessment = None
    if systems_path is not None:
        cases = load_cases(systems_path)
        assessment = assessment_report(assess_all(assistant, cases, progress=progress),
                                       source=Path(systems_path).name)
    meta = {
        "questions_file": questions_source,
        "questions": len(questions),
        "top_k": top_k,
        "as_of": as_of,
        "corpus_version": assistant.corpus_version,
        "embed_model": assistant.settings.embed_model,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "product_seconds": round(product_seconds, 1),
        "baseline": base_meta or None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    report = build_report(product, base_outcomes, thresholds, meta, generous, assessment)
    if languages:
        report["languages"] = languages
    return report
