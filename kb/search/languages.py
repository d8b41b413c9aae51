"""Questions in English, German or French: detect the language, analyse words, bridge terms.

``detect`` names a question's language with lingua (its n-gram models ship inside the
wheel; only English, German and French are loaded).  ``tokenize`` is the lexical analysis
per language (Snowball stemmer from PyStemmer, Snowball stop words from bm25s, accents
folded, French elisions dropped).  ``term_pairs`` and ``aligned_words`` read term
translations off the aligned official texts (same ref, three languages), for bridging a
German or French question to the English index.  Ranking is left to ``retrieval``.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from kb.records import LANGUAGES, Provision, Unit

DEFAULT = "en"
_STEMMERS = {"en": "english", "de": "german", "fr": "french"}
_STOPWORD_LISTS = {"en": "STOPWORDS_EN", "de": "STOPWORDS_GERMAN", "fr": "STOPWORDS_FRENCH"}
# Words our questions and texts use as function words beyond Snowball's lists.
_EXTRA_STOPWORDS = {
    "en": {"shall", "must", "may", "also", "within", "pursuant", "referred", "point",
           "article", "paragraph", "regulation"},
    "de": {"gemäß", "sowie", "artikel", "absatz", "buchstabe", "verordnung", "muss", "müssen",
           "dürfen", "darf", "wurde", "werden"},
    "fr": {"article", "paragraphe", "point", "règlement", "conformément", "visé", "visés",
           "visée", "visées", "doit", "doivent", "peut", "peuvent"},
}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# French elided articles and pronouns: "d’IA" -> "IA", "l’utilisation" -> "utilisation".
_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

_lock = threading.Lock()


# --- detection ---------------------------------------------------------------------------


@cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = {Language.ENGLISH: "en", Language.GERMAN: "de", Language.FRENCH: "fr"}
    return LanguageDetectorBuilder.from_languages(*languages).build(), languages


# A language other than the default needs at least this many words (refs such as "Article
# 5(1), point (f)" left out) and this confidence: "GDPR Art. 22?" or "deepfake" alone are not
# German, whatever the n-grams say.  Measured on the eval sets: every German and French
# question has confidence ≥ 0.54, every English one ≥ 0.55 for English.
MIN_WORDS = 2
MIN_CONFIDENCE = 0.5


def detect(question: str, *, default: str = DEFAULT) -> str:
    """The language of ``question``: "en", "de" or "fr" (``default`` when undecidable).

    >>> detect("Muss unser Chatbot sagen, dass er eine KI ist?")
    'de'
    >>> detect("Qu'est-ce qu'un déployeur ?"), detect("What is a deployer?"), detect("50(1)")
    ('fr', 'en', 'en')
    >>> detect("Article 5(1), point (f)"), detect("GDPR Art. 22?"), detect("deepfake")
    ('en', 'en', 'en')
    """
    if not isinstance(question, str) or not _LETTER.search(question):
        return default
    from kb.law.refs import find_refs

    text = question
    for mention in reversed(find_refs(question)):  # refs are written alike in every language
        text = text[:mention.start] + " " + text[mention.end:]
    if sum(1 for m in _WORD.finditer(text) if _LETTER.search(m.group(0))
           and len(m.group(0)) > 1) < MIN_WORDS:
        return default
    with _lock:  # the detector loads its models lazily, once
        detector, codes = _detector()
    values = detector.compute_language_confidence_values(text)
    if not values:
        return default
    best = values[0]
    code = codes.get(best.language, default)
    return code if code == default or best.value >= MIN_CONFIDENCE else default


# --- lexical analysis --------------------------------------------------------------------


@cache
def _stemmer(lang: str):
    import Stemmer

    return Stemmer.Stemmer(_STEMMERS[lang])


@cache
def stopwords(lang: str) -> frozenset[str]:
    """Snowball's stop words for ``lang`` (from bm25s) plus a few legal function words,
    accent-folded."""
    import bm25s.stopwords

    words = set(getattr(bm25s.stopwords, _STOPWORD_LISTS[lang])) | _EXTRA_STOPWORDS[lang]
    return frozenset(fold(w) for w in words)


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """Lower case without accents; "ß" becomes "ss" (cached: words repeat).

    >>> fold("Déployeur"), fold("Bußgeld")
    ('deployeur', 'bussgeld')
    """
    text = unicodedata.normalize("NFKD", word.lower().replace("ß", "ss"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _check(lang: str) -> str:
    if lang not in _STEMMERS:
        raise ValueError(f"no analyser for language {lang!r}; use one of {', '.join(_STEMMERS)}")
    return lang


def words(text: str, lang: str) -> list[str]:
    """The content words of ``text`` in ``lang``, lower case, before stemming: compounds
    split at hyphens, French elisions dropped, stop words and one-letter words removed.

    >>> words("Die Pflichten der Betreiber von Hochrisiko-KI-Systemen", "de")
    ['pflichten', 'betreiber', 'hochrisiko', 'ki', 'systemen']
    >>> words("l’utilisation d’un système d’IA", "fr")
    ['utilisation', 'système', 'ia']
    """
    lang = _check(lang)
    if lang == "fr":
        text = _ELISION.sub(" ", text)
    stop = stopwords(lang)
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text))
            if len(w) > 1 and fold(w) not in stop]


def tokenize(text: str, lang: str) -> list[str]:
    """Stemmed, accent-folded tokens of ``text`` for lexical search in ``lang``.

    >>> tokenize("Betreiber von Hochrisiko-KI-Systemen", "de")
    ['betreib', 'hochrisiko', 'ki', 'system']
    >>> tokenize("les déployeurs", "fr") == tokenize("deployeur", "fr")
    True
    """
    return stems(words(text, lang), lang)


def stems(found: list[str], lang: str) -> list[str]:
    """The tokens (stemmed, folded) of words already split by :func:`words`, same order.

    >>> stems(["Betreibers", "Bußgelder"], "de")
    ['betreib', 'bussgeld']
    """
    return [fold(t) for t in _stemmer(_check(lang)).stemWords([w.lower() for w in found])]


def all_words(text: str, lang: str) -> list[str]:
    """Every word of ``text`` in ``lang``, lower case, stop words kept (French elisions
    dropped): for matching phrases such as "ab wann" or "à partir de quand".

    >>> all_words("Ab wann gilt das?", "de"), all_words("Jusqu’à quand ?", "fr")
    (['ab', 'wann', 'gilt', 'das'], ['jusqu', 'à', 'quand'])
    """
    if _check(lang) == "fr":
        text = _ELISION.sub(lambda m: m.group(0)[:-1] + " ", text)
    return [m.group(0).lower() for m in _WORD.finditer(text)]


# --- term pairs from the aligned texts ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermPair:
    """A term in English and in another language, aligned by the ref that defines it
    (Article 3) or that it is the title of (articles, annexes)."""

    ref: str  # "Article 3(4)", "Article 50"
    source: str  # "definition" or "title"
    lang: str  # language of ``other``
    en: str  # "deployer"
    other: str  # "Betreiber"


def term_pairs(english: Iterable[Provision], translated: Iterable[Provision]) -> list[TermPair]:
    """Defined terms and article/annex titles paired across languages by ref.

    ``english`` are the English provisions (any versions: the original wording is used),
    ``translated`` those of one or more language versions.
    """
    originals: dict[str, Provision] = {}
    for p in english:
        if not p.version_source and p.lang == "en":
            originals.setdefault(p.ref, p)
    pairs = []
    for t in translated:
        p = originals.get(t.ref)
        if p is None or t.lang == "en":
            continue
        if p.unit is Unit.DEFINITION and p.term and t.term:
            pairs.append(TermPair(p.ref, "definition", t.lang, p.term, t.term))
        elif not p.parent and p.title and t.title and p.unit in (Unit.ARTICLE, Unit.ANNEX):
            pairs.append(TermPair(p.ref, "title", t.lang, p.title, t.title))
    return pairs


@dataclass(frozen=True, slots=True)
class WordLink:
    """A stemmed word of another language and the English words it translates, scored by
    how consistently they occur in the same provisions (Dice coefficient)."""

    other: str  # stemmed, folded: "betreib"
    en: str  # stemmed, folded English word or two-word phrase: "deploy", "high risk"
    dice: float
    together: int  # provisions holding both


def _units(tokens: list[str]) -> set[str]:
    """Words and adjacent word pairs ("high risk")."""
    return set(tokens) | {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}


class Alignment:
    """Which English words translate a word of another language, read off the aligned
    official texts: the leaves (paragraphs, points, recitals, definitions) whose ref has an
    English original wording and a wording in ``lang``.

    Each aligned provision keeps the ids of its English words and word pairs; :meth:`links`
    counts, over the provisions a word occurs in, how often each English unit occurs with
    it, and scores the pair by the Dice coefficient (well under a millisecond a word,
    cached).
    """

    def __init__(self, english: Iterable[Provision], translated: Iterable[Provision],
                 lang: str):
        import numpy as np

        self.lang = _check(lang)
        originals = {p.ref: p for p in english if not p.version_source and p.lang == "en"}
        parents = {p.parent for p in originals.values() if p.parent}
        self._en_ids: dict[str, int] = {}
        self._other: dict[str, list[int]] = {}
        units_of: list[list[int]] = []
        for t in translated:
            p = originals.get(t.ref)
            if p is None or t.lang != lang or t.ref in parents:
                continue
            position = len(units_of)
            units_of.append([self._en_ids.setdefault(unit, len(self._en_ids))
                             for unit in _units(tokenize(p.text, "en"))])
            for word in set(tokenize(t.text, lang)):
                self._other.setdefault(word, []).append(position)
        self.size = len(units_of)
        self._en_names = list(self._en_ids)
        self._units_of = [np.asarray(ids, dtype=np.int64) for ids in units_of]
        self._en_count = np.bincount(np.concatenate(self._units_of or [np.zeros(0, np.int64)]),
                                     minlength=len(self._en_names))
        self._cache: dict[tuple[str, int, float], list[WordLink]] = {}

    def links(self, word: str, *, min_together: int = 3, min_dice: float = 0.5
              ) -> list[WordLink]:
        """English words and word pairs for ``word`` (a token of :func:`tokenize`), best
        first: those sharing at least ``min_together`` provisions with Dice ≥ ``min_dice``."""
        key = (word, min_together, min_dice)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._links(word, min_together, min_dice)
        return found

    def _links(self, word: str, min_together: int, min_dice: float) -> list[WordLink]:
        import numpy as np

        positions = self._other.get(word, [])
        count = len(positions)
        if count < min_together:
            return []
        together = np.bincount(np.concatenate([self._units_of[i] for i in positions]),
                               minlength=len(self._en_names))
        found = []
        for unit_id in np.flatnonzero(together >= min_together).tolist():
            shared = int(together[unit_id])
            dice = 2 * shared / (count + int(self._en_count[unit_id]))
            if dice >= min_dice:
                found.append(WordLink(word, self._en_names[unit_id], round(dice, 3), shared))
        found.sort(key=lambda link: (-link.dice, -link.together, link.en))
        return found

    def words(self) -> list[str]:
        """The words of ``lang`` found in the aligned provisions."""
        return list(self._other)


def language_name(code: str) -> str:
    """ "de" -> "German"."""
    return LANGUAGES.get(code, code)
