"""Hybrid retrieval over the provisions in force on a date.

Ranked lists are fused by weighted reciprocal rank fusion: dense similarity for the question
and for its CX-to-legal expansion and BM25 over the expanded question (both asked of
:mod:`kb.index.store`), article-title matches, obligation refs and, for "when" questions,
the date articles.  Provisions the question names ("Article 50(1)") come first.  We fuse
ourselves rather than with ``QueryFusionRetriever`` because abstention needs each list's
raw scores.  Every score is rounded and ties go by chunk id, so the order never depends
on float noise or dict order.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from kb.errors import KbError
from kb.index.catalog import in_force
from kb.index.embeddings import embed_queries
from kb.index.store import SCORE_DIGITS, LexicalIndex, Snapshot
from kb.law.library import Library
from kb.law.refs import parents
from kb.records import Hit, Provision, StoredChunk, Unit
from kb.search.spelling import Speller
from kb.text import content_words, words

log = logging.getLogger(__name__)

SYNONYMS_PATH = Path(__file__).with_name("synonyms.toml")
RRF_K = 60
POOL = 40  # candidates per list
DENSE_SLACK = 30  # extra dense candidates, for those dropped as not in force on the date
PER_ARTICLE = 2  # diversity: at most this many passages of one article in the results
# Rank multiplier per document kind (see Retriever._prior).
KIND_PRIOR = {"regulation": 1.0, "amending_regulation": 0.6, "guideline": 0.85}
# Where the AI Act says from when its provisions apply (Article 113) and the transitional
# rules (Article 111): consulted for every "when does ... apply?" question.
DATE_ARTICLES = ("Article 113", "Article 111")
_WHEN = re.compile(
    r"\b(?:since when|from when|by when|until when|from (?:what|which) date|what date|"
    r"deadlines?|timeline|transition(?:al)? period|grace period|appl(?:y|ies) from|"
    r"start(?:s|ing)? to apply|enters? into force|come into (?:force|effect)|take effect|"
    r"how long do we have)\b"
    r"|\bwhen\b[^?.]*\b(?:apply|applies|applicable|start|begin|kick in|enforced|enforceable|"
    r"in force|effective)\b",
    re.IGNORECASE,
)

def load_synonyms(path: Path = SYNONYMS_PATH) -> list[tuple[list[str], str]]:
    rules = tomllib.loads(path.read_text(encoding="utf-8"))["rule"]
    return [([w.lower() for w in rule["when"]], rule["add"]) for rule in rules]


def expand(question: str, rules: list[tuple[list[str], str]]) -> str:
    """The legal wording to add to a plain-language question (may be empty).

    >>> expand("Must our chatbot tell customers?", [(["chatbot"], "interact directly")])
    'interact directly'
    """
    text = " " + " ".join(words(question)) + " "
    added = [add for phrases, add in rules if any(f" {p} " in text for p in phrases)]
    return " ".join(added)


class Retriever:
    """Dense + BM25 + title matching + direct lookup, over one snapshot of the index."""

    def __init__(self, snapshot: Snapshot, library: Library, embedder, *,
                 precision: str = "auto"):
        self.snapshot = snapshot
        self.precision = precision
        self.library = library
        self.embedder = embedder
        self.rules = load_synonyms()
        self.chunks = {c.id: c for c in snapshot.catalog.chunks()}
        self._units = {c.id: self._unit(c) for c in self.chunks.values()}
        self._bm25: dict[frozenset, LexicalIndex] = {}
        self._lock = threading.Lock()
        self._titles = self._article_titles()
        self.spelling = Speller([c.embed_text for c in self.chunks.values()])
        self._live: dict[str, frozenset] = {}
        self._under: dict[str, list[StoredChunk]] = defaultdict(list)
        for chunk in self.chunks.values():
            for ref in parents_of(chunk.ref):
                self._under[ref].append(chunk)

    def _unit(self, chunk: StoredChunk) -> str:
        versions = self.library.versions(chunk.ref)
        return versions[0].unit.value if versions else Unit.ARTICLE.value

    def _article_titles(self) -> dict[str, set[str]]:
        """Content words of each article/annex title -> ref of the whole article."""
        titles = {}
        for ref in self.library.refs():
            p = self.library.versions(ref)[-1]
            if not p.parent and p.title and p.unit in (Unit.ARTICLE, Unit.ANNEX):
                titles[ref] = set(content_words(p.title))
        return titles

    # --- the lists ------------------------------------------------------------------------

    def _live_ids(self, as_of: str) -> frozenset:
        live = self._live.get(as_of)
        if live is None:
            live = self._live[as_of] = frozenset(
                c.id for c in self.chunks.values() if in_force(c.valid_from, c.valid_until, as_of)
            )
        return live

    def _bm25_for(self, as_of: str) -> LexicalIndex:
        """The BM25 index over the chunks in force on ``as_of`` (one per distinct chunk set)."""
        live = self._live_ids(as_of)
        with self._lock:
            index = self._bm25.get(live)
            if index is None:
                index = self._bm25[live] = LexicalIndex(
                    [self.chunks[i] for i in live], self._units, top_k=POOL)
        return index

    def dense(self, vectors: list[list[float]], as_of: str,
              k: int = POOL) -> list[list[tuple[str, float]]]:
        """For each vector, chunk ids and cosine similarities, restricted to the law on ``as_of``.

        Filtering after the search, not in Chroma: a metadata filter makes Chroma's query
        ten times slower, and only a few chunks (superseded wordings) are ever filtered out.
        """
        live = self._live_ids(as_of)
        found = self.snapshot.dense.query(vectors, k + DENSE_SLACK)
        return [[(i, s) for i, s in pairs if i in live][:k] for pairs in found]

    def lexical(self, text: str, as_of: str) -> list[tuple[str, float]]:
        if not content_words(text):
            return []
        return self._bm25_for(as_of).search(text)

    def titles(self, question: str, as_of: str) -> list[str]:
        """Chunk ids of articles whose title shares most of its words with the question."""
        asked = set(content_words(question))
        scored = []
        for ref, title_words in self._titles.items():
            if len(title_words) >= 2 and asked:
                overlap = len(asked & title_words) / len(title_words)
                if overlap >= 0.6:
                    scored.append((overlap, ref))
        scored.sort(reverse=True)
        out = []
        for _, ref in scored[:3]:
            out += [c.id for c in self._chunks_under(ref, as_of)][:3]
        return out

    def timing(self, text: str, as_of: str) -> list[str]:
        """For "when does X apply?": the passages of the articles that set application
        dates (Articles 113 and 111 of the main act), best word overlap first."""
        asked = set(content_words(text))
        candidates = [c for ref in DATE_ARTICLES for c in self._chunks_under(ref, as_of)]
        # The general date ("It shall apply from 2 August 2026", Article 113 itself) first.
        scored = sorted(candidates, key=lambda c: (c.ref != DATE_ARTICLES[0],
                                                   -len(asked & set(words(c.text)))))
        return [c.id for c in scored[:6]]

    def _chunks_under(self, ref: str, as_of: str) -> list[StoredChunk]:
        """The chunks of ``ref`` and of the provisions inside it, in force on ``as_of``."""
        return [c for c in self._under.get(ref, ())
                if in_force(c.valid_from, c.valid_until, as_of)]

    # --- fusion ---------------------------------------------------------------------------

    def retrieve(self, question: str, *, as_of: str, top_k: int = 5,
                 hint_refs: list[str] = (),
                 extra_lists: Sequence[tuple[float, list[str]]] = ()) -> list[Hit]:
        """The passages that best answer ``question`` under the law on ``as_of``.

        ``hint_refs`` are provisions known to be relevant (from the obligations catalogue);
        they join the fusion as one more ranked list.  ``extra_lists`` are more (weight,
        ranked chunk ids) lists to fuse: a German or French question's own-language lists
        (:mod:`kb.search.multilingual`); none for English.
        """
        original = question
        question = self.spelling.correct(question)
        expansion = expand(question, self.rules)
        queries = [original] + ([f"{question} {expansion}"] if question != original or expansion
                                else [])
        # One forward pass for both queries (MiniLM embeds queries and passages alike).
        vectors = embed_queries(self.embedder, queries, precision=self.precision)
        dense_lists = self.dense(vectors, as_of)
        lexical = self.lexical(f"{question} {expansion}", as_of)
        lists = [(1.0, [i for i, _ in dense_lists[0]]),
                 *[(0.8, [i for i, _ in d]) for d in dense_lists[1:]],
                 (1.0, [i for i, _ in lexical]),
                 (0.5, self.titles(question, as_of)),
                 (1.0, self._refs_chunks(hint_refs, as_of))]
        if asks_when(question):
            lists.append((3.0, self.timing(f"{question} {expansion}", as_of)))
        lists.extend(extra_lists)  # hook: German/French lists (kb.search.multilingual)

        cosine: dict[str, float] = defaultdict(float)
        for ranked in dense_lists:
            for i, s in ranked:
                cosine[i] = max(cosine[i], s)
        fused: dict[str, float] = defaultdict(float)
        for weight, ranked in lists:
            for rank, chunk_id in enumerate(ranked):
                fused[chunk_id] += weight / (RRF_K + rank + 1)
        for chunk_id in fused:
            fused[chunk_id] *= self._prior(self.chunks[chunk_id].doc_id)

        direct = self._direct(original, as_of)
        fused = {i: round(s, SCORE_DIGITS) for i, s in fused.items()}
        ranked_ids = sorted(fused, key=lambda i: (-fused[i], i))
        bm25 = dict(lexical)
        hits = [self._hit(i, fused.get(i, 0.0) + (1.0 if i in direct else 0.0), cosine, bm25,
                          i in direct)
                for i in dict.fromkeys([*direct, *ranked_ids])
                if self._published(self.chunks[i].doc_id, as_of)]
        hits = [h for h in hits if h is not None]
        log.debug("retrieved %s", [(h.provision.ref, round(h.score, 4)) for h in hits[:top_k]])
        return pin(diversify(hits, top_k), hits, hint_refs[:1], top_k)

    def _prior(self, doc_id: str) -> float:
        """Binding law first: guidance and the amending act's own text (whose changes are
        already in the consolidated act) rank a little lower than the acts themselves."""
        doc = self.library.documents.get(doc_id)
        return KIND_PRIOR.get(doc.kind.value, 0.85) if doc else 1.0

    def _published(self, doc_id: str, as_of: str) -> bool:
        """A document adopted after the as-of date cannot be cited for that date."""
        doc = self.library.documents.get(doc_id)
        return doc is None or not doc.date or doc.date <= as_of

    def _refs_chunks(self, refs: list[str], as_of: str) -> list[str]:
        out = []
        for ref in refs:
            out += [c.id for c in self._chunks_under(ref, as_of)][:2]
        return out

    def _direct(self, question: str, as_of: str) -> list[str]:
        """Chunk ids of the provisions the question names, the named one first; for "what
        is a deployer?" the definition of the term."""
        refs = [r.provision.ref for r in self.library.lookup(question, as_of)]
        term = defined_term_asked(question)
        if term:
            with contextlib.suppress(KbError):  # not a defined term after all
                refs.insert(0, self.library.define(term, as_of).ref)
        if _ABOUT_GUIDANCE.search(question):
            # "the Article 50 guidelines": the article names the guidance, not the answer.
            refs = [r for r in refs if not r.startswith(("Article", "Annex"))]
        out = []
        for ref in dict.fromkeys(refs):
            chunks = self._chunks_under(ref, as_of)
            exact = [c for c in chunks if c.ref == ref]
            out += [c.id for c in (exact or chunks)[:2]]
        return out

    def _hit(self, chunk_id, score, cosine, bm25, direct) -> Hit | None:
        chunk = self.chunks[chunk_id]
        p = next((v for v in self.library.versions(chunk.ref)
                  if (v.valid_from or None) == (chunk.valid_from or None)), None)
        if p is None:
            return None
        return Hit(chunk, p, score, cosine.get(chunk_id, 0.0), bm25.get(chunk_id, 0.0), direct)


_ABOUT_GUIDANCE = re.compile(r"\bguidelines?\b|\bguidance\b", re.IGNORECASE)


def asks_when(question: str) -> bool:
    """Whether a question asks about dates.

    >>> asks_when("When do the high-risk rules apply?"), asks_when("Is emotion recognition banned?")
    (True, False)
    >>> asks_when("When is a solely automated decision allowed under the GDPR?")
    False
    """
    return bool(_WHEN.search(question))


_DEFINITION_QUESTION = re.compile(
    r"^(?:what\s+(?:is|are)\s+(?:an?\s+|the\s+)?|define\s+(?:an?\s+|the\s+)?|"
    r"what\s+does\s+(?:the\s+)?(?:term\s+)?|definition\s+of\s+(?:an?\s+|the\s+)?|"
    r"meaning\s+of\s+(?:an?\s+|the\s+)?)"
    r"[‘'\"“]?([a-z][a-z -]{1,60}?)[’'\"”]?(?:\s+mean)?(?:\s+under\s+the\s+ai\s+act)?\s*\??$",
    re.IGNORECASE,
)


_DEFINES = re.compile(
    r"\b(?:define|defines|definition of|meaning of|what is meant by|what counts as|"
    r"who counts as)\s+(?:an?\s+|the\s+)?[‘'\"“]([^’'\"”]{2,60})[’'\"”]",
    re.IGNORECASE,
)


def defined_term_asked(question: str) -> str:
    """The term a "what is X?" / "define X" question asks about ("" otherwise).

    >>> defined_term_asked("What is a deployer?"), defined_term_asked("Define 'AI system'")
    ('deployer', 'AI system')
    >>> defined_term_asked("How does Regulation (EU) 2024/1689 define a 'distributor'?")
    'distributor'
    """
    match = _DEFINITION_QUESTION.match(question.strip()) or _DEFINES.search(question)
    return match.group(1).strip() if match else ""


def parents_of(ref: str) -> list[str]:
    """A stored ref and the refs that contain it ("Article 5(1)(f) GDPR" → … "Article 5 GDPR").

    >>> parents_of("Article 5(1)(f)")
    ['Article 5(1)(f)', 'Article 5(1)', 'Article 5']
    """
    if "para. " in ref:
        return [ref]
    prefix = re.match(r"^(.*?, )(?=Article|Recital|Annex)", ref)
    if prefix:  # "Regulation (EU) 2026/1744, Article 1, point (7)(a)"
        head = prefix.group(1)
        return [head + p for p in parents(ref[len(head):])]
    match = re.match(r"^(.*?)((?: [A-Z]{2,}\w*)?)$", ref)
    local, suffix = (match.group(1), match.group(2)) if match else (ref, "")
    return [p + suffix for p in parents(local)]


def pin(chosen: list[Hit], hits: list[Hit], refs: list[str], top_k: int) -> list[Hit]:
    """Make sure the provision of the best-matching catalogue obligation is among the
    results: the catalogue maps CX wording to the binding provision, which plain similarity
    can rank below guidance that paraphrases it.  It goes second, after the best hit."""
    for ref in refs:
        if any(h.provision.ref == ref for h in chosen):
            continue
        found = next((h for h in hits if h.provision.ref == ref), None)
        if found is not None and top_k > 1:
            chosen = [*chosen[:1], found, *chosen[1:]][:top_k]
    return chosen


def article_key(p: Provision) -> str:
    """What counts as "the same article" for diversity: the ref without its (…) tail."""
    return re.sub(r"[(,].*$", "", p.ref).strip() + "|" + p.doc_id


def diversify(hits: list[Hit], top_k: int) -> list[Hit]:
    """Top ``top_k`` hits, one per provision (a long provision's parts count once), with at
    most PER_ARTICLE per article (direct hits exempt); the others fill up if needed."""
    chosen, spill, count, seen = [], [], defaultdict(int), set()
    for hit in hits:
        if (hit.provision.doc_id, hit.provision.ref) in seen:
            continue
        seen.add((hit.provision.doc_id, hit.provision.ref))
        key = article_key(hit.provision)
        if hit.direct or count[key] < PER_ARTICLE:
            chosen.append(hit)
            count[key] += 1
        else:
            spill.append(hit)
        if len(chosen) == top_k:
            return chosen
    return (chosen + spill)[:top_k]
