"""Evaluation metrics as pure functions: ref matching, hit@k, MRR, recall, grounding checks,
abstention scores, percentiles, and the summary of a list of per-question outcomes.

Nothing here opens an index or reads a file; :mod:`eval.runner` collects the outcomes and
:mod:`eval.report` renders the summaries.  A ranked list is a list of *positions*, each a
tuple of refs: one ref per citation for the product, a few refs per chunk for the baseline.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from kb.law.refs import parents
from kb.text import sentences

Ranked = Sequence[Sequence[str]]
Match = Callable[[str, str], bool]

KS = (1, 3, 5, 10)
CURVE_KS = tuple(range(1, 11))

# A local label starts a ref or follows the document prefix ("Guidelines C(2025) 5052, ");
# a regulation's short name may follow it (" GDPR").
_LOCAL = re.compile(
    r"(?:^|(?<=, ))(?P<local>(?:Article|Recital|Annex)\s\S.*?|para\.\s\S+?)"
    r"(?P<suffix>\s[A-Z]{2,}[A-Za-z]*)?$"
)
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]
_DATE_WORDS = re.compile(r"\b(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_DOTS = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[ ,]\d{3}(?!\d))*(?:\.\d+)?")
_MARKER = re.compile(r"\[(\d+)\]")


# --- refs ----------------------------------------------------------------------------------


def split_ref(ref: str) -> tuple[str, str, str]:
    """(document prefix, local label, document suffix) of a qualified ref.

    >>> split_ref("Article 22(1) GDPR")
    ('', 'Article 22(1)', ' GDPR')
    >>> split_ref("Guidelines C(2025) 5052, para. 123")
    ('Guidelines C(2025) 5052, ', 'para. 123', '')
    >>> split_ref("Regulation (EU) 2026/1744, Article 1, point (7)")
    ('Regulation (EU) 2026/1744, ', 'Article 1, point (7)', '')
    """
    m = _LOCAL.search(ref)
    if not m:
        return "", ref, ""
    return ref[: m.start()], m.group("local"), m.group("suffix") or ""


def ancestors(ref: str) -> list[str]:
    """The ref and its enclosing provisions, most specific first (same document).

    >>> ancestors("Article 22(1)(a) GDPR")
    ['Article 22(1)(a) GDPR', 'Article 22(1) GDPR', 'Article 22 GDPR']
    >>> ancestors("Annex III, point 5(b)")
    ['Annex III, point 5(b)', 'Annex III, point 5', 'Annex III']
    """
    prefix, local, suffix = split_ref(ref)
    return [f"{prefix}{label}{suffix}" for label in parents(local)]


def article_level(ref: str) -> str:
    """The ref reduced to its top-level unit: article, annex, recital or guideline paragraph.

    >>> article_level("Article 5(1)(f)"), article_level("Annex III, point 5(b)")
    ('Article 5', 'Annex III')
    >>> article_level("Article 22(1) GDPR"), article_level("Guidelines C(2025) 5052, para. 123")
    ('Article 22 GDPR', 'Guidelines C(2025) 5052, para. 123')
    """
    return ancestors(ref)[-1]


def article_match(cited: str, gold: str) -> bool:
    """Same document and same article / annex / recital / guideline paragraph.

    >>> article_match("Article 5(1)(c)", "Article 5(1)(f)")
    True
    >>> article_match("Article 5", "Article 50")
    False
    """
    return article_level(cited) == article_level(gold)


def provision_match(cited: str, gold: str) -> bool:
    """The cited ref is the gold ref or lies inside it (a point of a gold paragraph is at
    least as precise); citing the enclosing article of a gold point is not a match.

    >>> provision_match("Article 5(1)(f)", "Article 5(1)")
    True
    >>> provision_match("Article 5(1)", "Article 5(1)(f)")
    False
    """
    return gold in ancestors(cited)


# --- ranking -------------------------------------------------------------------------------


def first_hit(ranked: Ranked, gold: Sequence[str], match: Match) -> int | None:
    """1-based rank of the first position holding a ref that matches any gold ref.

    >>> ranked = [("Article 4",), ("Article 50(2)", "Recital 133")]
    >>> first_hit(ranked, ["Article 50(2)"], provision_match)
    2
    """
    for rank, position in enumerate(ranked, start=1):
        if any(match(ref, g) for ref in position for g in gold):
            return rank
    return None


def hit_at(ranked: Ranked, gold: Sequence[str], k: int, match: Match) -> bool:
    rank = first_hit(ranked, gold, match)
    return rank is not None and rank <= k


def reciprocal_rank(ranked: Ranked, gold: Sequence[str], match: Match) -> float:
    """1/rank of the first hit, 0 for none.

    >>> reciprocal_rank([("Recital 1",), ("Article 3(4)",)], ["Article 3(4)"], article_match)
    0.5
    """
    rank = first_hit(ranked, gold, match)
    return 1.0 / rank if rank else 0.0


def recall_at(ranked: Ranked, gold: Sequence[str], k: int, match: Match) -> float:
    """Share of the gold refs matched by some ref in the top ``k`` positions.

    >>> recall_at([("Article 50(1)",), ("Article 4",)], ["Article 50(1)", "Article 50(4)"], 10,
    ...           provision_match)
    0.5
    """
    if not gold:
        return 0.0
    top = [ref for position in ranked[:k] for ref in position]
    return sum(any(match(ref, g) for ref in top) for g in gold) / len(gold)


# --- grounding -----------------------------------------------------------------------------


def dates_in(text: str) -> set[str]:
    """ISO forms of the dates written in ``text`` ("2 August 2026", "2026-08-02", "2.8.2026").

    >>> sorted(dates_in("from 2 August 2026 and 2.12.2027"))
    ['2026-08-02', '2027-12-02']
    """
    found = set()
    for m in _DATE_WORDS.finditer(text):
        found.add(_iso(int(m.group(3)), _MONTHS.index(m.group(2).lower()) + 1, int(m.group(1))))
    for m in _DATE_ISO.finditer(text):
        found.add(_iso(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in _DATE_DOTS.finditer(text):
        found.add(_iso(int(m.group(3)), int(m.group(2)), int(m.group(1))))
    found.discard("")
    return found


def _iso(year: int, month: int, day: int) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def numbers_in(text: str) -> set[str]:
    """Numbers written in ``text``, thousands separators removed ("EUR 35 000 000" → 35000000).

    >>> sorted(numbers_in("up to EUR 35 000 000 or 7 % of turnover, 1,500 units, 0.5 days"))
    ['0.5', '1500', '35000000', '7']
    """
    return {re.sub(r"[ ,]", "", m.group(0)) for m in _NUMBER.finditer(text)}


def unsupported_figures(sentence: str, source: str) -> list[str]:
    """Dates and numbers of ``sentence`` that do not occur in ``source`` (the cited text).

    >>> unsupported_figures("It applies from 2 August 2026 to 15 systems.",
    ...                     "This Regulation shall apply from 2 August 2026.")
    ['15']
    >>> unsupported_figures("It applies from 2 December 2027.", "apply from 2 August 2026")
    ['2027-12-02']
    """
    stated_dates = dates_in(sentence)
    bare = _DATE_DOTS.sub(" ", _DATE_ISO.sub(" ", _DATE_WORDS.sub(" ", sentence)))
    missing = sorted(stated_dates - dates_in(source))
    missing += sorted(numbers_in(bare) - numbers_in(source))
    return missing


def marker_coverage(answer_text: str) -> tuple[int, int]:
    """(sentences followed by a ``[n]`` marker, all sentences) of an answer text.

    The text between two markers is one cited passage; only its last sentence carries the
    marker, so a passage that is several sentences long counts as partly uncited.

    >>> marker_coverage("Providers shall inform. [1] Deployers shall disclose. [2]")
    (2, 2)
    >>> marker_coverage("Providers shall inform. Deployers shall disclose. [1] Trailing claim.")
    (1, 3)
    """
    marked = total = 0
    pieces = _MARKER.split(answer_text)
    # re.split with one group alternates text, marker, text, ...; the last text has no marker.
    texts = pieces[0::2]
    for i, text in enumerate(texts):
        count = len(sentences(text.strip())) if text.strip() else 0
        total += count
        if count and i < len(texts) - 1:
            marked += 1
    return marked, total


# --- abstention, latency ---------------------------------------------------------------------


def abstention_scores(cases: Sequence[tuple[bool, bool]]) -> dict[str, float | None]:
    """Precision and recall of abstaining on out-of-scope questions, and the false-abstention
    rate on in-scope ones, from (in_scope, abstained) pairs.  None where undefined.

    >>> abstention_scores([(False, True), (False, False), (True, True), (True, False)])
    {'abstention_precision': 0.5, 'abstention_recall': 0.5, 'false_abstention': 0.5}
    """
    tp = sum(1 for in_scope, abstained in cases if not in_scope and abstained)
    fp = sum(1 for in_scope, abstained in cases if in_scope and abstained)
    fn = sum(1 for in_scope, abstained in cases if not in_scope and not abstained)
    in_scope = sum(1 for s, _ in cases if s)
    return {
        "abstention_precision": tp / (tp + fp) if tp + fp else None,
        "abstention_recall": tp / (tp + fn) if tp + fn else None,
        "false_abstention": fp / in_scope if in_scope else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation; None for no values.

    >>> percentile([10, 20, 30, 40], 50), percentile([5], 95)
    (25.0, 5.0)
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- outcomes and their summary --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Grounding:
    """Counts of the grounding checks of one answer (all zero when it abstained)."""

    citations: int = 0
    citations_valid: int = 0  # the cited ref exists in the library
    sentences: int = 0
    sentences_verified: int = 0  # verbatim text of the provision its marker cites
    text_sentences: int = 0  # sentences of the answer text
    text_marked: int = 0  # of which followed by a [n] marker
    figures: int = 0  # numbers and dates stated in answer sentences
    figures_supported: int = 0  # of which found in the text of the cited provision
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one system did with one question."""

    id: str
    category: str
    question: str
    gold: tuple[str, ...]
    needs_all: bool
    cited: tuple[tuple[str, ...], ...]  # ranked positions the answer cites (empty if abstained)
    retrieved: tuple[tuple[str, ...], ...]  # ranked positions retrieval found
    abstained: bool = False
    timing_ms: float = 0.0  # as reported by the system
    wall_ms: float = 0.0  # measured around the call
    grounding: Grounding | None = None  # None: the system writes no answer text (baseline)
    used: tuple[str, ...] = ()  # refs the answer text quotes, in the order of their first [n]
    margin: float | None = None  # distance of the abstention evidence to its thresholds

    @property
    def in_scope(self) -> bool:
        return bool(self.gold)


ABSTENTION_MARGIN = 0.01  # decisions this close to a threshold are reported


def answer_metrics(outcomes: Sequence[Outcome]) -> dict:
    """What the answer text itself quotes, over in-scope questions (an abstention or a
    system without answer text is a miss for the hits; precision counts answered ones).

    - lead hit: the first ``[n]`` of the text cites gold (article or provision level);
    - answer hit: any citation the text uses is gold (provision level);
    - answer precision: the share of used citations that are gold or in a gold article.

    >>> o = Outcome("q", "cx", "?", ("Article 50(1)",), False, (), (), used=(
    ...     "Article 50(2)", "Article 50(1)", "Recital 1"))
    >>> answer_metrics([o])["lead_article_hit"], answer_metrics([o])["lead_provision_hit"]
    (1.0, 0.0)
    >>> answer_metrics([o])["answer_hit"], round(answer_metrics([o])["answer_precision"], 3)
    (1.0, 0.667)
    """
    rows = [o for o in outcomes if o.in_scope]
    answered = [o for o in rows if o.used and not o.abstained]

    def first(o: Outcome, match: Match) -> bool:
        return bool(o.used) and not o.abstained and any(match(o.used[0], g) for g in o.gold)

    used = [ref for o in answered for ref in o.used]
    good = sum(any(article_match(ref, g) for g in o.gold) for o in answered for ref in o.used)
    return {
        "lead_article_hit": mean([first(o, article_match) for o in rows]),
        "lead_provision_hit": mean([first(o, provision_match) for o in rows]),
        "answer_hit": mean([not o.abstained and any(provision_match(ref, g) for ref in o.used
                                                    for g in o.gold) for o in rows]),
        "answer_precision": ratio(good, len(used)),
    }


def ranking_metrics(outcomes: Sequence[Outcome], *, use: str = "cited") -> dict:
    """hit@k, MRR and needs-all recall over the in-scope outcomes, on their cited (answer)
    or retrieved positions."""
    rows = [(o, getattr(o, use)) for o in outcomes if o.in_scope]
    out: dict = {}
    for k in KS:
        out[f"article_hit_{k}"] = mean([hit_at(r, o.gold, k, article_match) for o, r in rows])
    out["article_mrr"] = mean([reciprocal_rank(r, o.gold, article_match) for o, r in rows])
    for k in KS:
        out[f"provision_hit_{k}"] = mean([hit_at(r, o.gold, k, provision_match) for o, r in rows])
    out["provision_mrr"] = mean([reciprocal_rank(r, o.gold, provision_match) for o, r in rows])
    out["needs_all_recall_10"] = mean(
        [recall_at(r, o.gold, 10, provision_match) for o, r in rows if o.needs_all]
    )
    out["curve_article"] = [mean([hit_at(r, o.gold, k, article_match) for o, r in rows])
                            for k in CURVE_KS]
    out["curve_provision"] = [mean([hit_at(r, o.gold, k, provision_match) for o, r in rows])
                              for k in CURVE_KS]
    return out


def grounding_metrics(outcomes: Sequence[Outcome]) -> dict:
    """Citation validity, marker share and figures-in-citation share over answered questions."""
    checked = [o.grounding for o in outcomes if o.grounding is not None and not o.abstained]
    if not checked and all(o.grounding is None for o in outcomes):
        return {"citation_validity": None, "marker_share": None, "figures_supported": None,
                "answers_checked": 0, "figures_checked": 0}
    total = sum(g.citations + g.sentences for g in checked)
    valid = sum(g.citations_valid + g.sentences_verified for g in checked)
    return {
        "citation_validity": ratio(valid, total),
        "marker_share": ratio(sum(g.text_marked for g in checked),
                              sum(g.text_sentences for g in checked)),
        "figures_supported": ratio(sum(g.figures_supported for g in checked),
                                   sum(g.figures for g in checked)),
        "answers_checked": len(checked),
        "figures_checked": sum(g.figures for g in checked),
    }


def summarise(outcomes: Sequence[Outcome]) -> dict:
    """Every metric for a list of outcomes (one system, one category or all).

    ``article_hit_5`` etc. score what the answer cites (an abstention is a miss);
    ``retrieval.*`` score what retrieval found, so retrieval and abstention failures separate.
    """
    answers = ranking_metrics(outcomes, use="cited")
    retrieval = ranking_metrics(outcomes, use="retrieved")
    summary = {
        "questions": len(outcomes),
        "in_scope": sum(o.in_scope for o in outcomes),
        "out_of_scope": sum(not o.in_scope for o in outcomes),
        "needs_all": sum(o.needs_all for o in outcomes),
        **{k: v for k, v in answers.items() if not k.startswith("curve_")},
        **answer_metrics(outcomes),
        "abstention_within_margin": sum(o.margin is not None and o.margin < ABSTENTION_MARGIN
                                        for o in outcomes),
        **abstention_scores([(o.in_scope, o.abstained) for o in outcomes]),
        **grounding_metrics(outcomes),
        "latency_p50_ms": percentile([o.timing_ms for o in outcomes], 50),
        "latency_p95_ms": percentile([o.timing_ms for o in outcomes], 95),
        "wall_p50_ms": percentile([o.wall_ms for o in outcomes], 50),
        "wall_p95_ms": percentile([o.wall_ms for o in outcomes], 95),
        "retrieval": {k: v for k, v in retrieval.items() if not k.startswith("curve_")},
        "curves": {
            "article": answers["curve_article"],
            "provision": answers["curve_provision"],
            "retrieval_article": retrieval["curve_article"],
            "retrieval_provision": retrieval["curve_provision"],
        },
    }
    return summary


def by_category(outcomes: Sequence[Outcome]) -> dict[str, dict]:
    """:func:`summarise` per category, in order of first appearance."""
    categories = list(dict.fromkeys(o.category for o in outcomes))
    return {c: summarise([o for o in outcomes if o.category == c]) for c in categories}


@dataclass(frozen=True, slots=True)
class Failure:
    """One question a human should read: what was asked, expected and returned."""

    id: str
    category: str
    kind: str  # see FAILURE_KINDS
    question: str
    gold: tuple[str, ...]
    abstained: bool
    cited: tuple[str, ...]  # top 5 refs of the answer
    retrieved: tuple[str, ...]  # top 5 refs of retrieval alone
    detail: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "category": self.category, "kind": self.kind,
                "question": self.question, "gold": list(self.gold),
                "abstained": self.abstained, "cited": list(self.cited),
                "retrieved": list(self.retrieved), "detail": self.detail}


FAILURE_KINDS = {
    "answered_out_of_scope": "answered a question the texts do not cover",
    "abstained_in_scope": "abstained although the texts answer it",
    "article_miss": "no cited ref in the right article in the top 5",
    "provision_miss": "right article, but no cited ref at the gold provision in the top 5",
    "needs_all_partial": "not every required provision in the top 10",
    "grounding": "a citation or sentence failed verification",
}


def failures(outcomes: Sequence[Outcome]) -> list[Failure]:
    """The questions the system got wrong, each with its worst failure kind."""
    out = []
    for o in outcomes:
        kind, detail = _failure_kind(o)
        if kind:
            out.append(Failure(
                o.id, o.category, kind, o.question, o.gold, o.abstained,
                _flat(o.cited, 5), _flat(o.retrieved, 5), detail,
            ))
    return out


def _failure_kind(o: Outcome) -> tuple[str, str]:
    if o.grounding is not None and o.grounding.problems:
        return "grounding", "; ".join(o.grounding.problems[:3])
    if not o.in_scope:
        return ("answered_out_of_scope", "") if not o.abstained else ("", "")
    if o.abstained:
        rank = first_hit(o.retrieved, o.gold, provision_match)
        return "abstained_in_scope", (f"retrieval had a gold provision at rank {rank}" if rank
                                      else "retrieval missed too")
    if not hit_at(o.cited, o.gold, 5, article_match):
        return "article_miss", ""
    if not hit_at(o.cited, o.gold, 5, provision_match):
        return "provision_miss", ""
    if o.needs_all and recall_at(o.cited, o.gold, 10, provision_match) < 1.0:
        return "needs_all_partial", ""
    return "", ""


def _flat(ranked: Ranked, k: int) -> tuple[str, ...]:
    return tuple(" | ".join(position) for position in ranked[:k])


def failure_counts(found: Sequence[Failure]) -> dict[str, dict[str, int]]:
    """category -> failure kind -> count."""
    counts: dict[str, Counter] = {}
    for f in found:
        counts.setdefault(f.category, Counter())[f.kind] += 1
    return {c: dict(k) for c, k in counts.items()}


# --- the gate ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """One gate line: a metric's floor (or ceiling) now, and the issue's target."""

    metric: str
    threshold: float
    target: float | None
    upper: bool = False  # a ceiling (false_abstention) rather than a floor

    def passes(self, value: float | None, bound: float) -> bool:
        if value is None:
            return False
        return value <= bound + 1e-9 if self.upper else value >= bound - 1e-9


@dataclass(frozen=True, slots=True)
class Thresholds:
    bounds: tuple[Bound, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        """From the parsed thresholds.toml: ``[min]`` and ``[max]`` tables of ``metric`` and
        ``target_metric`` keys."""
        bounds = []
        for table, upper in (("min", False), ("max", True)):
            values = data.get(table, {})
            for key, value in values.items():
                if not key.startswith("target_"):
                    bounds.append(Bound(key, float(value), values.get(f"target_{key}"), upper))
        return cls(tuple(bounds))


def metric_value(summary: dict, metric: str) -> float | None:
    """A metric of a summary by name; ``retrieval.article_hit_5`` reaches into a section."""
    value: object = summary
    for part in metric.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"unknown metric {metric!r}")
        value = value[part]
    return value  # type: ignore[return-value]


def gate(summary: dict, thresholds: Thresholds) -> list[str]:
    """One message per metric that breaks its threshold (empty: the gate passes).

    >>> t = Thresholds.from_dict({"min": {"article_mrr": 0.8}, "max": {"false_abstention": 0.1}})
    >>> gate({"article_mrr": 0.75, "false_abstention": 0.05}, t)
    ['article_mrr = 0.750 is below the threshold 0.800']
    """
    broken = []
    for b in thresholds.bounds:
        value = metric_value(summary, b.metric)
        if not b.passes(value, b.threshold):
            shown = "n/a" if value is None else f"{value:.3f}"
            side = "above" if b.upper else "below"
            broken.append(f"{b.metric} = {shown} is {side} the threshold {b.threshold:.3f}")
    return broken


def target_status(summary: dict, thresholds: Thresholds) -> list[dict]:
    """For each metric with a target: its value, the target, met or missed by how much.

    >>> t = Thresholds.from_dict({"min": {"article_hit_5": 0.8, "target_article_hit_5": 0.95}})
    >>> target_status({"article_hit_5": 0.9}, t)[0]["gap"]
    0.05
    """
    out = []
    for b in thresholds.bounds:
        if b.target is None:
            continue
        value = metric_value(summary, b.metric)
        met = b.passes(value, b.target)
        gap = None if value is None or met else round(abs(b.target - value), 4)
        out.append({"metric": b.metric, "value": value, "target": b.target,
                    "op": "≤" if b.upper else "≥", "met": met, "gap": gap,
                    "threshold": b.threshold, "gate": b.passes(value, b.threshold)})
    return out
