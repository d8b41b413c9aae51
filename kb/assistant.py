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
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from kb.answers.extractive import Answerer, ExtractiveAnswerer
from kb.config import Settings
from kb.errors import BadQuestion
from kb.index.store import Store
from kb.law.library import Library, Rendition, today
from kb.obligations.catalogue import obligation_json
from kb.records import LANGUAGES, Answer, Citation, Provision
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
    lang: str = ""  # language of the wording the quote was found in


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


def check_lang(lang: str) -> str:
    """A supported language code, or BadQuestion naming the valid ones.

    >>> check_lang(" DE ")
    'de'
    """
    code = lang.strip().lower() if isinstance(lang, str) else ""
    if code not in LANGUAGES:
        raise BadQuestion(f"unsupported language {lang!r}; use one of {', '.join(LANGUAGES)}")
    return code


def check_as_of(as_of: str | None) -> str:
    """An ISO date (default today), or BadQuestion naming the bad value."""
    if not as_of:
        return today()
    try:
        return date.fromisoformat(as_of).isoformat()
    except (TypeError, ValueError):
        raise BadQuestion(f"as-of must be a date YYYY-MM-DD, got {as_of!r}") from None


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
        return check_as_of(self.settings.as_of or None)

    # --- questions --------------------------------------------------------------------------

    def retrieve(self, question: str, *, top_k: int = 5, as_of: str | None = None) -> list[Hit]:
        """The ranked passages for ``question``, without composing an answer."""
        text, _ = clean_question(question)
        day = check_as_of(as_of or self.settings.as_of)
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
        day = check_as_of(as_of or self.settings.as_of)
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
        answer.timing_ms = (time.perf_counter() - started) * 1000
        return answer

    def _obligations_for(self, question: str, as_of: str) -> list:
        """Catalogue obligations a question is about (curated CX wording → legal refs)."""
        from kb.obligations.catalogue import match_obligations

        return match_obligations(question, self.obligations(as_of), limit=3)

    def _citations(self, hits: list[Hit]) -> list[Citation]:
        return [self.citation(hit.provision, n=i + 1, score=hit.score)
                for i, hit in enumerate(hits)]

    def citation(self, p: Provision, *, n: int = 1, score: float = 0.0) -> Citation:
        doc = self.library.documents.get(p.doc_id)
        if p.lang != "en":
            doc = self.library.language_version(p.doc_id, p.lang) or doc
        return Citation(
            n=n, ref=p.ref, doc_id=p.doc_id, unit=p.unit, text=p.text, url=p.url, score=score,
            article=p.article, paragraph=p.paragraph, point=_point(p), annex=p.annex,
            recital=p.recital, page=p.page, title=p.title,
            doc_title=doc.title if doc else "", doc_kind=doc.kind.value if doc else "",
            valid_from=p.valid_from, version_source=p.version_source, lang=p.lang,
        )

    # --- obligations and dates ------------------------------------------------------------------

    def application_table(self, as_of: str | None = None) -> list:
        """When each provision applies, read from Articles 113 and 111 as in force on ``as_of``."""
        from kb.law.dates import application_table

        day = check_as_of(as_of or self.settings.as_of)
        with self._lock:
            if day not in self._tables:
                law = self.library.all_versions(self.library.main_act())
                self._tables[day] = application_table(law, day)
            return self._tables[day]

    def obligations(self, as_of: str | None = None) -> list:
        """The obligations catalogue with application dates as of ``as_of``."""
        from kb.obligations.catalogue import dated, load_catalogue

        day = check_as_of(as_of or self.settings.as_of)
        table = self.application_table(day)
        with self._lock:
            if day not in self._catalogues:
                self._catalogues[day] = dated(load_catalogue(), table)
            return self._catalogues[day]

    def checklist(self, role: str, system: str, *, facts: dict | None = None,
                  free_text: str = "", as_of: str | None = None):
        """The scenario finder: obligations of ``role`` for a CX ``system``."""
        from kb.obligations.catalogue import scenario

        day = check_as_of(as_of or self.settings.as_of)
        try:
            return scenario(role, system, table=self.application_table(day), facts=facts,
                            free_text=free_text, as_of=day, catalogue=self.obligations(day))
        except ValueError as error:
            raise BadQuestion(str(error)) from None

    # --- provisions ---------------------------------------------------------------------------

    def show(self, ref: str, *, as_of: str | None = None, lang: str | None = None) -> Provision:
        """The provision ``ref`` names ("Art. 50(1)" works too), as in force on ``as_of``.

        ``lang`` ("de", "fr"): its official wording in that language, or the English text
        where the provision was amended in English only (see :meth:`translation` for the
        note that says so).
        """
        if lang:
            return self.translation(ref, lang, as_of=as_of).provision
        day = check_as_of(as_of or self.settings.as_of)
        exact = self.library.version(ref.strip(), day)
        if exact is not None:
            return exact
        found = self.library.lookup(ref, day)
        if found and found[0].exact:
            return found[0].provision
        return self.library.get(ref.strip(), day)  # raises UnknownReference with a hint

    def translation(self, ref: str, lang: str, *, as_of: str | None = None) -> Rendition:
        """``ref`` in ``lang`` as in force on ``as_of``, with a note when the text shown is
        English (an amendment with no official wording in ``lang`` yet)."""
        code = check_lang(lang)
        day = check_as_of(as_of or self.settings.as_of)
        return self.library.translation(self.show(ref, as_of=day).ref, code, day)

    def define(self, term: str, *, as_of: str | None = None) -> Provision:
        return self.library.define(term, check_as_of(as_of or self.settings.as_of))

    def verify(self, ref: str, quote: str, lang: str | None = None) -> Verification:
        """Whether ``quote`` is verbatim official text of ``ref`` (any version of it), in
        ``lang`` ("en", "de", "fr") or, without ``lang``, in any official language."""
        code = check_lang(lang) if lang else None
        if not self.library.versions(ref):
            return Verification(False, ref, "unknown ref")
        if not quote.strip():
            return Verification(False, ref, "empty quote")
        for p in self.library.wordings(ref, code):
            if quote in p.text:
                return Verification(True, ref, lang=p.lang)
        where = f" in {LANGUAGES[code]}" if code else ""
        return Verification(False, ref, f"text differs from the official wording{where}")

    def verify_answer(self, answer: Answer) -> list[Verification]:
        """Check every sentence of an answer against the provision its marker cites."""
        by_n = {c.n: c for c in answer.citations}
        results = []
        for sentence in answer.sentences:
            citation = by_n.get(sentence.n)
            if citation is None:
                results.append(Verification(False, f"[{sentence.n}]", "marker cites nothing"))
            else:
                results.append(self.verify(citation.ref, sentence.text, citation.lang))
        return results


def _check_top_k(top_k: int) -> int:
    if not isinstance(top_k, int) or top_k < 1:
        raise BadQuestion(f"top_k must be ≥ 1, got {top_k!r}")
    return min(top_k, MAX_TOP_K)


def _point(p: Provision) -> str | None:
    if p.point and p.subpoint:
        return f"{p.point}({p.subpoint})"
    return p.point
