"""Answers from retrieved passages: the default extractive answerer, and abstention.

The extractive answerer picks the sentences of the top passages that best match the
question and copies them verbatim, each followed by the ``[n]`` marker of the passage it
comes from.  Any future answerer (an LLM through llama-index) implements the same
``Answerer`` protocol and its output must pass :func:`kb.assistant.Assistant.verify`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kb.answers.scope import instruction_reason, legal_cue, off_topic_reason
from kb.records import Hit, Sentence
from kb.text import content_words, sentence_spans, words

# Abstention thresholds, calibrated on eval/questions.jsonl (see eval/report.md):
# abstain when the best passage's cosine similarity is below MIN_DENSE, or below
# WEAK_DENSE while fewer than MIN_COVERAGE of the question's content words occur in it.
# A question with no legal cue at all (kb.answers.scope) must clear NO_CUE_DENSE instead, and one
# that asks about another jurisdiction or for advice/products abstains (kb.answers.scope).
MIN_DENSE = 0.30
WEAK_DENSE = 0.42
MIN_COVERAGE = 0.34
NO_CUE_DENSE = 0.55
MAX_SENTENCES = 3
_LEADING_LABEL = re.compile(r"^(?:\d{1,3}[a-z]?\.|\([0-9a-z]{1,4}\))\s+")


@dataclass(frozen=True, slots=True)
class Draft:
    """What an answerer produces: sentences with markers, before packaging."""

    sentences: list[Sentence]
    abstained: bool
    reason: str = ""
    margin: float | None = None  # distance of the evidence to the nearest threshold

    @property
    def text(self) -> str:
        return " ".join(f"{s.text} [{s.n}]" for s in self.sentences)


class Answerer(Protocol):
    """Turns a question and its ranked passages into cited sentences."""

    def draft(self, question: str, hits: list[Hit], *, expansion: str = "") -> Draft: ...


def evidence(question: str, hits: list[Hit]) -> tuple[float, float]:
    """(best cosine among the top passages, share of question words in the best passage)."""
    if not hits:
        return 0.0, 0.0
    best = max(hits[:5], key=lambda h: h.dense)
    asked = set(content_words(question))
    found = set(words(best.chunk.embed_text))
    coverage = len(asked & found) / len(asked) if asked else 0.0
    return best.dense, coverage


def should_abstain(question: str, hits: list[Hit]) -> str:
    """Why the evidence is too weak to answer, or "" when it is strong enough."""
    settled = settled_reason(hits, instruction_reason(question),
                             lambda: off_topic_reason(question))
    if settled is not None:
        return settled
    dense, coverage = evidence(question, hits)
    return weak_evidence_reason(dense, coverage, legal_cue(question),
                                min_dense=MIN_DENSE, weak_dense=WEAK_DENSE,
                                min_coverage=MIN_COVERAGE, no_cue_dense=NO_CUE_DENSE)


def settled_reason(hits: list[Hit], instructed: str, off_topic: Callable[[], str]) -> str | None:
    """The abstention decided before the evidence is weighed: ``instructed`` (the question
    gives the system instructions), "" when a passage is named by the question, no passage,
    or ``off_topic()``; None when the evidence decides."""
    if instructed:
        return instructed
    if any(h.direct for h in hits):
        return ""
    if not hits:
        return "no passage matched"
    return off_topic() or None


def weak_evidence_reason(dense: float, coverage: float, cue: bool, *, min_dense: float,
                         weak_dense: float, min_coverage: float, no_cue_dense: float) -> str:
    """Why evidence of this similarity and word coverage is too weak ("" if it is not): a
    question without a legal ``cue`` must clear ``no_cue_dense``."""
    if not cue and dense < no_cue_dense:
        return f"no legal question asked and best passage similarity {dense:.2f} < {no_cue_dense}"
    if dense < min_dense:
        return f"best passage similarity {dense:.2f} < {min_dense}"
    if dense < weak_dense and coverage < min_coverage:
        return f"similarity {dense:.2f} and word coverage {coverage:.2f} are both weak"
    return ""


def abstention_margin(question: str, hits: list[Hit]) -> float | None:
    """How far the evidence lies from the thresholds that decided to answer or abstain
    (None when no threshold decided: a named provision, an instruction, no hits, off-topic).

    The decision is taken on rounded, repeatable scores (kb.index.store.ranked); the margin
    says how much a change of model or corpus could move it.
    """
    if instruction_reason(question) or any(h.direct for h in hits) or not hits \
            or off_topic_reason(question):
        return None
    dense, coverage = evidence(question, hits)
    gaps = [abs(dense - MIN_DENSE)]
    if not legal_cue(question):
        gaps.append(abs(dense - NO_CUE_DENSE))
    if dense < WEAK_DENSE:
        gaps.append(max(abs(dense - WEAK_DENSE), abs(coverage - MIN_COVERAGE)))
    return round(min(gaps), 6)


class ExtractiveAnswerer:
    """Verbatim sentences from the top passages; no language model."""

    def __init__(self, document_frequency: Counter, documents: int, *, passages: int = 4):
        self.df = document_frequency
        self.n = max(documents, 1)
        self.passages = passages

    @classmethod
    def for_texts(cls, texts: list[str]) -> ExtractiveAnswerer:
        df: Counter = Counter()
        for text in texts:
            df.update(set(words(text)))
        return cls(df, len(texts))

    def idf(self, word: str) -> float:
        return math.log(1 + self.n / (1 + self.df.get(word, 0)))

    def draft(self, question: str, hits: list[Hit], *, expansion: str = "") -> Draft:
        reason = should_abstain(question, hits)
        margin = abstention_margin(question, hits)
        if reason:
            return Draft([], abstained=True, reason=reason, margin=margin)
        asked = Counter(content_words(question))
        sentences = pick_sentences(hits[: self.passages],
                                   lambda text, _hit: self._score(text, asked, expansion))
        return Draft(sentences, abstained=False, margin=margin)

    def _score(self, sentence: str, asked: Counter, expansion: str) -> float:
        present = set(words(sentence))
        main = sum(self.idf(w) for w in asked if w in present)
        extra = sum(0.4 * self.idf(w) for w in set(content_words(expansion)) if w in present)
        return (main + extra) / math.sqrt(6 + len(present))


def _strip_label(text: str) -> str:
    """Drop a leading "1." or "(a)" label: the rest is still a verbatim slice."""
    return _LEADING_LABEL.sub("", text, count=1)


def pick_sentences(hits: list[Hit], score: Callable[[str, Hit], float], *,
                   strip: Callable[[str], str] = _strip_label) -> list[Sentence]:
    """The verbatim sentences to answer with from ``hits`` (the passages to quote from, in
    rank order), each marked with its passage's number.

    A sentence (its leading label dropped by ``strip``, at least 4 words) is worth
    ``score(sentence, hit)`` plus a bonus for its passage's rank and, in a passage named by
    the question, for its position; :func:`_choose` keeps the best.
    """
    scored = []
    for rank, hit in enumerate(hits):
        for position, (start, end) in enumerate(sentence_spans(hit.chunk.text)):
            text = strip(hit.chunk.text[start:end])
            if len(text.split()) < 4:
                continue
            value = score(text, hit) + 1.5 / (rank + 1)
            if hit.direct:
                value += 3.0 / (position + 1)
            scored.append((value, rank, position, text))
    chosen = _choose(scored)
    # Passages in rank order, sentences in document order: leading with the best-matching
    # sentence instead was tried and put exceptions before the rule they qualify.
    chosen.sort(key=lambda item: (item[1], item[2]))
    return [Sentence(text, rank + 1) for _, rank, _, text in chosen]


def _choose(scored: list[tuple]) -> list[tuple]:
    """The best sentences: at most MAX_SENTENCES, at most two per passage, and nothing
    much weaker than the best; and always the best one of the first passage, so that the
    answer leads with what retrieval ranked first."""
    scored = sorted(scored, reverse=True)
    if not scored:
        return []
    best = scored[0][0]
    chosen, per_passage = [], Counter()
    for item in scored:
        score, rank = item[0], item[1]
        if len(chosen) == MAX_SENTENCES or score < 0.45 * best:
            break
        if per_passage[rank] < 2:
            chosen.append(item)
            per_passage[rank] += 1
    first = next((item for item in scored if item[1] == 0), None)
    if first is not None and not per_passage[0]:
        chosen = [*chosen[:MAX_SENTENCES - 1], first]
    return chosen
