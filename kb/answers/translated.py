"""Answers to German and French questions: the extractive method of
:mod:`kb.answers.extractive`, quoting each passage in the language it is shown in.

In: the question, its language, the English question it was searched with
(:mod:`kb.search.multilingual`) and the retrieved passages rendered in the question's language
(``Hit.provision.lang`` says which: the official German or French wording where it is the law
in force, English for guidelines, the GDPR and provisions amended in English only).  Out: a
:class:`Draft` of verbatim sentences with ``[n]`` markers.  A sentence is matched to the
question in its own language: the question's stems for a German passage, the English search
question's for an English one.  Abstention reads the English evidence of retrieval (the
English model's similarity to the English search question) and the German/French cues of
:mod:`kb.answers.scope_i18n`; its thresholds are the English answerer's, checked on the tuning
part of the German and French eval sets (which gave no reason to move them).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from kb.answers import scope, scope_i18n
from kb.answers.extractive import (
    Draft,
    evidence,
    pick_sentences,
    settled_reason,
    weak_evidence_reason,
)
from kb.records import Hit
from kb.search.languages import tokenize

# Abstention thresholds for a bridged question (the English model's cosine similarity to the
# English search question, and the share of its words in the best passage): the English values
# of kb.answers.extractive, kept apart so that they can move without touching English answers.
MIN_DENSE = 0.30
WEAK_DENSE = 0.42
MIN_COVERAGE = 0.34
NO_CUE_DENSE = 0.55
# "1.", "(1)", "(a)" and the German/French point labels "a)", "ba)".
_LEADING_LABEL = re.compile(r"^(?:\d{1,3}[a-z]?\.|\([0-9a-z]{1,4}\)|[a-z]{1,3}\))\s+")


def abstain_reason(question: str, lang: str, english: str, hits: list[Hit]) -> str:
    """Why the evidence for a German or French question is too weak to answer ("" if it
    is strong enough); ``hits`` are retrieval's (English) passages for ``english``."""
    instructed = (scope_i18n.instruction_reason(question, lang)
                  or scope.instruction_reason(question))
    settled = settled_reason(hits, instructed,
                             lambda: scope_i18n.off_topic_reason(question, lang))
    if settled is not None:
        return settled
    dense, coverage = evidence(english, hits)
    # --lang de on an English question: its English cues count too.
    cue = scope_i18n.legal_cue(question, lang) or scope.legal_cue(question)
    return weak_evidence_reason(dense, coverage, bool(cue), min_dense=MIN_DENSE,
                                weak_dense=WEAK_DENSE, min_coverage=MIN_COVERAGE,
                                no_cue_dense=NO_CUE_DENSE)


class TranslatedAnswerer:
    """Verbatim sentences from passages in several languages; no language model."""

    def __init__(self, document_frequency: dict[str, Counter], documents: dict[str, int], *,
                 passages: int = 4):
        self.df = document_frequency
        self.n = {lang: max(count, 1) for lang, count in documents.items()}
        self.passages = passages

    @classmethod
    def for_texts(cls, texts: dict[str, Iterable[str]]) -> TranslatedAnswerer:
        """Word statistics of the passages of each language (``{"en": [...], "de": [...]}``)."""
        df: dict[str, Counter] = {}
        n: dict[str, int] = {}
        for lang, items in texts.items():
            counts: Counter = Counter()
            total = 0
            for text in items:
                counts.update(set(tokenize(text, lang)))
                total += 1
            df[lang], n[lang] = counts, total
        return cls(df, n)

    def idf(self, token: str, lang: str) -> float:
        df = self.df.get(lang, Counter())
        return math.log(1 + self.n.get(lang, 1) / (1 + df.get(token, 0)))

    def draft(self, question: str, lang: str, english: str, hits: list[Hit]) -> Draft:
        """The best sentences of the top passages (abstention is decided before, by
        :func:`abstain_reason`)."""
        asked = {lang: Counter(tokenize(question, lang)), "en": Counter(tokenize(english, "en"))}

        def score(text: str, hit: Hit) -> float:  # in the language the passage is shown in
            shown = hit.provision.lang
            return self._score(text, asked.get(shown) or Counter(), shown)

        return Draft(pick_sentences(hits[: self.passages], score, strip=_strip_label),
                     abstained=False)

    def _score(self, sentence: str, asked: Counter, lang: str) -> float:
        present = set(tokenize(sentence, lang))
        found = sum(self.idf(t, lang) for t in asked if t in present)
        return found / math.sqrt(6 + len(present))


def _strip_label(text: str) -> str:
    """Drop a leading "(1)", "1." or "a)" label: the rest is still a verbatim slice."""
    return _LEADING_LABEL.sub("", text, count=1)
