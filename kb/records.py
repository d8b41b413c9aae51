"""Records that cross module boundaries: documents, provisions, chunks, citations.

Parsers (``ingest/``) turn official files into :class:`Provision` records; the chunker
wraps them into :class:`Chunk` records for the index; the answerer returns
:class:`Citation` records.  Nothing here touches Chroma or llama-index.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import Enum


class _Vocabulary(str, Enum):  # noqa: UP042 - StrEnum's str() differs across versions
    """A closed vocabulary whose ``from_str`` names the valid values on error."""

    @classmethod
    def from_str(cls, value: str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            valid = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown {cls.__name__.lower()} {value!r}; valid: {valid}") from None

    def __str__(self) -> str:
        return self.value


class Unit(_Vocabulary):
    """What kind of legal unit a provision is."""

    RECITAL = "recital"
    ARTICLE = "article"  # an article, one of its paragraphs, points or sub-points
    DEFINITION = "definition"  # one point of a definitions article (AI Act Article 3)
    ANNEX = "annex"  # an annex, one of its sections or points
    SECTION = "section"  # a numbered paragraph or heading of a guideline/FAQ


class Kind(_Vocabulary):
    """What kind of document a manifest entry is."""

    REGULATION = "regulation"
    AMENDING_REGULATION = "amending_regulation"
    GUIDELINE = "guideline"
    FAQ = "faq"
    CODE_OF_PRACTICE = "code_of_practice"
    NATIONAL_GUIDANCE = "national_guidance"


# The languages of the official texts in the knowledge base: code -> English name.
LANGUAGES: dict[str, str] = {"en": "English", "de": "German", "fr": "French"}


@dataclass(frozen=True, slots=True)
class Document:
    """One manifest entry: a source document and how to read it."""

    id: str  # stable manifest id, "eu-ai-act"
    title: str
    kind: Kind
    file: str  # path relative to the corpus directory
    parser: str  # "eurlex_html", "formex", "guideline_pdf", "guideline_md"
    issuer: str = ""
    date: str = ""  # adoption date, ISO "2024-06-13"
    identifier: str = ""  # CELEX or C(2025) number
    url: str = ""  # canonical official URL; deep links are built from it
    language: str = "en"
    cite_as: str = ""  # short name used in refs: "GDPR", "Guidelines C(2025) 5052"
    note: str = ""  # e.g. "Markdown text extract of the official PDF, not an official format"
    amends: str = ""  # for an amending act: the id of the document it amends
    # For a language version of another document (the German AI Act): that document's id.
    # Its provisions carry the original's refs and doc_id, with their own ``lang`` and url.
    translation_of: str = ""


@dataclass(frozen=True, slots=True)
class Provision:
    """One unit of official text: a recital, article paragraph, point, annex item,
    definition or guideline paragraph.

    ``text`` is the official wording, verbatim apart from whitespace normalisation
    (runs of spaces collapsed; a paragraph's points are joined with newlines).  A
    paragraph's text includes its points with their labels ("(a) ...\\n(b) ...");
    a point's text is its own wording without its label.
    """

    doc_id: str  # manifest id, "eu-ai-act"
    ref: str  # canonical citation label, unique within the document: "Article 5(1)(f)"
    unit: Unit
    text: str  # verbatim official wording
    title: str = ""  # article title, annex title, guideline section heading
    article: str | None = None  # "5", "4a"
    paragraph: str | None = None  # "1", "1a"
    point: str | None = None  # "f", "ba", "5" (annex point), with sub-point: "f" + subpoint
    subpoint: str | None = None  # "i", "ii"
    annex: str | None = None  # "III"
    recital: str | None = None  # "132"
    page: int | None = None  # page in the source PDF, where the format has pages
    chapter: str = ""  # "Chapter IV — Transparency obligations for providers and deployers..."
    section: str = ""  # "Section 2 — Requirements for high-risk AI systems", or guideline section
    term: str = ""  # the defined term, for definitions: "deployer"
    anchor: str = ""  # id of the element in the source HTML, "art_50", "050.001"
    url: str = ""  # deep link to the official text
    parent: str = ""  # ref of the enclosing provision ("Article 5(1)" for "Article 5(1)(f)")
    intro: str = ""  # opening words of the enclosing paragraph, for points; context only
    order: int = 0  # position in the document, for tables of contents and neighbours
    # Law in force (issue: versioned provisions).  Original texts carry valid_from None.
    valid_from: str | None = None  # ISO date this wording applies from
    valid_until: str | None = None  # ISO date this wording stops applying (exclusive)
    # "" for the original text, or "Regulation (EU) 2026/1744, Article 1, point (5)"
    version_source: str = ""
    deleted: bool = False  # provision deleted by an amendment: history only
    lang: str = "en"  # language of ``text`` ("de" for the German wording of an English ref)

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        lang = "" if self.lang == "en" else f", lang={self.lang!r}"
        return f"Provision({self.doc_id!r}, {self.ref!r}, {text!r}{lang})"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["unit"] = self.unit.value
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Provision:
        return cls(**{**data, "unit": Unit(data["unit"])})


def stable_id(*parts: str) -> str:
    """A short id derived from its parts, stable across runs and machines.

    >>> stable_id("eu-ai-act", "Article 50(1)")
    'eu-ai-act:cf85f0ea2c0a475a'
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    return f"{parts[0]}:{digest}"


def content_hash(text: str) -> str:
    """First 16 hex digits of the sha256 of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Chunk:
    """What the index stores: one provision, or one part of a long provision.

    ``text`` is a verbatim slice of ``provision.text``; ``embed_text`` adds context
    (document, article title, the paragraph's opening words) for the embedding model.
    """

    provision: Provision
    text: str
    embed_text: str
    part: int = 0  # 0 for a whole provision, 1.. for parts of a long one

    @property
    def id(self) -> str:
        p = self.provision
        # English ids stay as they were; another language's chunk of the same ref differs.
        lang = () if p.lang == "en" else (p.lang,)
        return stable_id(p.doc_id, p.ref, str(self.part), p.valid_from or "", *lang)

    @property
    def content_hash(self) -> str:
        return content_hash(self.embed_text + "\x1f" + self.text)

    def __repr__(self) -> str:
        return f"Chunk({self.provision.ref!r}, part={self.part})"


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk as the catalog keeps it (without its vector)."""

    id: str
    doc_id: str
    ref: str
    part: int
    valid_from: str | None
    valid_until: str | None
    text: str
    embed_text: str
    hash: str


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved passage with its scores (rounded; see kb.index.store.ranked)."""

    chunk: StoredChunk
    provision: Provision
    score: float  # fused score, the rank order
    dense: float  # cosine similarity to the question (0 when not among the dense candidates)
    lexical: float  # BM25 score of the expanded question (0 when not a BM25 candidate)
    direct: bool = False  # named in the question


@dataclass(frozen=True, slots=True)
class Citation:
    """A provision cited by an answer, in rank order."""

    n: int
    ref: str
    doc_id: str
    unit: Unit
    text: str  # verbatim official text of the provision
    url: str = ""
    score: float = 0.0
    article: str | None = None
    paragraph: str | None = None
    point: str | None = None
    annex: str | None = None
    recital: str | None = None
    page: int | None = None
    title: str = ""
    doc_title: str = ""
    doc_kind: str = ""
    valid_from: str | None = None
    version_source: str = ""
    lang: str = "en"  # language of ``text`` and ``url``
    # Why ``text`` is not in the language asked for ("German wording of this amended
    # provision not yet in the knowledge base; the English text is shown."); "" when it is.
    note: str = ""

    def to_dict(self) -> dict:
        """The documented JSON shape of a citation."""
        return {
            "n": self.n,
            "ref": self.ref,
            "doc_id": self.doc_id,
            "unit": self.unit.value,
            "article": self.article,
            "paragraph": self.paragraph,
            "point": self.point,
            "annex": self.annex,
            "recital": self.recital,
            "page": self.page,
            "url": self.url,
            "text": self.text,
            "score": round(self.score, 4),
            "version_source": self.version_source,
            "valid_from": self.valid_from,
            "lang": self.lang,
            "note": self.note,
        }


def provision_json(citation: Citation, p: Provision, note: str = "") -> dict:
    """The documented JSON of one provision (``kb show --json``, ``GET /provisions/{ref}``):
    its citation without rank, plus title, deleted flag, defined term and an optional note."""
    data = citation.to_dict()
    data.update({"title": p.title, "deleted": p.deleted, "term": p.term})
    data.pop("n")
    data.pop("score")
    data.pop("note")
    if note:
        data["note"] = note
    return data


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an answer: verbatim text and the citation it comes from."""

    text: str
    n: int  # citation marker


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer: text with [n] markers, the sentences it is made of, its citations.

    Built once by :meth:`kb.Assistant.ask`; never changed afterwards."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    obligations: list[dict] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # closest passages when abstaining
    message: str = ""  # why it abstained or what was wrong with the question
    timing_ms: float = 0.0
    as_of: str = ""
    assessment: dict | None = None  # set when the question describes a system (assess JSON)
    margin: float | None = None  # how far the abstention evidence was from a threshold
    lang: str = "en"  # the language of the question and of the quoted wordings where official

    def to_dict(self) -> dict:
        """The documented JSON shape of an answer; ``assessment`` only when there is one."""
        data = {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "obligations": self.obligations,
            "as_of": self.as_of,
            "lang": self.lang,
            "timing_ms": round(self.timing_ms, 1),
        }
        if self.assessment is not None:
            data["assessment"] = self.assessment
        return data
