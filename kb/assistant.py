"""The public entry point: ``Assistant.open()`` then ``ask``, ``show``, ``define``, ``verify``.

A question travels: :meth:`Assistant.ask` → validation →
:class:`kb.search.retrieval.Retriever` (Chroma + BM25 over the law in force on the as-of date)
→ the answerer (:mod:`kb.answers.extractive`) → an :class:`kb.records.Answer` whose every
sentence is verbatim text of the provision its ``[n]`` marker cites.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from functools import cached_property

from kb.answers.extractive import Answerer, ExtractiveAnswerer
from kb.answers.lead import lead_with
from kb.config import Settings
from kb.errors import BadQuestion, KbError
from kb.index.store import Store
from kb.law.dates import parse_date
from kb.law.library import Library
from kb.obligations.assess import Assessment, assess, describes_system, lead_quote
from kb.obligations.catalogue import dated, load_catalogue, match_obligations, obligation_json
from kb.obligations.scenario import Checklist, scenario
from kb.records import Answer, Citation, Provision
from kb.search.retrieval import Hit, Retriever, expand

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
MAX_TOP_K = 50
ABSTAIN_TEXT = (
    "The indexed texts do not cover this question. Nothing in the AI Act, the GDPR or the "
    "Commission guidelines in this knowledge base answers it well enough to quote."
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether a quoted text is the official wording of a ref."""

    ok: bool
    ref: str
    reason: str = ""


def clean_question(question: str) -> tuple[str, str]:
    """The question to answer and a note for the user ("" if none); BadQuestion if unusable.

    >>> clean_question("  Must our chatbot say it is an AI?  ")
    ('Must our chatbot say it is an AI?', '')
    """
    if not isinstance(question, str):
        raise BadQuestion(f"A question must be text, got {type(question).__name__}.")
    bad = _CONTROL.search(question)
    if bad:
        raise BadQuestion(
            f"The question contains a control character (U+{ord(bad.group(0)):04X}); "
            "remove it and ask again."
        )
    text = " ".join(question.split())
    if not text:
        raise BadQuestion(
            "Please type a question, e.g. 'Must our chatbot tell customers it is an AI?'"
        )
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS], (
            f"Your question was {len(text)} characters long; only the first "
            f"{MAX_QUESTION_CHARS} were used."
        )
    return text, ""


class Assistant:
    """Questions in, grounded answers out.  Thread-safe for reading (shared by the app)."""

    def __init__(self, settings: Settings, store: Store, library: Library,
                 answerer: Answerer | None = None):
        self.settings = settings
        self.store = store
        self.library = library
        self._answerer = answerer
        self._lock = threading.RLock()
        self._tables: dict[str, list] = {}
        self._catalogues: dict[str, list] = {}

    @classmethod
    def open(cls, settings: Settings | None = None) -> Assistant:
        """Open the index described by ``settings`` (default: the environment).

        The embedding model loads on the first question, so ``show`` and ``define`` are quick.
        """
        settings = settings or Settings.from_env()
        store = Store(settings)
        library = Library.from_catalog(store.catalog)
        store.collection  # noqa: B018 - fail now, with the rebuild hint, if vectors are missing
        return cls(settings, store, library)

    @cached_property
    def retriever(self) -> Retriever:
        from kb.index.embeddings import load_embedder

        with self._lock:
            return Retriever(self.store, self.library, load_embedder(self.settings.embed_model),
                             precision=self.settings.embed_precision)

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            texts = [c.text for c in self.retriever.chunks.values()]
            self._answerer = ExtractiveAnswerer.for_texts(texts)
        return self._answerer

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Query embeddings of ``texts`` with the index's model (one forward pass)."""
        from kb.index.embeddings import embed_queries

        return embed_queries(self.retriever.embedder, texts,
                             precision=self.settings.embed_precision)

    @property
    def corpus_version(self) -> str:
        return self.store.catalog.state("corpus_version")

    def default_as_of(self) -> str:
        return parse_date(self.settings.as_of or None)

    # --- questions --------------------------------------------------------------------------

    def retrieve(self, question: str, *, top_k: int = 5, as_of: str | None = None) -> list[Hit]:
        """The ranked passages for ``question``, without composing an answer."""
        text, _ = clean_question(question)
        day = parse_date(as_of or self.settings.as_of)
        return self._retrieve(text, day, _check_top_k(top_k))[1]

    def _retrieve(self, text: str, day: str, top_k: int) -> tuple[list, list[Hit]]:
        """(the catalogue obligations the question is about, the ranked passages); the
        obligations' refs join retrieval as hints."""
        matched = self._obligations_for(text, day)
        hints = [ref for o in matched for ref in o.refs[:2]]
        return matched, self.retriever.retrieve(text, as_of=day, top_k=top_k, hint_refs=hints)

    def ask(self, question: str, *, top_k: int = 5, as_of: str | None = None) -> Answer:
        """Answer ``question`` from the law in force on ``as_of`` (default today)."""
        started = time.perf_counter()
        text, note = clean_question(question)
        top_k = _check_top_k(top_k)
        day = parse_date(as_of or self.settings.as_of)
        matched, hits = self._retrieve(text, day, top_k)
        draft = self.answerer.draft(text, hits, expansion=expand(text, self.retriever.rules))
        if draft.abstained:
            log.info("abstained on %r: %s", text, draft.reason)
            answer = Answer(question=text, text=ABSTAIN_TEXT, abstained=True, as_of=day,
                            message=note or draft.reason, related=self._citations(hits[:3]))
        else:
            answer = Answer(question=text, text=draft.text, abstained=False, as_of=day,
                            citations=self._citations(hits), sentences=draft.sentences,
                            message=note)
        if not answer.abstained:
            answer.obligations = [obligation_json(o) for o in matched]
        if describes_system(text):  # "We use X to do Y: what must we do?" (issue 12)
            answer = self._with_assessment(answer, day)
        answer.timing_ms = (time.perf_counter() - started) * 1000
        return answer

    def _with_assessment(self, answer: Answer, day: str) -> Answer:
        """The answer with the system's assessment attached, led by its deciding provision
        quoted verbatim as [1]; the verdict itself is rendered by the callers."""
        try:
            assessment = self.assess(answer.question, as_of=day)
        except KbError as error:
            log.info("no assessment for %r: %s", answer.question, error)
            return answer
        deciding = assessment.deciding
        if deciding is not None:
            provision = self.library.version(deciding.ref, day)
            if provision is not None:
                lead = self.citation(provision, n=1, score=deciding.score)
                answer = lead_with(answer, lead, lead_quote(deciding))
        return replace(answer, assessment=assessment.to_dict())

    def _obligations_for(self, question: str, as_of: str) -> list:
        """Catalogue obligations a question is about (curated CX wording → legal refs)."""
        return match_obligations(question, self.obligations(as_of), limit=3)

    def _citations(self, hits: list[Hit]) -> list[Citation]:
        return [self.citation(hit.provision, n=i + 1, score=hit.score)
                for i, hit in enumerate(hits)]

    def citation(self, p: Provision, *, n: int = 1, score: float = 0.0) -> Citation:
        doc = self.library.documents.get(p.doc_id)
        return Citation(
            n=n, ref=p.ref, doc_id=p.doc_id, unit=p.unit, text=p.text, url=p.url, score=score,
            article=p.article, paragraph=p.paragraph, point=_point(p), annex=p.annex,
            recital=p.recital, page=p.page, title=p.title,
            doc_title=doc.title if doc else "", doc_kind=doc.kind.value if doc else "",
            valid_from=p.valid_from, version_source=p.version_source,
        )

    # --- obligations and dates ------------------------------------------------------------------

    def application_table(self, as_of: str | None = None) -> list:
        """When each provision applies, read from Articles 113 and 111 as in force on ``as_of``."""
        from kb.law.dates import application_table

        day = parse_date(as_of or self.settings.as_of)
        with self._lock:
            if day not in self._tables:
                law = self.library.all_versions(self.library.main_act())
                self._tables[day] = application_table(law, day)
            return self._tables[day]

    def obligations(self, as_of: str | None = None) -> list:
        """The obligations catalogue with application dates as of ``as_of``."""
        day = parse_date(as_of or self.settings.as_of)
        table = self.application_table(day)
        with self._lock:
            if day not in self._catalogues:
                self._catalogues[day] = dated(load_catalogue(), table)
            return self._catalogues[day]

    def checklist(self, role: str, system: str, *, facts: dict | None = None,
                  free_text: str = "", as_of: str | None = None) -> Checklist:
        """The scenario finder: obligations of ``role`` for a CX ``system``."""
        day = parse_date(as_of or self.settings.as_of)
        return scenario(role, system, table=self.application_table(day), facts=facts,
                        free_text=free_text, as_of=day, catalogue=self.obligations(day))

    def assess(self, description: str, *, role: str | None = None,
               facts: dict | None = None, as_of: str | None = None) -> Assessment:
        """Classify a described AI system: risk tier, cited reasons, open questions, duties.

        Every reason quotes its provision as in force on ``as_of`` (default today).
        """
        day = parse_date(as_of or self.settings.as_of)
        table = self.application_table(day)

        def text_of(ref: str) -> str | None:
            p = self.library.version(ref, day)
            return p.text if p is not None and not p.deleted else None

        return assess(description, text_of=text_of, table=table, obligations=self.obligations(day),
                      role=role, facts=facts, as_of=day)

    # --- provisions ---------------------------------------------------------------------------

    def show(self, ref: str, *, as_of: str | None = None) -> Provision:
        """The provision ``ref`` names ("Art. 50(1)" works too), as in force on ``as_of``."""
        day = parse_date(as_of or self.settings.as_of)
        exact = self.library.version(ref.strip(), day)
        if exact is not None:
            return exact
        found = self.library.lookup(ref, day)
        if found and found[0].exact:
            return found[0].provision
        return self.library.get(ref.strip(), day)  # raises UnknownReference with a hint

    def define(self, term: str, *, as_of: str | None = None) -> Provision:
        return self.library.define(term, parse_date(as_of or self.settings.as_of))

    def verify(self, ref: str, quote: str) -> Verification:
        """Whether ``quote`` is verbatim official text of ``ref`` (any version of it)."""
        versions = self.library.versions(ref)
        if not versions:
            return Verification(False, ref, "unknown ref")
        if not quote.strip():
            return Verification(False, ref, "empty quote")
        if any(quote in p.text for p in versions):
            return Verification(True, ref)
        return Verification(False, ref, "text differs from the official wording")

    def verify_answer(self, answer: Answer) -> list[Verification]:
        """Check every sentence of an answer against the provision its marker cites."""
        by_n = {c.n: c for c in answer.citations}
        results = []
        for sentence in answer.sentences:
            citation = by_n.get(sentence.n)
            if citation is None:
                results.append(Verification(False, f"[{sentence.n}]", "marker cites nothing"))
            else:
                results.append(self.verify(citation.ref, sentence.text))
        return results


def _check_top_k(top_k: int) -> int:
    if not isinstance(top_k, int) or top_k < 1:
        raise BadQuestion(f"top_k must be ≥ 1, got {top_k!r}")
    return min(top_k, MAX_TOP_K)


def _point(p: Provision) -> str | None:
    if p.point and p.subpoint:
        return f"{p.point}({p.subpoint})"
    return p.point
