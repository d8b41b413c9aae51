"""The learned fusion: one score per candidate passage from the signals retrieval computes.

In: the ranked :class:`kb.search.retrieval.Lists` of a question and what we know about each
candidate (its unit, document kind, words, article); out: a feature vector per candidate
and, with a :class:`Ranker` read from ``ranker.json``, a score.  The model is a logistic
regression trained by ``python -m eval.train_ranker`` on the evaluation questions plus
questions generated from the corpus's own structure; its weights are data a reviewer can
read.  Without ``ranker.json`` retrieval falls back to reciprocal rank fusion.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.records import Provision, StoredChunk, Unit
from kb.search.intent import Intent
from kb.text import content_words

log = logging.getLogger(__name__)
RANKER_PATH = Path(__file__).with_name("ranker.json")
_POINTS = re.compile(r"\([a-z]{1,3}\)|point \d+\(")


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the ranker knows about one passage besides the lists."""

    chunk: StoredChunk
    provision: Provision
    doc_kind: str  # "act" (the main act), "amending", "other_act" (GDPR), "guideline"
    article_title: str  # title of the enclosing article or annex ("" if none)
    article: str  # the article-level ref ("Article 5", "Annex III", "Recital 12", a para.)
    cites: tuple[str, ...] = ()  # AI Act refs its text names (guidance and recitals)
    words: frozenset[str] = frozenset()  # content words of the chunk with its context line
    title_words: frozenset[str] = frozenset()  # content words of the article title


FEATURES: tuple[str, ...] = (
    "dense", "dense_rr", "dense_x", "dense_x_rr", "bm25", "bm25_rr", "title_rr", "hint_rr",
    "timing_rr", "direct", "direct_article", "hint_article", "rrf",
    "kind_act", "kind_amending", "kind_other_act", "kind_guideline",
    "unit_recital", "unit_definition", "unit_annex", "unit_section", "whole_article",
    "has_point", "coverage", "title_overlap", "article_support",
    "def_x_definition", "when_x_timing", "penalty_x_penalties", "gdpr_x_other_act",
    "guidance_x_guideline", "allowed_x_prohibitions", "transparency_x_art50",
    "no_gdpr_x_other_act", "no_guidance_x_guideline", "cited_by_leaders",
    "article_cited_by_leaders", "guided_rr", "guided_article", "title_in_question",
    "adapted", "adapted_rr", "adapted_support",
)


def _article_of(ref: str) -> str:
    """ "Article 50(1)(a)" → "Article 50"."""
    return re.sub(r"\(.*$", "", ref)


def _related(cited: str, ref: str) -> bool:
    """Whether a cited ref names ``ref``, an enclosing or an enclosed provision of it."""
    return cited == ref or ref.startswith(cited + "(") or cited.startswith(ref + "(")


def _rr(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / (1.0 + rank)


def _ranks(ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for rank, chunk_id in enumerate(ids):
        out.setdefault(chunk_id, rank)
    return out


def features(lists, candidates: dict[str, Candidate], intent: Intent,
             rrf: dict[str, float]) -> dict[str, list[float]]:
    """One vector per candidate chunk id (in FEATURES order)."""
    dense = lists.dense[0]
    dense_x = lists.dense[1] if len(lists.dense) > 1 else dense
    dense_rank, dense_x_rank = _ranks([i for i, _ in dense]), _ranks([i for i, _ in dense_x])
    dense_cos, dense_x_cos = dict(dense), dict(dense_x)
    adapted_rank, adapted_cos = _ranks([i for i, _ in lists.adapted]), dict(lists.adapted)
    bm25_rank = _ranks([i for i, _ in lists.lexical])
    top_bm25 = max((s for _, s in lists.lexical), default=0.0) or 1.0
    bm25 = {i: s / top_bm25 for i, s in lists.lexical}
    title_rank, hint_rank = _ranks(lists.titles), _ranks(lists.hints)
    timing_rank, direct = _ranks(lists.timing), set(lists.direct)
    direct_articles = {candidates[i].article for i in lists.direct if i in candidates}
    hint_articles = {candidates[i].article for i in lists.hints if i in candidates}
    guided_rank = _ranks(lists.guided)
    guided_articles = {candidates[i].article for i in lists.guided if i in candidates}
    # How many of the leading passages of the dense and lexical lists share an article.
    leading = [i for i, _ in dense[:10]] + [i for i, _ in lists.lexical[:10]]
    support = Counter(candidates[i].article for i in dict.fromkeys(leading) if i in candidates)
    adapted_support = Counter(candidates[i].article for i, _ in lists.adapted[:10]
                              if i in candidates)
    asked = set(content_words(lists.question + " " + lists.expansion))
    typed = set(content_words(lists.question))  # without the expansion
    # Guidance and recitals among the leading passages point at the binding provisions they
    # explain: a provision they cite gains their support.
    ranked = sorted(rrf, key=lambda i: (-rrf[i], i))
    cited = [ref for i in ranked[:10] if i in candidates for ref in candidates[i].cites]
    cited_articles = Counter(_article_of(ref) for ref in cited)
    out = {}
    for chunk_id, c in candidates.items():
        unit = c.provision.unit
        words, title_words = c.words, c.title_words
        is_penalty = c.doc_kind == "act" and c.provision.article in ("99", "100", "101")
        vector = [
            dense_cos.get(chunk_id, 0.0), _rr(dense_rank.get(chunk_id)),
            dense_x_cos.get(chunk_id, 0.0), _rr(dense_x_rank.get(chunk_id)),
            bm25.get(chunk_id, 0.0), _rr(bm25_rank.get(chunk_id)),
            _rr(title_rank.get(chunk_id)), _rr(hint_rank.get(chunk_id)),
            _rr(timing_rank.get(chunk_id)), float(chunk_id in direct),
            float(chunk_id not in direct and c.article in direct_articles),
            float(c.article in hint_articles),
            60.0 * rrf.get(chunk_id, 0.0),
            float(c.doc_kind == "act"), float(c.doc_kind == "amending"),
            float(c.doc_kind == "other_act"), float(c.doc_kind == "guideline"),
            float(unit is Unit.RECITAL), float(unit is Unit.DEFINITION),
            float(unit is Unit.ANNEX), float(unit is Unit.SECTION),
            float(c.provision.ref == c.article),
            float(bool(_POINTS.search(c.provision.ref.split(",")[-1]))),
            len(asked & words) / len(asked) if asked else 0.0,
            len(asked & title_words) / len(title_words) if title_words else 0.0,
            support.get(c.article, 0) / 5.0,
            float(intent.definition and unit is Unit.DEFINITION),
            float(intent.when and c.doc_kind == "act" and c.provision.article in ("113", "111")),
            float(intent.penalty and is_penalty),
            float(intent.gdpr and c.doc_kind == "other_act"),
            float(intent.guidance and c.doc_kind == "guideline"),
            float(intent.allowed and c.doc_kind == "act" and c.provision.article == "5"),
            float(intent.transparency and c.doc_kind == "act" and c.provision.article == "50"),
            float(not intent.gdpr and c.doc_kind == "other_act"),
            float(not intent.guidance and c.doc_kind == "guideline"),
            sum(_related(ref, c.provision.ref) for ref in cited) / 5.0,
            cited_articles.get(c.article, 0) / 5.0 if c.doc_kind == "act" else 0.0,
            _rr(guided_rank.get(chunk_id)), float(c.article in guided_articles),
            # The question repeats the whole title of the candidate's article ("obligations
            # of providers of high-risk AI systems" is Article 16's).
            float(len(title_words) >= 2 and title_words <= typed),
            adapted_cos.get(chunk_id, 0.0), _rr(adapted_rank.get(chunk_id)),
            adapted_support.get(c.article, 0) / 5.0,
        ]
        out[chunk_id] = vector
    return out


@dataclass(frozen=True)
class Ranker:
    """A logistic regression over FEATURES: standardised inputs, weights, intercept."""

    names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    trained_on: str = ""  # what produced it (questions, counts, CV numbers)

    def score(self, vector: Sequence[float]) -> float:
        """The probability that the passage answers the question (0..1)."""
        z = self.intercept + sum(w * (x - m) / s for w, x, m, s in
                                 zip(self.weights, vector, self.means, self.scales, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> str:
        return json.dumps({"names": self.names, "means": self.means, "scales": self.scales,
                           "weights": self.weights, "intercept": self.intercept,
                           "trained_on": self.trained_on}, indent=1)

    @classmethod
    def load(cls, path: Path = RANKER_PATH) -> Ranker | None:
        """The ranker in ``path``, or None when there is none or it was trained on other
        features (then retrieval falls back to reciprocal rank fusion)."""
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            ranker = cls(tuple(data["names"]), tuple(data["means"]), tuple(data["scales"]),
                         tuple(data["weights"]), float(data["intercept"]),
                         data.get("trained_on", ""))
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("ranker %s unreadable (%s); using reciprocal rank fusion", path, error)
            return None
        if ranker.names != FEATURES or not (
                len(ranker.means) == len(ranker.scales) == len(ranker.weights) == len(FEATURES)):
            log.warning("ranker %s was trained on other features; using reciprocal rank fusion "
                        "(retrain: python -m eval.train_ranker)", path)
            return None
        return ranker
