"""The public entry point: ``Assistant.open()`` then ``ask``, ``show``, ``define``, ``verify``.

A question travels: :meth:`Assistant.ask` → validation →
:class:`kb.search.retrieval.Retriever` (Chroma + BM25 over the law in force on the as-of date)
→ the answerer (:mod:`kb.answers.extractive`) → an :class:`kb.records.Answer` whose every
sentence is verbatim text of the provision its ``[n]`` marker cites.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from kb.answers.extractive import Answerer, ExtractiveAnswerer
from kb.answers.lead import lead_with
from kb.answers.scope import instruction_reason
from kb.answers.translated import TranslatedAnswerer, abstain_reason
from kb.config import Settings
from kb.errors import BadQuestion, KbError
from kb.index.embeddings import embed_queries, load_embedder
from kb.index.store import Snapshot, Store
from kb.law.dates import ApplicationRule, application_table, parse_date
from kb.law.library import Library, Rendition
from kb.obligations.assess import Assessment, assess, describes_system, lead_quote
from kb.obligations.catalogue import (
    Obligation,
    dated,
    load_catalogue,
    match_obligations,
    obligation_json,
)
from kb.obligations.dense import DenseModel, load_examples
from kb.obligations.scenario import Checklist, scenario
from kb.obligations.triggers import default_triggers
from kb.records import LANGUAGES, Answer, Citation, Hit, Provision
from kb.safety import control_character
from kb.search.adapter import QueryAdapter
from kb.search.languages import detect, language_name
from kb.search.multilingual import DEFAULT_SIGNALS, LANGS, Multilingual, Signals
from kb.search.ranker import Ranker
from kb.search.retrieval import Retriever, expand

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
MIN_QUOTE_WORDS = 3
MAX_TOP_K = 50
ABSTAIN_TEXT = (
    "The indexed texts do not cover this question. Nothing in the AI Act, the GDPR or the "
    "Commission guidelines in this knowledge base answers it well enough to quote."
)


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
    bad = control_character(question)
    if bad:
        raise BadQuestion(
            f"The question contains a control character ({bad}); remove it and ask again."
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


def guides() -> list[tuple[str, tuple[str, ...]]]:
    """The obligations catalogue as retrieval guides: our plain-language title, summary and
    CX examples of each entry, and the refs they stand for."""
    return [(" ".join([spec.title + ".", spec.summary, *spec.cx_examples]), spec.refs)
            for spec in load_catalogue()]


# Asked once at start-up (the app, the servers) so that the model, the BM25 index and the
# answerer are loaded before the first user waits for them.
WARM_UP_QUESTION = "Must our chatbot tell customers it is an AI?"


class _View:
    """Everything derived from one committed snapshot of the index: the provisions, the
    retriever, the answerer and the date tables.  Replaced whole when ingest commits."""

    def __init__(self, snapshot: Snapshot, settings: Settings):
        self.snapshot = snapshot
        self.settings = settings
        self.library = Library.from_catalog(snapshot.catalog)
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self._answerer: Answerer | None = None
        self._multilingual: Multilingual | None = None
        self._translated: TranslatedAnswerer | None = None
        self.tables: dict[str, list] = {}
        self.catalogues: dict[str, list] = {}

    @property
    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                embedder = load_embedder(self.settings.embed_model)
                self._retriever = Retriever(self.snapshot, self.library, embedder,
                                            precision=self.settings.embed_precision,
                                            ranker=Ranker.load(),
                                            adapter=QueryAdapter.load(self.settings.embed_model),
                                            guides=guides())
            return self._retriever

    @property
    def answerer(self) -> Answerer:
        retriever = self.retriever
        with self._lock:
            if self._answerer is None:
                texts = [c.text for c in retriever.chunks.values()]
                self._answerer = ExtractiveAnswerer.for_texts(texts)
            return self._answerer

    def speaks(self, lang: str) -> bool:
        """Whether the index holds official texts in ``lang`` to search and quote."""
        return lang in self.library.languages()

    @property
    def multilingual(self) -> Multilingual:
        """German/French search (built on the first question in either language)."""
        retriever = self.retriever
        with self._lock:
            if self._multilingual is None:
                chunks = {lang: self.snapshot.catalog.translation_chunks(lang) for lang in LANGS}
                self._multilingual = Multilingual(retriever, self.library, chunks)
            return self._multilingual

    @property
    def translated_answerer(self) -> TranslatedAnswerer:
        multilingual = self.multilingual
        with self._lock:
            if self._translated is None:
                texts = {"en": [c.text for c in multilingual.retriever.chunks.values()]}
                texts |= {lang: [c.text for c in self.snapshot.catalog.translation_chunks(lang)]
                          for lang in multilingual.languages()}
                self._translated = TranslatedAnswerer.for_texts(texts)
            return self._translated


class Assistant:
    """Questions in, grounded answers out.  Thread-safe; shared by the app's sessions.

    It follows the index: before each call it checks (one ``stat``) whether ingest committed
    a new generation, and if so answers from the new one, without a restart.
    """

    def __init__(self, settings: Settings, store: Store, *, answerer: Answerer | None = None):
        self.settings = settings
        self.store = store
        self._answerer = answerer
        # Which German/French signals take part (the eval's ablations change it).
        self.signals: Signals = DEFAULT_SIGNALS
        self._lock = threading.Lock()
        self._view = _View(store.snapshot(), settings)
        self._dense_lock = threading.Lock()
        self._dense: DenseModel | None = None
        self._dense_missing = False

    @classmethod
    def open(cls, settings: Settings | None = None) -> Assistant:
        """Open the index described by ``settings`` (default: the environment).

        Fails at once (IndexMissing, StoreUnavailable) when there is no usable index.  The
        embedding model loads on the first question, or in :meth:`warm_up`.
        """
        settings = settings or Settings.from_env()
        return cls(settings, Store(settings))

    def _current(self) -> _View:
        """The view of the live generation: rebuilt when the catalog changed.

        While one thread rebuilds it, others keep answering from the previous view (its
        generation stays readable for ``KB_GENERATION_GRACE`` seconds).
        """
        view = self._view
        if self.store.current_key() == view.snapshot.key:
            return view
        if not self._lock.acquire(blocking=False):
            return view
        try:
            if self.store.current_key() != self._view.snapshot.key:
                log.info("the index changed; opening the new generation")
                self._view = _View(self.store.snapshot(), self.settings)
            return self._view
        finally:
            self._lock.release()

    def warm_up(self) -> None:
        """Load the model, the retriever, today's BM25 index and the assessment combiner now,
        not on the first question."""
        self.ask(WARM_UP_QUESTION)
        self.dense_model()

    @property
    def library(self) -> Library:
        return self._current().library

    @property
    def retriever(self) -> Retriever:
        return self._current().retriever

    @property
    def answerer(self) -> Answerer:
        return self._answerer or self._current().answerer

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Query embeddings of ``texts`` with the index's model (one forward pass)."""
        return embed_queries(self.retriever.embedder, texts,
                             precision=self.settings.embed_precision)

    @property
    def corpus_version(self) -> str:
        return self._current().snapshot.catalog.state("corpus_version")

    def default_as_of(self) -> str:
        return parse_date(self.settings.as_of or None)

    # --- questions --------------------------------------------------------------------------

    def retrieve(self, question: str, *, top_k: int = 5, as_of: str | None = None,
                 lang: str | None = None) -> list[Hit]:
        """The ranked passages for ``question`` (in English: retrieval works on the English
        index, whatever the question's language), without composing an answer."""
        text, _ = clean_question(question)
        day = parse_date(as_of or self.settings.as_of)
        view = self._current()
        code = self._language(view, text, lang)
        return self._retrieve(view, text, day, _check_top_k(top_k), code)[1]

    def language(self, question: str) -> str:
        """The language a question will be answered in when no ``lang`` is given: the
        detected one ("en", "de", "fr") if the index has official texts in it, else "en"."""
        text, _ = clean_question(question)
        return self._language(self._current(), text, None)

    @staticmethod
    def _language(view: _View, text: str, lang: str | None) -> str:
        code = check_lang(lang) if lang is not None else detect(text)
        return code if code == "en" or view.speaks(code) else "en"

    def _retrieve(self, view: _View, text: str, day: str, top_k: int,
                  lang: str = "en") -> tuple[list[Obligation], list[Hit], str]:
        """(the catalogue obligations the question is about, the ranked passages, the
        English question searched); the obligations' refs join retrieval as hints.  A German
        or French question is searched with its English bridge and its own-language lists."""
        search, extra = text, []
        if lang != "en":
            signals = self.signals
            multilingual = view.multilingual
            if signals.bridge:
                search = multilingual.bridge.bridge(text, lang, signals).english or text
            extra = multilingual.extra_lists(text, lang, day, signals)
        matched = match_obligations(search, self._obligations(view, day), limit=3)
        hints = [ref for o in matched for ref in o.refs[:2]]
        # The guidelines exist in English only: a German or French reader gets the law, in
        # their language, first when it is among the first three.
        hits = view.retriever.retrieve(search, as_of=day, top_k=top_k, hint_refs=hints,
                                       table=self._table(view, day), extra_lists=extra,
                                       law_first=lang != "en" and self.signals.law_first)
        return matched, hits, search

    def ask(self, question: str, *, top_k: int = 5, as_of: str | None = None,
            lang: str | None = None) -> Answer:
        """Answer ``question`` from the law in force on ``as_of`` (default today).

        ``lang`` ("en", "de", "fr") is the question's language; None detects it.  A German or
        French question is answered in its language: the same refs and markers, each passage
        quoted in the official wording of that language where it is the law in force, else
        in English with a note (:attr:`Citation.note`).
        """
        started = time.perf_counter()
        text, note = clean_question(question)
        top_k = _check_top_k(top_k)
        day = parse_date(as_of or self.settings.as_of)
        view = self._current()
        code = self._language(view, text, lang)
        if code != "en":
            # Detected: it is also the language searched; given: the question may be in
            # another one (an English question shown in German).
            reading = code if lang is None else self._reading(view, text, code)
            answer = self._ask_in(view, text, code, reading, day, top_k, note)
            return replace(answer, timing_ms=(time.perf_counter() - started) * 1000)
        matched, hits, _ = self._retrieve(view, text, day, top_k)
        answerer = self._answerer or view.answerer
        draft = answerer.draft(text, hits, expansion=expand(text, view.retriever.rules))
        if draft.abstained:
            log.info("abstained on %r: %s", text, draft.reason)
        answer = Answer(
            question=text,
            text=ABSTAIN_TEXT if draft.abstained else draft.text,
            abstained=draft.abstained,
            citations=[] if draft.abstained else self._citations(view, hits),
            sentences=[] if draft.abstained else draft.sentences,
            obligations=[] if draft.abstained else [obligation_json(o) for o in matched],
            related=self._citations(view, hits[:3]) if draft.abstained else [],
            message=note or (draft.reason if draft.abstained else ""),
            as_of=day,
            margin=draft.margin,
        )
        if describes_system(text) and not instruction_reason(text):  # "We use X: must we…?"
            answer = self._with_assessment(view, answer, day)
        return replace(answer, timing_ms=(time.perf_counter() - started) * 1000)

    @staticmethod
    def _reading(view: _View, text: str, lang: str) -> str:
        """The language a question is searched in when it is shown in ``lang``: its own, as
        detected (``lang`` when undecidable or not in the index).  An English question shown
        in German (the app's language picker) is searched as English, so switching the
        picker changes the wording quoted, not the provisions found."""
        reading = detect(text, default=lang)
        return reading if reading == "en" or view.speaks(reading) else lang

    def _ask_in(self, view: _View, text: str, lang: str, reading: str, day: str, top_k: int,
                note: str) -> Answer:
        """A German or French question: retrieval in the ``reading`` language (bridged to
        English for German or French), then an answer quoting the official wording in
        ``lang`` (English, with a note, where there is none in force)."""
        matched, hits, search = self._retrieve(view, text, day, top_k, reading)
        reason = abstain_reason(text, lang, search, hits)
        multilingual = view.multilingual
        in_language = self.signals.answer_in_language
        shown = [multilingual.render(h, lang, day) if in_language else (h, "") for h in hits]
        if reason:
            log.info("abstained on %r (%s): %s", text, lang, reason)
            return Answer(question=text, text=abstain_text(lang), abstained=True,
                          related=self._cited(view, shown[:3]), message=note or reason,
                          as_of=day, lang=lang)
        rendered = [h for h, _ in shown]
        draft = view.translated_answerer.draft(text, lang, search, rendered)
        return Answer(question=text, text=draft.text, abstained=False,
                      citations=self._cited(view, shown), sentences=draft.sentences,
                      obligations=[obligation_json(o) for o in matched], message=note,
                      as_of=day, lang=lang)

    @staticmethod
    def _cited(view: _View, shown: list[tuple[Hit, str]]) -> list[Citation]:
        return [citation(view.library, hit.provision, n=i + 1, score=hit.score, note=why)
                for i, (hit, why) in enumerate(shown)]

    def _with_assessment(self, view: _View, answer: Answer, day: str) -> Answer:
        """The answer with the system's assessment attached, led by its deciding provision
        quoted verbatim as [1]; the verdict itself is rendered by the callers."""
        try:
            assessment = self._assess(view, answer.question, None, None, day)
        except KbError as error:
            log.info("no assessment for %r: %s", answer.question, error)
            return answer
        deciding = assessment.deciding
        if deciding is not None:
            provision = view.library.version(deciding.ref, day)
            if provision is not None:
                lead = citation(view.library, provision, n=1, score=deciding.score)
                answer = lead_with(answer, lead, lead_quote(deciding))
        return replace(answer, assessment=assessment.to_dict())

    def _citations(self, view: _View, hits: list[Hit]) -> list[Citation]:
        return [citation(view.library, hit.provision, n=i + 1, score=hit.score)
                for i, hit in enumerate(hits)]

    def citation(self, p: Provision, *, n: int = 1, score: float = 0.0) -> Citation:
        """The citation record of a provision (its document's title and kind included)."""
        return citation(self.library, p, n=n, score=score)

    # --- obligations and dates ------------------------------------------------------------------

    def application_table(self, as_of: str | None = None) -> list[ApplicationRule]:
        """When each provision applies, read from Articles 113 and 111 as in force on ``as_of``."""
        return self._table(self._current(), parse_date(as_of or self.settings.as_of))

    def obligations(self, as_of: str | None = None) -> list[Obligation]:
        """The obligations catalogue with application dates as of ``as_of``."""
        return self._obligations(self._current(), parse_date(as_of or self.settings.as_of))

    @staticmethod
    def _table(view: _View, day: str) -> list[ApplicationRule]:
        with view._lock:
            if day not in view.tables:
                law = view.library.all_versions(view.library.main_act())
                view.tables[day] = application_table(law, day)
            return view.tables[day]

    def _obligations(self, view: _View, day: str) -> list[Obligation]:
        table = self._table(view, day)
        with view._lock:
            if day not in view.catalogues:
                view.catalogues[day] = dated(load_catalogue(), table)
            return view.catalogues[day]

    def checklist(self, role: str, system: str, *, facts: dict | None = None,
                  free_text: str = "", as_of: str | None = None) -> Checklist:
        """The scenario finder: obligations of ``role`` for a CX ``system``."""
        day = parse_date(as_of or self.settings.as_of)
        view = self._current()
        return scenario(role, system, table=self._table(view, day), facts=facts,
                        free_text=free_text, as_of=day, catalogue=self._obligations(view, day))

    def assess(self, description: str, *, role: str | None = None,
               facts: dict | None = None, as_of: str | None = None) -> Assessment:
        """Classify a described AI system: risk tier, cited reasons, open questions, duties.

        Every reason quotes its provision as in force on ``as_of`` (default today).
        """
        day = parse_date(as_of or self.settings.as_of)
        return self._assess(self._current(), description, role, facts, day)

    def _assess(self, view: _View, description: str, role: str | None, facts: dict | None,
                day: str) -> Assessment:
        def text_of(ref: str) -> str | None:
            p = view.library.version(ref, day)
            return p.text if p is not None and not p.deleted else None

        return assess(description, text_of=text_of, table=self._table(view, day),
                      obligations=self._obligations(view, day), role=role, facts=facts,
                      as_of=day, dense=self.dense_model(), embed=self.embed)

    def dense_model(self) -> DenseModel | None:
        """The assessment engine's learned combiner, fitted on first use from the
        team-written examples (their embeddings cached under ``<data dir>/assess``); None
        when the examples file is missing, and the engine then decides on lexical evidence
        alone."""
        with self._dense_lock:
            if self._dense is None and not self._dense_missing:
                try:
                    self._dense = DenseModel.build(
                        default_triggers(), load_examples(), self.embed,
                        cache_dir=self.settings.data_dir / "assess",
                        model=self.settings.embed_model)
                except KbError as error:
                    log.warning("assessment on lexical evidence only: %s", error)
                    self._dense_missing = True
            return self._dense

    # --- provisions ---------------------------------------------------------------------------

    def show(self, ref: str, *, as_of: str | None = None, lang: str | None = None) -> Provision:
        """The provision ``ref`` names ("Art. 50(1)" works too), as in force on ``as_of``.

        ``lang`` ("de", "fr"): its official wording in that language, or the English text
        where the provision was amended in English only (see :meth:`translation` for the
        note that says so).
        """
        if lang:
            return self.translation(ref, lang, as_of=as_of).provision
        day = parse_date(as_of or self.settings.as_of)
        library = self.library
        exact = library.version(ref.strip(), day)
        if exact is not None:
            return exact
        found = library.lookup(ref, day)
        if found and found[0].exact:
            return found[0].provision
        return library.get(ref.strip(), day)  # raises UnknownReference with a hint

    def translation(self, ref: str, lang: str, *, as_of: str | None = None) -> Rendition:
        """``ref`` in ``lang`` as in force on ``as_of``, with a note when the text shown is
        English (an amendment with no official wording in ``lang`` yet)."""
        code = check_lang(lang)
        day = parse_date(as_of or self.settings.as_of)
        return self.library.translation(self.show(ref, as_of=day).ref, code, day)

    def define(self, term: str, *, as_of: str | None = None) -> Provision:
        return self.library.define(term, parse_date(as_of or self.settings.as_of))

    def verify(self, ref: str, quote: str, lang: str | None = None) -> Verification:
        """Whether ``quote`` is verbatim official text of ``ref`` (any version of it), in
        ``lang`` ("en", "de", "fr") or, without ``lang``, in any official language.

        A quote must be at least MIN_QUOTE_WORDS words long unless it is the provision's whole
        text: a single word proves nothing.  Runs of whitespace count as one space.
        """
        code = check_lang(lang) if lang else None
        library = self.library
        if not library.versions(ref):
            return Verification(False, ref, "unknown ref")
        wanted = " ".join(quote.split())
        if not wanted:
            return Verification(False, ref, "empty quote")
        wordings = library.wordings(ref, code)
        if len(wanted.split()) < MIN_QUOTE_WORDS and not any(
                wanted == " ".join(p.text.split()) for p in wordings):
            return Verification(False, ref, f"quote too short to verify (fewer than "
                                            f"{MIN_QUOTE_WORDS} words)")
        for p in wordings:
            if wanted in " ".join(p.text.split()):
                return Verification(True, ref, lang=p.lang)
        where = f" in {LANGUAGES[code]}" if code else ""
        return Verification(False, ref, f"text differs from the official wording{where}")

    def verify_answer(self, answer: Answer) -> list[Verification]:
        """Check every sentence of an answer against the provision its marker cites."""
        by_n = {c.n: c for c in answer.citations}
        results = []
        for sentence in answer.sentences:
            cited = by_n.get(sentence.n)
            if cited is None:
                results.append(Verification(False, f"[{sentence.n}]", "marker cites nothing"))
            else:
                results.append(self.verify(cited.ref, sentence.text, cited.lang))
        return results


def _check_top_k(top_k: int) -> int:
    if not isinstance(top_k, int) or top_k < 1:
        raise BadQuestion(f"top_k must be ≥ 1, got {top_k!r}")
    return min(top_k, MAX_TOP_K)


def abstain_text(lang: str) -> str:
    """The abstention message; for a German or French question it says which language the
    question was read as (the interface stays English)."""
    if lang == "en":
        return ABSTAIN_TEXT
    return f"{ABSTAIN_TEXT} (Question read as {language_name(lang)}.)"


def citation(library: Library, p: Provision, *, n: int = 1, score: float = 0.0,
             note: str = "") -> Citation:
    """The citation record of a provision: its document's title and kind (in the wording's
    language), and where it came from; ``note`` says why its text is not in the language
    asked for."""
    doc = library.documents.get(p.doc_id)
    if p.lang != "en":
        doc = library.language_version(p.doc_id, p.lang) or doc
    return Citation(
        n=n, ref=p.ref, doc_id=p.doc_id, unit=p.unit, text=p.text, url=p.url, score=score,
        article=p.article, paragraph=p.paragraph, point=_point(p), annex=p.annex,
        recital=p.recital, page=p.page, title=p.title,
        doc_title=doc.title if doc else "", doc_kind=doc.kind.value if doc else "",
        valid_from=p.valid_from, version_source=p.version_source, lang=p.lang, note=note,
    )


def _point(p: Provision) -> str | None:
    if p.point and p.subpoint:
        return f"{p.point}({p.subpoint})"
    return p.point
