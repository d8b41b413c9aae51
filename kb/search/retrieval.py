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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.errors import KbError
from kb.index.catalog import in_force
from kb.index.embeddings import embed_queries, embed_texts
from kb.index.store import SCORE_DIGITS, LexicalIndex, Snapshot, ranked
from kb.law.dates import ApplicationRule, chapter_resolver
from kb.law.library import Library
from kb.law.refs import find_refs, parents
from kb.records import Document, Hit, Kind, Provision, StoredChunk, Unit
from kb.search.adapter import QueryAdapter
from kb.search.intent import Intent, asks_time_limit, asks_when, defined_term_asked, intent
from kb.search.ranker import Candidate, Ranker, features
from kb.search.routing import (
    DATE_NUMBERS,
    PENALTY_NUMBERS,
    Router,
    article_number,
    legacy_scopes,
    subjects,
)
from kb.search.spelling import Speller
from kb.text import content_words, words

log = logging.getLogger(__name__)

SYNONYMS_PATH = Path(__file__).with_name("synonyms.toml")
RRF_K = 60
POOL = 40  # candidates per list
DENSE_SLACK = 30  # extra dense candidates, for those dropped as not in force on the date
GUIDE_THRESHOLD = 0.45  # cosine a team-written guide needs to point retrieval at its refs
PER_ARTICLE = 2  # diversity: at most this many passages of one article in the results
LAW_WITHIN = 3  # the best provision of an act is among the first this many results
# Rank multiplier per document kind (see Retriever._prior).
KIND_PRIOR = {"regulation": 1.0, "amending_regulation": 0.6, "guideline": 0.85}
# Where the AI Act says from when its provisions apply (Article 113) and the transitional
# rules (Article 111): consulted for every "when does ... apply?" question.
DATE_ARTICLES = ("Article 113", "Article 111")

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


@dataclass(frozen=True)
class Lists:
    """The ranked lists of chunk ids retrieval computes for one question (best first)."""

    original: str  # the question as asked
    question: str  # spelling corrected
    expansion: str  # legal wording added for CX words (kb/search/synonyms.toml)
    dense: list[list[tuple[str, float]]]  # cosine, for the question and its expansion
    lexical: list[tuple[str, float]]  # BM25 over the expanded question
    titles: list[str]  # articles whose title the question repeats
    hints: list[str]  # provisions of the matching catalogue obligations
    timing: list[str]  # Articles 113 and 111, for "when" questions
    direct: list[str]  # provisions the question names, or the term it asks to define
    guided: list[str] = field(default_factory=list)  # refs of the most similar guides
    # cosine of the question's vector through the query adapter (kb.search.adapter)
    adapted: list[tuple[str, float]] = field(default_factory=list)
    # (weight, ids): a German or French question's own-language lists (kb.search.multilingual)
    extra: list[tuple[float, list[str]]] = field(default_factory=list)

    def cosines(self) -> dict[str, float]:
        """The best cosine similarity of each dense candidate."""
        best: dict[str, float] = {}
        for found in self.dense:
            for i, s in found:
                best[i] = max(best.get(i, 0.0), s)
        return best

    def candidates(self) -> list[str]:
        """Every chunk id in any list, once, in a stable order."""
        ids = [*self.direct, *(i for d in self.dense for i, _ in d),
               *(i for i, _ in self.lexical), *(i for i, _ in self.adapted), *self.titles,
               *self.hints, *self.timing, *self.guided,
               *(i for _, found in self.extra for i in found)]
        return list(dict.fromkeys(ids))


class Retriever:
    """Dense + BM25 + title matching + direct lookup, over one snapshot of the index."""

    def __init__(self, snapshot: Snapshot, library: Library, embedder, *,
                 precision: str = "auto", ranker: Ranker | None = None,
                 adapter: QueryAdapter | None = None,
                 guides: Sequence[tuple[str, Sequence[str]]] = ()):
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
        self.ranker = ranker
        self.adapter = adapter
        self._candidates: dict[str, Candidate] = {}
        self._routers: dict[str, Router] = {}
        self.guides = list(guides)
        self._guide_matrix: np.ndarray | None = None
        self._published_cache: dict[str, frozenset] = {}
        self._chapter_of = chapter_resolver(library.all_versions(library.main_act()))

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

    def gather(self, question: str, *, as_of: str, hint_refs: Sequence[str] = (),
               extra_lists: Sequence[tuple[float, list[str]]] = ()) -> Lists:
        """Every ranked list for ``question`` under the law on ``as_of``, before fusion.

        ``hint_refs`` are provisions known to be relevant (from the obligations catalogue).
        ``extra_lists`` are more (weight, ranked chunk ids) lists to fuse: a German or French
        question's own-language lists (:mod:`kb.search.multilingual`); none for English.
        """
        original = question
        question = self.spelling.correct(question)
        expansion = expand(question, self.rules)
        queries = [original] + ([f"{question} {expansion}"] if question != original or expansion
                                else [])
        # One forward pass for both queries (MiniLM embeds queries and passages alike), and
        # one dense search for them and the adapted vector of the question.
        vectors = embed_queries(self.embedder, queries, precision=self.precision)
        adapted = self.adapter.apply(vectors[:1]) if self.adapter else []
        dense = self.dense(vectors + adapted, as_of)
        dense, adapted_found = dense[:len(vectors)], dense[len(vectors):]
        lexical = self.lexical(f"{question} {expansion}", as_of)
        timing = self.timing(f"{question} {expansion}", as_of) if asks_when(question) else []
        published = self._published_ids(as_of)
        return Lists(
            original=original, question=question, expansion=expansion,
            dense=[[(i, s) for i, s in d if i in published] for d in dense],
            adapted=[(i, s) for d in adapted_found for i, s in d if i in published],
            lexical=[(i, s) for i, s in lexical if i in published],
            titles=[i for i in self.titles(question, as_of) if i in published],
            hints=[i for i in self._refs_chunks(list(hint_refs), as_of) if i in published],
            timing=[i for i in timing if i in published],
            direct=[i for i in self._direct(original, as_of) if i in published],
            guided=[i for i in self._refs_chunks(self.guided(vectors[0]), as_of)
                    if i in published],
            extra=[(w, [i for i in ids if i in published]) for w, ids in extra_lists],
        )

    def guided(self, vector: Sequence[float], *, top: int = 3,
               threshold: float = GUIDE_THRESHOLD) -> list[str]:
        """Refs of the team-written guides (the obligations catalogue's summaries and CX
        examples) most similar to the question: CX wording mapped to the law by people."""
        if not self.guides:
            return []
        with self._lock:
            if self._guide_matrix is None:
                texts = [text for text, _ in self.guides]
                matrix = np.asarray(embed_texts(self.embedder, texts, precision=self.precision),
                                    dtype=np.float64)
                self._guide_matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        query = np.asarray(vector, dtype=np.float64)
        query /= np.linalg.norm(query) or 1.0
        scores = ranked([(str(k), s) for k, s in enumerate((self._guide_matrix @ query).tolist())])
        refs = [ref for k, s in scores[:top] if s >= threshold
                for ref in self.guides[int(k)][1][:2]]
        return list(dict.fromkeys(refs))

    def _published_ids(self, as_of: str) -> frozenset:
        with self._lock:
            found = self._published_cache.get(as_of)
            if found is None:
                found = self._published_cache[as_of] = frozenset(
                    i for i, c in self.chunks.items() if self._published(c.doc_id, as_of))
            return found

    def fuse(self, lists: Lists) -> dict[str, float]:
        """Weighted reciprocal rank fusion of the lists, times the document-kind prior."""
        weighted = [(1.0, [i for i, _ in lists.dense[0]]),
                    *[(0.8, [i for i, _ in d]) for d in lists.dense[1:]],
                    (1.0, [i for i, _ in lists.lexical]),
                    (1.0, [i for i, _ in lists.adapted]),
                    (0.5, lists.titles),
                    (1.0, lists.hints),
                    (1.0, lists.timing),
                    *lists.extra]
        fused: dict[str, float] = defaultdict(float)
        for weight, ids in weighted:
            for rank, chunk_id in enumerate(ids):
                fused[chunk_id] += weight / (RRF_K + rank + 1)
        return {i: round(s * self._prior(self.chunks[i].doc_id), SCORE_DIGITS)
                for i, s in fused.items()}

    def candidate(self, chunk_id: str) -> Candidate:
        """What the ranker knows about a chunk besides the lists (cached)."""
        found = self._candidates.get(chunk_id)
        if found is None:
            chunk = self.chunks[chunk_id]
            provision = self._provision(chunk)
            doc = self.library.documents.get(chunk.doc_id)
            whole = self.library.article(provision) if provision else None
            kind = _doc_kind(doc)
            cites = tuple(m.local for m in find_refs(provision.text) if m.act == "") \
                if provision and kind in ("guideline", "act") and \
                (kind == "guideline" or provision.unit is Unit.RECITAL) else ()
            title = whole.title if whole else ""
            found = self._candidates[chunk_id] = Candidate(
                chunk=chunk, provision=provision, doc_kind=kind, article_title=title,
                article=parents_of(chunk.ref)[-1], cites=cites,
                words=frozenset(content_words(chunk.embed_text)),
                title_words=frozenset(content_words(title)))
        return found

    def score(self, lists: Lists, intent: Intent) -> dict[str, float]:
        """Each candidate's score: the learned ranker's, or reciprocal rank fusion."""
        fused = self.fuse(lists)
        if self.ranker is None:
            return fused
        candidates = {i: self.candidate(i) for i in lists.candidates()
                      if self._provision(self.chunks[i]) is not None}
        vectors = features(lists, candidates, intent, fused)
        return {i: round(self.ranker.score(v), SCORE_DIGITS) for i, v in vectors.items()}

    def retrieve(self, question: str, *, as_of: str, top_k: int = 5,
                 hint_refs: Sequence[str] = (),
                 table: Sequence[ApplicationRule] = (),
                 extra_lists: Sequence[tuple[float, list[str]]] = (),
                 law_first: bool = False) -> list[Hit]:
        """The passages that best answer ``question`` under the law on ``as_of``.

        Provisions the question names come first; then, for a question about fines or dates,
        the provision of that type its subject calls for (:mod:`kb.search.routing`, with the
        application ``table`` of kb.law.dates); then the rest by score.  A recital (with
        ``law_first``, also guidance) gives the lead to an act provision among the first three.
        """
        lists = self.gather(question, as_of=as_of, hint_refs=hint_refs, extra_lists=extra_lists)
        asked = intent(lists.question)
        scores = self.score(lists, asked)
        ranked_ids = sorted(scores, key=lambda i: (-scores[i], i))
        # A named provision that is the question's subject ("fines for breaching Article
        # 26") comes after the fine or date it asks for; one that is itself about fines or
        # dates ("Article 99(4)") stays first.
        named = [self.chunks[i].ref for i in lists.direct]
        about_types = any(article_number(ref) in (*PENALTY_NUMBERS, *DATE_NUMBERS)
                          for ref in named)
        routed = [] if about_types else self._routed(
            lists.question, asked, [*lists.direct, *lists.hints, *ranked_ids], as_of, table)
        cosine = lists.cosines()
        bm25 = dict(lists.lexical)
        direct = set(lists.direct)
        hits = [self._hit(i, scores.get(i, 0.0) + (1.0 if i in direct else 0.0), cosine, bm25,
                          i in direct)
                for i in dict.fromkeys([*routed, *lists.direct, *ranked_ids])]
        hits = [h for h in hits if h is not None]
        log.debug("retrieved %s", [(h.provision.ref, round(h.score, 4)) for h in hits[:top_k]])
        chosen = pin(diversify(hits, top_k), hits, list(hint_refs[:1]), top_k)
        chosen = law_early(chosen, hits, self._binding)
        if _RECITAL.search(question):
            return chosen
        return law_before_recitals(chosen, self._binding, guidance_too=law_first)

    def _routed(self, question: str, asked: Intent, ranked_ids: list[str], as_of: str,
                table: Sequence[ApplicationRule]) -> list[str]:
        """Chunk ids of the fine or date provision the question's subject calls for.

        The subject is read off the catalogue's hints first (curated CX wording → refs),
        then the best candidates that are not themselves about fines or dates.  A question
        about a time limit ("the deadline to report a serious incident") leads with the
        subject that sets it; one about a system already on the market, with Article 111."""
        if not (asked.penalty or asked.when):
            return []
        router = self._router(as_of)
        refs = [ref for ref in dict.fromkeys(self.chunks[i].ref for i in ranked_ids)
                if article_number(ref) not in (*PENALTY_NUMBERS, *DATE_NUMBERS)][:8]
        about = subjects(refs, lambda ref: self._cited_refs(ref, as_of))
        lead = router.penalty(about) if asked.penalty else None
        if lead is None and asked.when and asks_time_limit(question):
            lead = router.time_limit(about)
        if lead is None and asked.when and table:
            lead = router.date(about, table, self._chapter_of, legacy_scopes(question))
        return [c.id for c in self._chunks_under(lead, as_of) if c.ref == lead][:1] if lead \
            else []

    def _router(self, as_of: str) -> Router:
        with self._lock:
            router = self._routers.get(as_of)
            if router is None:
                router = self._routers[as_of] = Router(self.library, as_of)
            return router

    def _cited_refs(self, ref: str, as_of: str) -> list[str]:
        """The AI Act refs a provision's text names (for guidance and recitals)."""
        p = self.library.version(ref, as_of)
        return [m.local for m in find_refs(p.text) if m.act == ""] if p else []

    def _prior(self, doc_id: str) -> float:
        """Binding law first: guidance and the amending act's own text (whose changes are
        already in the consolidated act) rank a little lower than the acts themselves."""
        doc = self.library.documents.get(doc_id)
        return KIND_PRIOR.get(doc.kind.value, 0.85) if doc else 1.0

    def _binding(self, hit: Hit) -> bool:
        """Whether a hit quotes an act's enacting terms (the AI Act or another regulation),
        not guidance, a recital or the amending act's own instructions."""
        return hit.provision.unit is not Unit.RECITAL and \
            _doc_kind(self.library.documents.get(hit.provision.doc_id)) in ("act", "other_act")

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

    def _provision(self, chunk: StoredChunk) -> Provision | None:
        """The provision version a chunk was cut from."""
        return next((v for v in self.library.versions(chunk.ref)
                     if (v.valid_from or None) == (chunk.valid_from or None)), None)

    def _hit(self, chunk_id, score, cosine, bm25, direct) -> Hit | None:
        chunk = self.chunks[chunk_id]
        p = self._provision(chunk)
        if p is None:
            return None
        return Hit(chunk, p, score, cosine.get(chunk_id, 0.0), bm25.get(chunk_id, 0.0), direct)


def _doc_kind(doc: Document | None) -> str:
    """The kind of document as the ranker sees it: the main act, the amending act, another
    act (the GDPR) or guidance."""
    if doc is None:
        return "act"
    if doc.kind is Kind.AMENDING_REGULATION:
        return "amending"
    if doc.kind is Kind.REGULATION:
        return "other_act" if doc.cite_as else "act"
    return "guideline"


_RECITAL = re.compile(r"\brecitals?\b", re.IGNORECASE)
_ABOUT_GUIDANCE = re.compile(r"\bguidelines?\b|\bguidance\b", re.IGNORECASE)


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


def law_early(chosen: list[Hit], hits: list[Hit], binding, within: int = LAW_WITHIN) -> list[Hit]:
    """Guidance may rank first, but the law it explains is cited among the first ``within``:
    when none of them quotes an act, the best-ranked act provision (further down, or just
    outside the results) takes place ``within``, and the rest move down one."""
    if len(chosen) < within or any(binding(h) for h in chosen[:within]):
        return chosen
    taken = {(h.provision.doc_id, h.provision.ref) for h in chosen[:within - 1]}
    found = next((h for h in hits if binding(h) and
                  (h.provision.doc_id, h.provision.ref) not in taken), None)
    if found is None:
        return chosen
    rest = [h for h in chosen[within - 1:] if h.provision.ref != found.provision.ref or
            h.provision.doc_id != found.provision.doc_id]
    return [*chosen[:within - 1], found, *rest][:len(chosen)]


def law_before_recitals(chosen: list[Hit], binding, within: int = LAW_WITHIN, *,
                        guidance_too: bool = False) -> list[Hit]:
    """A recital explains; it does not bind. When one would lead (and the question did not
    name it), the first provision of an act among the first ``within`` leads instead and the
    recital follows it.  With ``guidance_too``, the same for guidance (for a German or French
    question: the guidelines exist in English only, the law in the reader's language)."""
    if not chosen or chosen[0].direct:
        return chosen
    first = chosen[0]
    if first.provision.unit is not Unit.RECITAL and not (guidance_too and not binding(first)):
        return chosen
    found = next((k for k, h in enumerate(chosen[1:within], start=1) if binding(h)), None)
    if found is None:
        return chosen
    return [chosen[found], *chosen[:found], *chosen[found + 1:]]


def article_key(p: Provision) -> str:
    """What counts as "the same article" for diversity: the outermost provision that
    contains it ("Article 5" for "Article 5(1)(f)"; a guideline paragraph is its own).

    >>> from kb.records import Unit
    >>> article_key(Provision("eu-ai-act", "Article 5(1)(f)", Unit.ARTICLE, "x"))
    'Article 5|eu-ai-act'
    """
    return parents_of(p.ref)[-1] + "|" + p.doc_id


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
