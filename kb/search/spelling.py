"""Spelling correction of question words against the corpus vocabulary.

In: the texts of the index; out: the question with misspelt words replaced by close corpus
words ("emotoin recogniton" → "emotion recognition").  Ranking is left to retrieval.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict

from kb.text import STOP_WORDS, words


class Speller:
    """Corrects misspelt question words to words of the corpus ("emotoin" → "emotion").

    Only words of five letters or more that occur nowhere in the corpus are touched, and
    only by a corpus word of similar length that is close (difflib ratio ≥ 0.8).
    """

    def __init__(self, texts: list[str]):
        counts: dict[str, int] = defaultdict(int)
        for text in texts:
            for w in words(text):
                if w.isalpha():
                    counts[w] += 1
        self.vocabulary = counts
        self._by_shape: dict[tuple[str, int], list[str]] = defaultdict(list)
        for w in counts:
            self._by_shape[(w[0], len(w))].append(w)

    def _fix(self, word: str) -> str:
        if len(word) < 5 or not word.isalpha() or word in self.vocabulary or word in STOP_WORDS:
            return word
        firsts = dict.fromkeys((word[0], word[1]))  # ordered, unlike a set
        candidates = [w for n in range(len(word) - 2, len(word) + 3)
                      for first in firsts for w in self._by_shape.get((first, n), ())]
        close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.8)
        return max(close, key=lambda w: self.vocabulary[w]) if close else word

    def correct(self, question: str) -> str:
        """The question with misspelt words replaced (unchanged if nothing to fix).

        >>> Speller(["emotion recognition at the workplace"]).correct("emotoin recogniton")
        'emotion recognition'
        """
        return re.sub(r"[A-Za-z]+", lambda m: self._keep_case(m.group(0)), question)

    def _keep_case(self, word: str) -> str:
        fixed = self._fix(word.lower())
        return word if fixed == word.lower() else fixed
