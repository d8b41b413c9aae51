"""German and French questions: the per-language section of the eval report, the fixed
tuning/held-out split, and the signal-by-signal measurement (``python -m eval.languages``).

The split: a question is **held out** when ``sha256("i18n-holdout:" + id) mod 10 < 4``, about
40 % of each set, chosen by id and never by content.  Thresholds, weights, cue lists and
``kb/search/synonyms_i18n.toml`` were tuned on the other part only; the held-out part is the
honest estimate.  The German/French p50 is compared with the English p50 measured in the
same run, the two languages' questions asked alternately (same machine load).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from eval.metrics import Outcome, percentile, summarise
from eval.runner import EVAL_AS_OF, EVAL_DIR, QUESTIONS_PATH, Question, ask_all, load_questions
from kb.assistant import Assistant
from kb.config import Settings
from kb.console import ISO_DATE, configure_logging, verbose_option
from kb.errors import KbError
from kb.search.multilingual import DEFAULT_SIGNALS, Signals

HOLDOUT_SALT = "i18n-holdout:"
HOLDOUT_TENTHS = 4
SETS = {"de": EVAL_DIR / "questions_de.jsonl", "fr": EVAL_DIR / "questions_fr.jsonl"}
METRICS = ("questions", "in_scope", "out_of_scope", "article_hit_5", "provision_hit_5",
           "article_mrr", "false_abstention", "abstention_recall", "citation_validity",
           "latency_p50_ms")


def held_out(question_id: str) -> bool:
    """Whether a German/French question belongs to the held-out part (~40 %, by id hash).

    >>> held_out("de-001"), held_out("de-002")
    (True, False)
    """
    digest = hashlib.sha256((HOLDOUT_SALT + question_id).encode("utf-8")).hexdigest()
    return int(digest, 16) % 10 < HOLDOUT_TENTHS


def part_metrics(outcomes: Sequence[Outcome]) -> dict:
    """The per-language metrics of a list of outcomes (see :data:`METRICS`), and article
    hit@5 of retrieval alone (``retrieval_article_hit_5``: abstentions not counted as misses)."""
    summary = summarise(outcomes)
    return {**{key: summary.get(key) for key in METRICS},
            "retrieval_article_hit_5": summary["retrieval"].get("article_hit_5")}


def parts(outcomes: Sequence[Outcome]) -> dict[str, dict]:
    """Metrics of all questions, of the tuning part and of the held-out part."""
    return {"all": part_metrics(outcomes),
            "tuning part": part_metrics([o for o in outcomes if not held_out(o.id)]),
            "held-out part": part_metrics([o for o in outcomes if held_out(o.id)])}


def paired_latency(assistant: Assistant, asked: Sequence[Question],
                   english: Sequence[Question], *, as_of: str, top_k: int) -> dict:
    """Warm p50 of ``asked`` and of as many English questions, asked alternately after one
    warm-up question of each, and their ratio (target ≤ 1.5)."""
    theirs = list(english)[: len(asked)]
    if not asked or not theirs:
        return {"p50_ms": None, "english_p50_ms": None, "ratio": None, "pairs": 0}
    assistant.ask(asked[0].question, top_k=top_k, as_of=as_of)
    assistant.ask(theirs[0].question, top_k=top_k, as_of=as_of)
    mine, english_ms = [], []
    for q, e in zip(asked, theirs, strict=False):
        mine.append(assistant.ask(q.question, top_k=top_k, as_of=as_of).timing_ms)
        english_ms.append(assistant.ask(e.question, top_k=top_k, as_of=as_of).timing_ms)
    p50, english_p50 = percentile(mine, 50), percentile(english_ms, 50)
    return {"p50_ms": round(p50, 1), "english_p50_ms": round(english_p50, 1),
            "ratio": round(p50 / english_p50, 2) if english_p50 else None,
            "pairs": len(english_ms)}


def languages_section(assistant: Assistant, questions: Sequence[Question],
                      outcomes: Sequence[Outcome], *, as_of: str, top_k: int,
                      english_path: Path = QUESTIONS_PATH) -> dict:
    """``{lang: {"parts": {...}, "latency": {...}}}`` for each non-English language of
    ``questions`` (empty when they are all English)."""
    langs = sorted({q.lang for q in questions if q.lang != "en"})
    if not langs:
        return {}
    english = load_questions(english_path)
    section = {}
    for lang in langs:
        ids = {q.id for q in questions if q.lang == lang}
        mine = [o for o in outcomes if o.id in ids]
        asked = [q for q in questions if q.lang == lang]
        section[lang] = {"parts": parts(mine),
                         "latency": paired_latency(assistant, asked, english, as_of=as_of,
                                                   top_k=top_k)}
    return section


# --- signal by signal --------------------------------------------------------------------------

# Each step adds one signal to the one before; "before" is the English pipeline (the question
# searched and answered as if it were English), as the product did before issue 16, phase 2.
STEPS: list[tuple[str, str | None, Signals]] = [
    ("before: English pipeline", "en", DEFAULT_SIGNALS),
    ("answer in the language, its scope cues", None,
     Signals(bridge=False, native_lexical=0.0, native_titles=0.0, raw_dense=0.0)),
    ("+ stemmed BM25 in the language", None,
     Signals(bridge=False, native_titles=0.0, raw_dense=0.0)),
    ("+ bridge: named provisions, defined terms", None,
     Signals(rules=False, alignment=False, native_titles=0.0, raw_dense=0.0)),
    ("+ bridge: synonyms_i18n.toml", None,
     Signals(alignment=False, native_titles=0.0, raw_dense=0.0)),
    ("+ bridge: aligned-text word links", None, Signals(native_titles=0.0, raw_dense=0.0)),
    ("+ titles in the language (= product)", None, Signals(raw_dense=0.0)),
    ("+ English model on the question as typed (not used)", None,
     replace(DEFAULT_SIGNALS, raw_dense=0.5)),
]


def step_outcomes(assistant: Assistant, questions: Sequence[Question], lang: str | None,
                  signals: Signals, *, as_of: str, top_k: int) -> list[Outcome]:
    assistant.signals = signals
    try:
        return ask_all(assistant, questions, top_k=top_k, as_of=as_of, lang=lang)
    finally:
        assistant.signals = DEFAULT_SIGNALS


KEYS = (("art@5", "article_hit_5"), ("retrieval art@5", "retrieval_article_hit_5"),
        ("false abst", "false_abstention"), ("oos abst", "abstention_recall"),
        ("valid", "citation_validity"))


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def steps_table(results: dict[str, dict[str, dict[str, dict]]]) -> str:
    """Markdown: per language, one row per step with its tuning and held-out parts."""
    langs = list(next(iter(results.values())))
    out = []
    for lang in langs:
        head = ["step"] + [f"{part} {label}" for part in ("tune", "held-out")
                           for label, _ in KEYS[:4]]
        out += [f"**{lang}**", "", "| " + " | ".join(head) + " |",
                "|---" + "|---:" * (len(head) - 1) + "|"]
        for step, by_lang in results.items():
            cells = [step] + [_fmt(by_lang[lang][part][key])
                              for part in ("tuning part", "held-out part") for _, key in KEYS[:4]]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


@click.command()
@click.option("--as-of", default=EVAL_AS_OF, show_default=True, type=ISO_DATE,
              help="Law in force on this date.")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 50),
              help="Citations asked for per question.")
@click.option("--lang", "langs", multiple=True, type=click.Choice(list(SETS)),
              help="Only this language (repeatable; default both).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the results as JSON to this file.")
@verbose_option
def cli(as_of: str, top_k: int, langs: tuple[str, ...], out_path: Path | None,
        verbose: int) -> None:
    """Measure what each German/French signal adds, on the tuning and held-out parts.

    Example: python -m eval.languages --out eval/languages.json
    """
    try:
        settings = Settings.from_env()
        configure_logging(verbose, settings.log_level)
        assistant = Assistant.open(settings)
        sets = {lang: load_questions(SETS[lang]) for lang in (langs or SETS)}
        results: dict[str, dict[str, dict]] = {}
        started = time.perf_counter()
        for label, forced, signals in STEPS:
            results[label] = {lang: parts(step_outcomes(assistant, questions, forced, signals,
                                                        as_of=as_of, top_k=top_k))
                              for lang, questions in sets.items()}
            click.echo(f"{label}: " + "; ".join(
                f"{lang} tune {_fmt(r['tuning part']['article_hit_5'])} / held-out "
                f"{_fmt(r['held-out part']['article_hit_5'])}"
                for lang, r in results[label].items()), err=True)
    except KbError as error:
        raise click.ClickException(str(error)) from None
    click.echo(steps_table(results))
    click.echo(f"({time.perf_counter() - started:.0f} s; art@5 = article hit@5 of the answers, "
               "an abstention counting as a miss; retrieval art@5 = of retrieval alone)")
    if out_path is not None:
        out_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")


if __name__ == "__main__":
    cli()
