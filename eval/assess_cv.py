"""Cross-validation of the assessment engine's learned combiner (issue 12, second round).

    python -m eval.assess_cv                  # rules vs rules+dense: CV on the team-written
                                              # training set, and the dev set's tuning part
    python -m eval.assess_cv --held-back      # also the held-back part (aggregate only)
    python -m eval.assess_cv --thresholds 0.3,0.4,0.5,0.6

In: ``kb/obligations/examples.jsonl`` (team-written, the combiner's training data) and
``eval/systems.jsonl``; out: the summary metrics of :mod:`eval.assessment` per variant and
part.  The training set is split into 5 folds by a hash of the id; each fold is assessed
with a combiner fitted on the other four.  The dev set is never used for fitting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence

import click

from eval.assessment import SYSTEMS_AS_OF, SYSTEMS_PATH, Case, Result, load_cases, summarise
from kb.errors import KbError
from kb.obligations.assess import assess
from kb.obligations.dense import EXAMPLES_PATH, DenseModel, Example, load_examples
from kb.obligations.triggers import default_triggers

FOLDS = 5
KEYS = ("accuracy", "prohibited_f1", "high_risk_f1", "macro_f1", "unclear_rate",
        "deciding_ref_found")


def fold_of(case_id: str) -> int:
    return int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % FOLDS


def _memo(embed):
    cache: dict[tuple[str, ...], list] = {}

    def wrapped(texts: list[str]) -> list[list[float]]:
        key = tuple(texts)
        if key not in cache:
            cache[key] = embed(texts)
        return cache[key]

    return wrapped


def run(assistant, cases: Sequence[Case], dense: DenseModel | None, embed) -> list[Result]:
    view = assistant._current()
    out = []
    for case in cases:
        day = case.as_of or SYSTEMS_AS_OF

        def text_of(ref: str, day=day) -> str | None:
            p = view.library.version(ref, day)
            return p.text if p is not None and not p.deleted else None

        started = time.perf_counter()
        try:
            a = assess(case.description, text_of=text_of, table=assistant._table(view, day),
                       obligations=assistant._obligations(view, day), role=case.role,
                       facts=case.facts or None, as_of=day, dense=dense, embed=embed)
            refs = tuple(r.ref for r in a.reasons) + tuple(c.ref for c in a.exceptions_considered)
            out.append(Result(case, a.risk_level, a.tiers, refs,
                              (time.perf_counter() - started) * 1000))
        except KbError as error:
            out.append(Result(case, "error", (), (), 0.0, str(error)))
    return out


def as_cases(examples: Sequence[Example], rows: dict[str, dict]) -> list[Case]:
    return [Case(e.id, e.description, None, {}, None, rows[e.id]["risk_level"], e.tiers,
                 e.deciding, bool(rows[e.id].get("cx")), bool(rows[e.id].get("near_miss")))
            for e in examples]


def line(name: str, results: Sequence[Result]) -> str:
    s = summarise(results)
    return f"{name:<34} n={s['cases']:<4}" + " ".join(f"{k.split('_')[0][:5]}={s[k]}"
                                                     for k in KEYS)


@click.command()
@click.option("--held-back", is_flag=True, help="Also report the dev set's held-back part.")
@click.option("--thresholds", default="0.5", show_default=True)
@click.option("--c", "c_values", default="1.0", show_default=True)
@click.option("--misses", is_flag=True, help="List the CV misses on the training set.")
def cli(held_back: bool, thresholds: str, c_values: str, misses: bool) -> None:
    """Rules vs rules + dense combiner, by cross-validation and on the dev set."""
    from kb.assistant import Assistant

    logging.basicConfig(level=logging.WARNING)
    assistant = Assistant.open()
    embed = _memo(assistant.embed)
    catalogue = default_triggers()
    examples = load_examples(EXAMPLES_PATH)
    rows = {json.loads(x)["id"]: json.loads(x) for x in
            EXAMPLES_PATH.read_text(encoding="utf-8").splitlines() if x.strip()}
    train_cases = as_cases(examples, rows)
    dev = load_cases(SYSTEMS_PATH)
    tuning = [c for c in dev if not c.held_back]
    back = [c for c in dev if c.held_back]
    click.echo(line("rules / train (no fitting)", run(assistant, train_cases, None, embed)))
    click.echo(line("rules / dev tuning part", run(assistant, tuning, None, embed)))
    if held_back:
        click.echo(line("rules / dev held-back part", run(assistant, back, None, embed)))
    for c in (float(v) for v in c_values.split(",")):
        for threshold in (float(t) for t in thresholds.split(",")):
            cv: list[Result] = []
            for k in range(FOLDS):
                fit = [e for e in examples if fold_of(e.id) != k]
                model = DenseModel.build(catalogue, fit, embed, c=c, threshold=threshold)
                cv += run(assistant, [x for x in train_cases if fold_of(x.id) == k], model,
                          embed)
            click.echo(line(f"dense C={c} t={threshold} / train CV", cv))
            if misses:
                for r in cv:
                    if not r.correct:
                        click.echo(f"   {r.case.id} {r.case.risk_level}->{r.risk_level} "
                                   f"{r.case.description[:90]}")
            model = DenseModel.build(catalogue, examples, embed, c=c, threshold=threshold)
            click.echo(line(f"dense C={c} t={threshold} / dev tuning", run(
                assistant, tuning, model, embed)))
            if held_back:
                click.echo(line(f"dense C={c} t={threshold} / held-back", run(
                    assistant, back, model, embed)))


if __name__ == "__main__":
    cli()
