"""German and French questions: searched in their own language and bridged to English.

:class:`Bridge` turns a German or French question into an English search question: the
provisions it names ("Artikel 5 Absatz 1 Buchstabe f" → "Article 5(1)(f)"), the defined terms
of Article 3 paired by ref across the official texts ("Betreiber" → "deployer"), the phrases of
``synonyms_i18n.toml`` ("ab wann" → "from when does it apply"), and for the other words the
English words they share aligned provisions with (:class:`kb.search.languages.Alignment`), or
the word itself where English uses it too ("Chatbot").  :class:`Multilingual` adds the ranked
lists only the question's own language gives, stemmed BM25 over that language's official text
(a :class:`kb.index.store.LexicalIndex`) and its article titles, as English chunk ids for
``Retriever.retrieve(extra_lists=...)``, and renders retrieved passages in the language.  The
bundled embedding model reads English only: German and French reach dense search only through
the bridged question (or, if its weight is set, as typed).  Fusion is left to retrieval.
"""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from kb.errors import KbError
from kb.index.catalog import in_force
from kb.index.embeddings import embed_queries
from kb.index.store import LexicalIndex
from kb.law.library import Library
from kb.records import Hit, Provision, StoredChunk, Unit
from kb.search.languages import (
    Alignment,
    all_words,
    fold,
    stems,
    stopwords,
    term_pairs,
    tokenize,
    words,
)
from kb.search.retrieval import POOL, Retriever, parents_of

log = logging.getLogger(__name__)

RULES_PATH = Path(__file__).with_name("synonyms_i18n.toml")
LANGS = ("de", "fr")
# An English word is used as is ("Chatbot", "Scoring", "2025") when the English texts use it
# at least this often and the aligned texts give no translation.
MIN_ENGLISH_COUNT = 2
# Alignment links kept per word: the best, and a second one nearly as good ("hochrisiko" is
# "high risk" and "risk AI").
LINKS_PER_WORD = 2
LINK_SLACK = 0.05
# A word in fewer aligned provisions than Alignment's default minimum (3) may still link
# through 2 of them; ties are then broken by spelling (a shared first COGNATE_PREFIX letters).
RARE_TOGETHER = 2
COGNATE_PREFIX = 5
TITLE_OVERLAP = 0.6  # share of a title's words the question must contain
# Words around a defined term that do not change what a definition question asks.
_ACT_WORDS = {
    "de": {"ki", "vo", "verordnung", "sinne", "sinn", "laut", "gemass", "nach", "eigentlich",
           "genau", "gilt", "gelten", "definiert", "definition", "begriff", "bedeutet", "ai",
           "act", "eu", "unter", "versteht", "man"},
    "fr": {"ai", "act", "ia", "reglement", "sens", "selon", "definit", "definition", "terme",
           "entend", "signifie", "designe", "ue", "au", "exactement", "notion"},
}
_DEFINITION_OPENERS = {
    "de": re.compile(r"^\s*(?:was\s+(?:ist|sind|bedeutet|bedeuten|heißt|meint)|"
                     r"was\s+versteht\s+man\s+unter|wie\s+(?:definiert|definieren|bestimmt)|"
                     r"wer\s+(?:ist|gilt)|definition|begriff)\b", re.IGNORECASE),
    "fr": re.compile(r"^\s*(?:qu['’]est[- ]ce\s+qu|que\s+(?:signifie|veut\s+dire|désigne)|"
                     r"comment\s+(?:\S+\s+){0,4}?(?:définit|définissent|définir)|qui\s+est|"
                     r"quelle\s+est\s+la\s+définition|définition)", re.IGNORECASE),
}
# Words in half the titles ("KI-Systeme", "systèmes d'IA"): no evidence that a title is meant.
_GENERIC = {"ki", "ia", "system"}
# French elided particles all_words keeps as words of their own ("qu’il" → "qu", "il").
_ELIDED = {"qu", "jusqu", "lorsqu", "puisqu", "quoiqu"}


@dataclass(frozen=True, slots=True)
class Signals:
    """Which German/French signals take part, and the weight of each extra ranked list.

    The defaults are the tuned ones (see the README, "Asking in German or French"); the eval's
    ablations (``python -m eval.languages``) switch them off one at a time.
    """

    bridge: bool = True  # search English with the bridged question (else as typed)
    rules: bool = True  # synonyms_i18n.toml
    terms: bool = True  # defined terms and named provisions
    alignment: bool = True  # words through the aligned texts
    native_lexical: float = 2.0  # BM25 over the question's language
    native_titles: float = 0.5  # article titles in the question's language
    raw_dense: float = 0.0  # the English-only model on the question as typed
    answer_in_language: bool = True  # quote the question's language (else English)
    law_first: bool = True  # the law, in the language, leads over English-only guidance


DEFAULT_SIGNALS = Signals()


@dataclass(frozen=True, slots=True)
class PhraseRule:
    """One entry of synonyms_i18n.toml: phrases of one language and the English to add."""

    lang: str
    when: tuple[tuple[str, ...], ...]  # each phrase as stems ("ab", "wann")
    add: str


@dataclass(frozen=True, slots=True)
class Bridged:
    """A German or French question and the English question searched for it."""

    lang: str
    question: str
    english: str  # the English search question
    refs: tuple[str, ...] = ()  # provisions the question names, as English refs
    defined: str = ""  # the English defined term a definition question asks about
    # (word or phrase of the question, the English it became), in question order
    words: tuple[tuple[str, str], ...] = ()


def load_rules(path: Path = RULES_PATH) -> list[PhraseRule]:
    """The rules of ``path``; KbError naming the file, the entry and the bad value."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise KbError(f"cannot read {path.name}: {error}") from None
    rules = []
    for number, entry in enumerate(data.get("rule", []), start=1):
        where = f"{path.name}, rule {number}"
        lang, when, add = entry.get("lang"), entry.get("when"), entry.get("add")
        if lang not in LANGS:
            raise KbError(f"{where}: lang must be one of {', '.join(LANGS)}, got {lang!r}")
        if not isinstance(when, list) or not when or not all(
                isinstance(w, str) and w.strip() for w in when):
            raise KbError(f"{where}: when must be a list of phrases, got {when!r}")
        if not isinstance(add, str) or not add.strip():
            raise KbError(f"{where}: add must be English words, got {add!r}")
        unknown = set(entry) - {"lang", "when", "add"}
        if unknown:
            raise KbError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        rules.append(PhraseRule(lang, tuple(_phrase(w, lang) for w in when), add.strip()))
    return rules


def _phrase(text: str, lang: str) -> tuple[str, ...]:
    return tuple(stems(all_words(text, lang), lang))


# --- provisions named in German or French ---------------------------------------------------------

_NUMBER = r"(\d{1,3}[a-z]?)"
_DE_ARTICLE = re.compile(
    r"\bArt(?:ikel|\.)?\s*-?\s*" + _NUMBER + r"\b"
    r"(?:\s*(?:Abs(?:atz|\.)|\()\s*" + _NUMBER + r"\)?)?"
    r"(?:\s*(?:Unterabs(?:atz|\.)\s*\d+))?"
    r"(?:\s*(?:Buchst(?:abe|\.)?|lit\.?)\s*([a-z]{1,3})\)?)?"
    r"(?:\s*(?:Ziffer|Ziff\.)\s*([ivx]{1,4}))?",
    re.IGNORECASE,
)
_DE_ANNEX = re.compile(
    r"\bAnhang\s+([IVX]{1,5})\b(?:\s*(?:Nummer|Nr\.)\s*(\d{1,2})"
    r"(?:\s*Buchst(?:abe|\.)?\s*([a-z])\b\)?|\s*([a-z])\))?)?", re.IGNORECASE)
_DE_RECITAL = re.compile(r"\b(?:Erwägungsgrund|ErwG\.?)\s*(\d{1,3})\b", re.IGNORECASE)
_FR_ARTICLE = re.compile(
    r"\bart(?:icle|\.)\s*" + _NUMBER + r"\b"
    r"(?:\s*(?:,\s*)?(?:paragraphe|par\.|§)\s*" + _NUMBER + r")?"
    r"(?:\s*\(\s*" + _NUMBER + r"\s*\))?"
    r"(?:\s*(?:,\s*)?(?:point|alinéa)?\s*([a-z]{1,3})\))?",
    re.IGNORECASE,
)
_FR_ANNEX = re.compile(
    r"\bannexe\s+([IVX]{1,5})\b(?:\s*,?\s*point\s*(\d{1,2})(?:\s*,?\s*(?:point\s*)?([a-z])\))?)?",
    re.IGNORECASE)
_FR_RECITAL = re.compile(r"\bconsidérant\s*(\d{1,3})\b", re.IGNORECASE)
# Paragraphs of the Commission guidelines ("Rn. 45 der Leitlinien C(2026) 5054", "point 45
# des lignes directrices C(2026) 5054"), in either order.
_PARA = r"(?:Rn\.?|Randnummer|Randnr\.?|Absatz|Abs\.|Nr\.|Ziffer|points?|paragraphes?|§)"
_GUIDELINE = re.compile(
    r"\bC\s*\(\s*(\d{4})\s*\)\s*(\d{3,5})\D{0,40}?" + _PARA + r"\s*\(?(\d{1,3})\)?"
    r"|" + _PARA + r"\s*\(?(\d{1,3})\)?\D{0,40}?\bC\s*\(\s*(\d{4})\s*\)\s*(\d{3,5})",
    re.IGNORECASE)


def english_refs(question: str, lang: str) -> list[str]:
    """The provisions a German or French question names, as English local refs.

    >>> english_refs("Was verbietet Art. 5 Abs. 1 Buchst. ba KI-VO?", "de")
    ['Article 5(1)(ba)']
    >>> english_refs("Anhang III Nr. 5 Buchstabe b und Erwägungsgrund 58", "de")
    ['Annex III, point 5(b)', 'Recital 58']
    >>> english_refs("l'article 50, paragraphe 4 et l'annexe III, point 5 b)", "fr")
    ['Article 50(4)', 'Annex III, point 5(b)']
    >>> english_refs("Was steht in Rn. 45 der Leitlinien C(2026) 5054?", "de")
    ['para. 45 of C(2026) 5054']
    """
    return list(dict.fromkeys(ref for _, _, ref in _ref_spans(question, lang)))


def _ref_spans(question: str, lang: str) -> list[tuple[int, int, str]]:
    """(start, end, English ref) of each provision named, in order."""
    found: list[tuple[int, int, str]] = []
    for m in _GUIDELINE.finditer(question):
        year, number, para = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (
            m.group(5), m.group(6), m.group(4))
        found.append((m.start(), m.end(), f"para. {para} of C({year}) {number}"))
    taken = list(found)
    articles, annexes, recitals = ((_DE_ARTICLE, _DE_ANNEX, _DE_RECITAL) if lang == "de"
                                   else (_FR_ARTICLE, _FR_ANNEX, _FR_RECITAL))
    for m in articles.finditer(question):
        parts = [p.lower() for p in m.groups()[1:] if p]
        found.append((m.start(), m.end(),
                      f"Article {m.group(1).lower()}" + "".join(f"({p})" for p in parts)))
    for m in annexes.finditer(question):
        ref = f"Annex {m.group(1).upper()}"
        point = next((g for g in m.groups()[2:] if g), "")
        if m.group(2):
            ref += f", point {m.group(2)}" + (f"({point.lower()})" if point else "")
        found.append((m.start(), m.end(), ref))
    for m in recitals.finditer(question):
        found.append((m.start(), m.end(), f"Recital {m.group(1)}"))
    # A guideline paragraph's "Absatz 45" is not an article's paragraph.
    found = [f for f in found if f in taken or not any(
        a < f[1] and f[0] < b for a, b, _ in taken)]
    return sorted(found)


# --- the bridge -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Term:
    """A defined term of the other language as stems, and its English term and ref."""

    stems: tuple[str, ...]
    english: str
    ref: str


class Bridge:
    """English search questions for German and French questions (read-only once built)."""

    def __init__(self, library: Library, english_texts: Sequence[str], *,
                 rules: list[PhraseRule] | None = None):
        self.library = library
        main = library.main_act()
        self._english = [p for p in library.all_versions(main)] if main else []
        self._rules = rules if rules is not None else load_rules()
        self._vocabulary = Counter(w for text in english_texts for w in words(text, "en"))
        self._surface = self._surface_forms(self._english)
        self._alignments: dict[str, Alignment] = {}
        self._terms: dict[str, list[_Term]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _surface_forms(provisions: Sequence[Provision]) -> dict[str, str]:
        """English stem → its most frequent word in the act ("provid" → "providers")."""
        counts: Counter = Counter()
        for p in provisions:
            if p.lang == "en" and not p.deleted:
                found = words(p.text, "en")
                counts.update(zip(stems(found, "en"), (fold(w) for w in found), strict=True))
        best: dict[str, tuple[int, str]] = {}
        for (stem, word), count in counts.items():
            if (count, word) > best.get(stem, (0, "")):
                best[stem] = (count, word)
        return {stem: word for stem, (_, word) in best.items()}

    def _alignment(self, lang: str) -> Alignment:
        with self._lock:
            if lang not in self._alignments:
                translated = self.library.translations(lang)
                self._alignments[lang] = Alignment(self._english, translated, lang)
                pairs = term_pairs(self._english, translated)
                terms = [_Term(_phrase(p.other, lang), p.en, p.ref) for p in pairs
                         if p.source == "definition" and p.lang == lang]
                # Longest first, so "KI-Modell mit allgemeinem Verwendungszweck" wins over
                # "KI-Modell".
                self._terms[lang] = sorted((t for t in terms if t.stems),
                                           key=lambda t: (-len(t.stems), t.ref))
            return self._alignments[lang]

    def terms(self, lang: str) -> list[_Term]:
        self._alignment(lang)
        return self._terms[lang]

    def english_words(self, unit: str) -> str:
        """English surface words of an Alignment unit ("high risk" stems → "high risk")."""
        return " ".join(self._surface.get(stem, stem) for stem in unit.split())

    def bridge(self, question: str, lang: str, signals: Signals = DEFAULT_SIGNALS) -> Bridged:
        """The English search question for ``question`` (German or French)."""
        alignment = self._alignment(lang)
        spans = _ref_spans(question, lang) if signals.terms else []
        refs = list(dict.fromkeys(ref for _, _, ref in spans))
        text = question
        for start, end, _ in spans:  # "Art." is not the German word "Art" (kind)
            text = text[:start] + " " * (end - start) + text[end:]
        every = all_words(text, lang)
        tokens = stems(every, lang)
        defined = self._definition(text, lang, every, tokens) if signals.terms else None
        if defined is not None:
            english = f"What is a {defined.english}?"
            return Bridged(lang, question, english, tuple(refs), defined.english,
                           ((question, english),))
        taken = [False] * len(tokens)
        out: list[tuple[int, str, str]] = []  # (position, words of the question, English)
        for phrase, english in self._phrases(lang, signals):
            for start in _find(tokens, phrase, taken):
                _take(taken, start, len(phrase))
                out.append((start, " ".join(every[start:start + len(phrase)]), english))
        stop = stopwords(lang)
        for i, (word, token) in enumerate(zip(every, tokens, strict=True)):
            if taken[i] or len(word) < 2 or fold(word) in stop or word in _ELIDED:
                continue
            english = self._word(word, token, alignment, signals)
            if english:
                out.append((i, word, english))
        out.sort(key=lambda item: item[0])
        pieces = list(dict.fromkeys([*refs, *(english for _, _, english in out)]))
        return Bridged(lang, question, " ".join(pieces), tuple(refs), "",
                       tuple((source, english) for _, source, english in out))

    def _phrases(self, lang: str, signals: Signals) -> list[tuple[tuple[str, ...], str]]:
        """The defined terms and rule phrases of the language as (stems, English), longest
        first; at equal length a defined term before a rule."""
        found = []
        if signals.terms:
            found += [(t.stems, t.english, 0) for t in self.terms(lang)]
        if signals.rules:
            found += [(phrase, rule.add, 1) for rule in self._rules if rule.lang == lang
                      for phrase in rule.when]
        found.sort(key=lambda item: (-len(item[0]), item[2]))
        return [(phrase, english) for phrase, english, _ in found]

    def _word(self, word: str, token: str, alignment: Alignment, signals: Signals) -> str:
        """The English for one remaining word: its aligned English words, else the word
        itself if English texts use it, else nothing."""
        if word.isdigit():
            return word
        if signals.alignment:
            links = alignment.links(token) or alignment.links(token, min_together=RARE_TOGETHER)
            if links:
                best = links[0].dice
                near = [link.en for link in links if link.dice >= best - LINK_SLACK]
                # Among equally good links a cognate first: "militar" is "military", not
                # "national defence", though both share Article 2(3) and Recital 24.
                near.sort(key=lambda unit: -_cognate(token, unit))
                chosen = near[:LINKS_PER_WORD]
                return " ".join(dict.fromkeys(self.english_words(u) for u in chosen))
        folded = fold(word)
        if self._vocabulary[folded] >= MIN_ENGLISH_COUNT:
            return folded
        return ""

    def _definition(self, question: str, lang: str, every: list[str],
                    tokens: list[str]) -> _Term | None:
        """The defined term a "Was ist ein Betreiber?" question asks about, if that is all
        it asks (at most one other content word besides the act's name)."""
        if not _DEFINITION_OPENERS[lang].search(question):
            return None
        stop = stopwords(lang) | _ACT_WORDS[lang]
        content = [i for i, w in enumerate(every) if len(w) > 1 and fold(w) not in stop
                   and w not in _ELIDED]
        opener_end = len(all_words(_DEFINITION_OPENERS[lang].search(question).group(0), lang))
        for term in self.terms(lang):
            starts = list(_find(tokens, term.stems, [False] * len(tokens)))
            if not starts:
                continue
            covered = set(range(starts[0], starts[0] + len(term.stems)))
            others = [i for i in content if i not in covered and i >= opener_end]
            if len(others) <= 1:
                return term
            return None  # the longest term found is not all the question asks about
        return None


def _cognate(token: str, unit: str) -> int:
    """1 when a word of ``unit`` starts like ``token`` (the first COGNATE_PREFIX letters
    of both stems agree), else 0.

    >>> _cognate("militar", "militari defenc"), _cognate("militar", "defenc nation")
    (1, 0)
    """
    head = token[:COGNATE_PREFIX]
    return int(len(head) == COGNATE_PREFIX and any(w.startswith(head) for w in unit.split()))


def _find(tokens: list[str], phrase: tuple[str, ...], taken: list[bool]):
    """Start positions of ``phrase`` in ``tokens`` over words not taken yet."""
    n = len(phrase)
    i = 0
    while i + n <= len(tokens):
        if tuple(tokens[i:i + n]) == phrase and not any(taken[i:i + n]):
            yield i
            i += n
        else:
            i += 1


def _take(taken: list[bool], start: int, length: int) -> None:
    for i in range(start, start + length):
        taken[i] = True


# --- lists in the question's language, and passages rendered in it ------------------------------


class Multilingual:
    """German/French search over one snapshot: the bridge, a BM25 index per language, the
    article titles per language, and the passages of each ref in that language."""

    def __init__(self, retriever: Retriever, library: Library, translated_chunks: dict[
            str, list[StoredChunk]]):
        self.retriever = retriever
        self.library = library
        self.bridge = Bridge(library, [c.text for c in retriever.chunks.values()])
        self._chunks = translated_chunks
        self._by_ref: dict[str, dict[str, list[StoredChunk]]] = {}
        for lang, chunks in translated_chunks.items():
            by_ref: dict[str, list[StoredChunk]] = defaultdict(list)
            for c in chunks:
                by_ref[c.ref].append(c)
            self._by_ref[lang] = by_ref
        self._english: dict[str, list[StoredChunk]] = defaultdict(list)
        self._under: dict[str, list[StoredChunk]] = defaultdict(list)
        for c in sorted(retriever.chunks.values(), key=lambda c: (c.ref, c.part, c.id)):
            self._english[c.ref].append(c)
            for ref in parents_of(c.ref):
                self._under[ref].append(c)
        self._lexical: dict[str, LexicalIndex] = {}
        self._titles: dict[str, dict[str, set[str]]] = {}
        self._lock = threading.Lock()

    def languages(self) -> list[str]:
        return [lang for lang in LANGS if self._chunks.get(lang)]

    # --- ranked lists ------------------------------------------------------------------------

    def _index(self, lang: str) -> LexicalIndex:
        with self._lock:
            if lang not in self._lexical:
                units = {c.id: self._unit(c.ref) for c in self._chunks[lang]}
                self._lexical[lang] = LexicalIndex(self._chunks[lang], units, top_k=POOL,
                                                   analyse=partial(tokenize, lang=lang))
            return self._lexical[lang]

    def _unit(self, ref: str) -> str:
        versions = self.library.versions(ref)
        return versions[0].unit.value if versions else Unit.ARTICLE.value

    def _english_ids(self, refs: Sequence[str], as_of: str, per_ref: int = 1) -> list[str]:
        """The English chunks in force of each ref (its first ``per_ref`` parts), in order."""
        out: list[str] = []
        for ref in dict.fromkeys(refs):
            live = [c.id for c in self._english.get(ref, ())
                    if in_force(c.valid_from, c.valid_until, as_of)]
            out += live[:per_ref]
        return out

    def lexical(self, question: str, lang: str, as_of: str) -> list[str]:
        """BM25 over the official text in ``lang``, as the English chunk ids of the refs found."""
        if not self._chunks.get(lang):
            return []
        found = self._index(lang).search(question)
        by_id = {c.id: c for c in self._chunks[lang]}
        return self._english_ids([by_id[i].ref for i, _ in found], as_of)

    def titles(self, question: str, lang: str, as_of: str) -> list[str]:
        """English chunk ids of the articles whose title in ``lang`` the question contains."""
        with self._lock:
            if lang not in self._titles:
                self._titles[lang] = {
                    p.ref: set(tokenize(p.title, lang)) - _GENERIC
                    for p in self.library.translations(lang)
                    if not p.parent and p.title and p.unit in (Unit.ARTICLE, Unit.ANNEX)}
            titles = self._titles[lang]
        asked = set(tokenize(question, lang)) - _GENERIC
        scored = sorted(((len(asked & t) / len(t), ref) for ref, t in titles.items()
                         if len(t) >= 2 and len(asked & t) / len(t) >= TITLE_OVERLAP),
                        reverse=True)
        out: list[str] = []
        for _, ref in scored[:3]:
            out += [c.id for c in self._under.get(ref, ())
                    if in_force(c.valid_from, c.valid_until, as_of)][:3]
        return out

    def raw_dense(self, question: str, as_of: str) -> list[str]:
        """The English-only embedding model on the question as typed."""
        r = self.retriever
        vectors = embed_queries(r.embedder, [question], precision=r.precision)
        return [i for i, _ in r.dense(vectors, as_of)[0]]

    def extra_lists(self, question: str, lang: str, as_of: str,
                    signals: Signals = DEFAULT_SIGNALS) -> list[tuple[float, list[str]]]:
        """The (weight, English chunk ids) lists of ``question`` in its own language."""
        lists = []
        if signals.native_lexical > 0:
            lists.append((signals.native_lexical, self.lexical(question, lang, as_of)))
        if signals.native_titles > 0:
            lists.append((signals.native_titles, self.titles(question, lang, as_of)))
        if signals.raw_dense > 0:
            lists.append((signals.raw_dense, self.raw_dense(question, as_of)))
        return lists

    # --- passages in the question's language --------------------------------------------------

    def render(self, hit: Hit, lang: str, as_of: str) -> tuple[Hit, str]:
        """``hit`` in ``lang``: its official wording there where that is the law in force
        (with that language's passage), else the English hit and the note saying why."""
        rendition = self.library.translation(hit.provision.ref, lang, as_of)
        if not rendition.translated:
            return hit, rendition.note
        parts = self._by_ref.get(lang, {}).get(hit.provision.ref, [])
        chunk = next((c for c in parts if c.part == hit.chunk.part), parts[0] if parts else None)
        if chunk is None:  # a wording without passages: quote the whole provision
            p = rendition.provision
            chunk = replace(hit.chunk, text=p.text, embed_text=p.text)
        return replace(hit, chunk=chunk, provision=rendition.provision), ""
