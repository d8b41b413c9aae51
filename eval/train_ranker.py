"""``python -m eval.train_ranker``: train the learned fusion (``kb/search/ranker.json``).

In: the evaluation questions with gold refs (and, optionally, questions generated from the
corpus's own structure: the obligations catalogue's CX examples and titles → their refs);
for each, every candidate passage retrieval finds and its features
(:func:`kb.search.ranker.features`).  Out: a logistic regression, chosen and scored by
cross-validation grouped by question, written as JSON.  Deterministic: same data, same
weights.  ``--check`` scores another question file with the trained model (never trained on).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from eval.metrics import article_match, provision_match
from eval.runner import EVAL_AS_OF, QUESTIONS_PATH
from kb.assistant import Assistant
from kb.config import Settings
from kb.console import configure_logging, verbose_option
from kb.obligations.catalogue import load_catalogue, match_obligations
from kb.search.intent import intent
from kb.search.ranker import FEATURES, RANKER_PATH, Ranker, features

log = logging.getLogger(__name__)
SEED = 7


@dataclass
class Example:
    """One training question: its candidates, their features and graded labels."""

    id: str
    ids: list[str]  # candidate chunk ids
    refs: list[str]  # their provision refs
    direct: set[str]
    x: np.ndarray  # features, one row per candidate
    label: np.ndarray  # 2 = gold provision, 1 = gold article, 0 = neither
    gold: list[str]


def read_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r for r in rows if r.get("gold")]


def generated_questions(catalogue) -> list[dict]:
    """Questions the corpus's own structure gives: each catalogue obligation's CX examples
    and title, with its refs as gold."""
    out = []
    for spec in catalogue:
        for n, text in enumerate([*spec.cx_examples, spec.title]):
            out.append({"id": f"gen-{spec.id}-{n}", "question": text, "gold": list(spec.refs)})
    return out


def examples(assistant: Assistant, questions: Sequence[dict], as_of: str) -> list[Example]:
    """Features and labels of every candidate of every question (RRF as one feature)."""
    view = assistant._current()  # noqa: SLF001 - training reads the live view directly
    retriever = view.retriever
    obligations = assistant.obligations(as_of)
    out = []
    for q in questions:
        matched = match_obligations(q["question"], obligations, limit=3)
        hints = [ref for o in matched for ref in o.refs[:2]]
        lists = retriever.gather(q["question"], as_of=q.get("as_of") or as_of, hint_refs=hints)
        candidates = {i: retriever.candidate(i) for i in lists.candidates()
                      if retriever._provision(retriever.chunks[i]) is not None}  # noqa: SLF001
        if not candidates:
            continue
        vectors = features(lists, candidates, intent(lists.question), retriever.fuse(lists))
        ids = sorted(vectors)
        refs = [candidates[i].provision.ref for i in ids]
        label = [2 if any(provision_match(r, g) for g in q["gold"]) else
                 1 if any(article_match(r, g) for g in q["gold"]) else 0 for r in refs]
        out.append(Example(q["id"], ids, refs, set(lists.direct),
                           np.array([vectors[i] for i in ids], dtype=np.float64),
                           np.array(label), q["gold"]))
    return out


def fit(train: Sequence[Example], *, c: float, positive: int) -> Ranker:
    """A logistic regression on candidates labelled ``>= positive``."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([e.x for e in train])
    y = np.concatenate([e.label for e in train]) >= positive
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
    model.fit((x - means) / scales, y)
    return Ranker(FEATURES, tuple(means.round(8)), tuple(scales.round(8)),
                  tuple(model.coef_[0].round(8)), float(round(model.intercept_[0], 8)))


def ranking(example: Example, ranker: Ranker | None) -> list[str]:
    """The refs in the order the product would cite them: named provisions first, then by
    score, each provision once."""
    if ranker is None:  # reciprocal rank fusion, the fallback
        scores = example.x[:, FEATURES.index("rrf")]
    else:
        scores = np.array([ranker.score(row) for row in example.x])
    order = sorted(range(len(example.ids)),
                   key=lambda k: (example.ids[k] not in example.direct, -round(scores[k], 6),
                                  example.ids[k]))
    return list(dict.fromkeys(example.refs[k] for k in order))


def measure(found: Sequence[Example], ranker: Ranker | None) -> dict[str, float]:
    """Article and provision hit@1, hit@5 and MRR of the candidate ranking."""
    art1 = prov1 = art5 = 0
    rr = 0.0
    for e in found:
        refs = ranking(e, ranker)
        art = [any(article_match(r, g) for g in e.gold) for r in refs]
        art1 += art[0] if art else 0
        art5 += any(art[:5])
        prov1 += any(provision_match(refs[0], g) for g in e.gold) if refs else 0
        rr += next((1.0 / (k + 1) for k, a in enumerate(art) if a), 0.0)
    n = max(len(found), 1)
    return {"article_hit_1": round(art1 / n, 3), "provision_hit_1": round(prov1 / n, 3),
            "article_hit_5": round(art5 / n, 3), "article_mrr": round(rr / n, 3), "n": len(found)}


def cross_validate(found: Sequence[Example], *, c: float, positive: int,
                   folds: int = 5) -> dict[str, float]:
    """Out-of-fold metrics: each question scored by a model that never saw it."""
    order = sorted(range(len(found)), key=lambda k: found[k].id)
    totals: dict[str, float] = {}
    for fold in range(folds):
        test = [found[k] for n, k in enumerate(order) if n % folds == fold]
        train = [found[k] for n, k in enumerate(order) if n % folds != fold]
        scores = measure(test, fit(train, c=c, positive=positive))
        for key, value in scores.items():
            totals[key] = totals.get(key, 0.0) + value * (len(test) if key != "n" else 1)
    n = totals.pop("n")
    return {key: round(value / n, 3) for key, value in totals.items()} | {"n": int(n)}


@click.command()
@click.option("--questions", "paths", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              multiple=True, default=[QUESTIONS_PATH], show_default="eval/questions.jsonl",
              help="Training questions with gold refs (repeatable).")
@click.option("--generated/--no-generated", default=False, show_default=True,
              help="Also train on questions generated from the obligations catalogue.")
@click.option("--check", "check_path", type=click.Path(exists=True, dir_okay=False,
                                                          path_type=Path), default=None,
              help="Score these questions with the trained model (never trained on).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=RANKER_PATH,
              show_default="kb/search/ranker.json", help="Where to write the model.")
@click.option("--as-of", default=EVAL_AS_OF, show_default=True, help="Law in force for the gold.")
@verbose_option
def cli(paths: tuple[Path, ...], generated: bool, check_path: Path | None, out: Path,
        as_of: str, verbose: int) -> None:
    """Train the learned fusion with cross-validation and write kb/search/ranker.json.

    Example: python -m eval.train_ranker --check eval/questions_heldout.jsonl
    """
    settings = Settings.from_env()
    configure_logging(verbose, settings.log_level)
    assistant = Assistant.open(settings.with_(as_of=""))
    questions = [q for path in paths for q in read_questions(path)]
    found = examples(assistant, questions, as_of)
    extra = examples(assistant, generated_questions(load_catalogue()), as_of) if generated else []
    click.echo(f"{len(found)} questions ({sum(len(e.ids) for e in found)} candidates)"
               + (f" + {len(extra)} generated" if extra else ""))
    click.echo(f"reciprocal rank fusion: {measure(found, None)}")
    best = None
    for positive in (2, 1):
        for c in (0.03, 0.1, 0.3, 1.0):
            scores = cross_validate(found, c=c, positive=positive) if not extra else \
                _cross_validate_with(found, extra, c=c, positive=positive)
            click.echo(f"C={c} positive>={positive}: {scores}")
            key = (scores["article_hit_1"] + scores["provision_hit_1"], scores["article_mrr"])
            if best is None or key > best[0]:
                best = (key, c, positive, scores)
    _, c, positive, scores = best
    ranker = fit([*found, *extra], c=c, positive=positive)
    summary = (f"{len(found)} questions from {', '.join(p.name for p in paths)}"
               + (f" and {len(extra)} generated" if extra else "")
               + f"; C={c}, positive>={positive}; 5-fold CV {scores}")
    ranker = Ranker(ranker.names, ranker.means, ranker.scales, ranker.weights, ranker.intercept,
                    summary)
    out.write_text(ranker.to_json() + "\n", encoding="utf-8")
    click.echo(f"wrote {out}: {summary}")
    if check_path is not None:
        held = examples(assistant, read_questions(check_path), as_of)
        click.echo(f"{check_path.name}: fusion {measure(held, None)}")
        click.echo(f"{check_path.name}: ranker {measure(held, ranker)}")


def _cross_validate_with(found: Sequence[Example], extra: Sequence[Example], *, c: float,
                         positive: int, folds: int = 5) -> dict[str, float]:
    """Cross-validation on ``found`` where every fold also trains on ``extra``."""
    order = sorted(range(len(found)), key=lambda k: found[k].id)
    totals: dict[str, float] = {}
    for fold in range(folds):
        test = [found[k] for n, k in enumerate(order) if n % folds == fold]
        train = [found[k] for n, k in enumerate(order) if n % folds != fold] + list(extra)
        scores = measure(test, fit(train, c=c, positive=positive))
        for key, value in scores.items():
            totals[key] = totals.get(key, 0.0) + value * (len(test) if key != "n" else 1)
    n = totals.pop("n")
    return {key: round(value / n, 3) for key, value in totals.items()} | {"n": int(n)}


if __name__ == "__main__":
    cli()
