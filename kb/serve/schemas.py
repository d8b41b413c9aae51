"""Pydantic models of what the servers receive and return: the OpenAPI schema of the HTTP API
and the output schemas of the MCP tools.

They describe the JSON that the records already produce (``Answer.to_dict()``,
``Citation.to_dict()``, ``Checklist.to_dict()``, :mod:`kb.serve.shared`); a test keeps the
two in step.  Requests forbid unknown fields, so a typo is a 422 naming the field.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.assistant import MAX_TOP_K
from kb.obligations.catalogue import ROLES
from kb.obligations.scenario import SYSTEMS
from kb.records import LANGUAGES

Role = Literal[ROLES]  # type: ignore[valid-type]  # the catalogue's roles, listed in the schema
System = Literal[tuple(SYSTEMS)]  # type: ignore[valid-type]
Lang = Literal[tuple(LANGUAGES)]  # type: ignore[valid-type]  # "en", "de", "fr"

QUESTION_EXAMPLE = "Must our chatbot tell customers it is an AI?"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Request):
    question: str = Field(description="The question, in plain language (cut at 1,000 characters).",
                          examples=[QUESTION_EXAMPLE])
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many ranked citations to return.")
    as_of: date | None = Field(None, description="Answer with the law in force on this date "
                                                 "(YYYY-MM-DD); default today.")
    lang: Lang | None = Field(None, description="The question's language: en, de or fr; "
                                                "default detected. German and French questions "
                                                "are answered from the official wording in "
                                                "that language.")


class VerifyRequest(_Request):
    ref: str = Field(min_length=1, description="Canonical ref, e.g. 'Article 50(1)'.",
                     examples=["Article 50(1)"])
    quote: str = Field(description="Text claimed to be the official wording of the ref.",
                       examples=["Providers shall ensure"])
    lang: Lang | None = Field(None, description="Check against the wording in this language "
                                                "only (en, de, fr); default any official "
                                                "language.")


class CitationOut(BaseModel):
    """A provision an answer cites, in rank order (``Citation.to_dict()``)."""

    n: int = Field(description="The [n] marker in the answer text.")
    ref: str = Field(description="Canonical citation, e.g. 'Article 50(1)'.")
    doc_id: str
    unit: str = Field(description="recital, article, definition, annex or section.")
    article: str | None
    paragraph: str | None
    point: str | None
    annex: str | None
    recital: str | None
    page: int | None
    url: str = Field(description="Deep link to the official text (EUR-Lex).")
    text: str = Field(description="Verbatim official text of the provision.")
    score: float
    version_source: str = Field(description="The amending act of this wording; '' if original.")
    valid_from: str | None
    lang: str = Field(description="Language of the quoted wording: en, de or fr.")
    note: str = Field(description="Why the text is not in the answer's language (an amended "
                                  "provision or a document in English only); '' when it is.")


class ObligationOut(BaseModel):
    """A catalogue obligation: our plain-language summary, not the legal text."""

    id: str
    title: str
    summary: str
    roles: list[str]
    refs: list[str]
    applies_from: str


class AssessRequest(_Request):
    description: str = Field(min_length=1, max_length=5000,
                             description="The AI system, described in plain words.",
                             examples=["We use a voice bot that reads callers' emotions to "
                                       "prioritise complaints."])
    role: Role | None = Field(default=None, description="Your role; read from the text if "
                                                        "omitted (role_assumed says so).")
    facts: dict[str, bool] = Field(default_factory=dict,
                                   description="Answers to deciding facts by key, e.g. "
                                               "{\"text_only\": true}.")
    as_of: date | None = Field(default=None, description="Assess under the law in force on "
                                                         "this date; default today.")


class ReasonOut(BaseModel):
    ref: str = Field(description="The deciding provision.")
    text: str = Field(description="Its verbatim official text in force on the date.")
    why: str = Field(description="Our plain-language reason, not the legal text.")
    score: float
    matched: list[str] = Field(description="Words of the description that matched.")


class ConsideredOut(BaseModel):
    ref: str
    why: str


class QuestionOut(BaseModel):
    key: str = Field(description="Pass it back in 'facts' to answer.")
    text: str = Field(description="The question and what its answer would change.")
    options: list[str]


class AssessmentOut(BaseModel):
    """The JSON of ``python -m kb assess --json`` (``Assessment.to_dict()``)."""

    description: str
    role: str
    role_assumed: bool
    risk_level: Literal["prohibited", "high_risk", "limited", "minimal", "unclear"]
    tiers: list[str]
    reasons: list[ReasonOut]
    exceptions_considered: list[ConsideredOut]
    questions: list[QuestionOut]
    obligations: list[ObligationOut]
    as_of: str
    timing_ms: float


class AnswerOut(BaseModel):
    """The JSON of ``python -m kb ask --json`` (``Answer.to_dict()``)."""

    question: str
    answer: str = Field(description="Verbatim sentences with [n] markers, or the abstention.")
    abstained: bool
    citations: list[CitationOut]
    obligations: list[ObligationOut]
    as_of: str
    lang: str = Field(description="The question's language (given or detected): en, de or fr.")
    timing_ms: float
    assessment: AssessmentOut | None = Field(
        default=None, description="Present only when the question describes a system.")


class ProvisionOut(BaseModel):
    """The JSON of ``python -m kb show --json`` and ``define --json``."""

    ref: str
    doc_id: str
    unit: str
    article: str | None
    paragraph: str | None
    point: str | None
    annex: str | None
    recital: str | None
    page: int | None
    url: str
    text: str = Field(description="Verbatim official text.")
    version_source: str
    valid_from: str | None
    lang: str = Field(description="Language of the wording: en, de or fr.")
    title: str
    deleted: bool = Field(description="Deleted by an amendment on the date asked: former text.")
    term: str = Field(description="The defined term, for an Article 3 definition.")
    note: str | None = Field(default=None, description="Present when another language was "
                                                       "asked for and the text is English: why.")


class VerifyOut(BaseModel):
    ok: bool = Field(description="Whether the quote is verbatim text of the ref (any version).")
    reason: str = Field(description="Why not: 'unknown ref', 'empty quote' or "
                                    "'text differs from the official wording'; '' when ok.")
    ref: str
    official_text: str | None = Field(description="The ref's official wording in force today "
                                                  "(in the language asked for where there is "
                                                  "one); null for an unknown ref.")
    url: str | None
    lang: str | None = Field(description="Language of official_text.")


class ChecklistItemOut(ObligationOut):
    status: str = Field(description="'applies', 'applies from <date>', 'depends on: <question>' "
                                    "or 'prohibited'.")


class ChecklistOut(BaseModel):
    """The scenario finder's checklist (``Checklist.to_dict()``)."""

    role: str
    system: str
    as_of: str
    items: list[ChecklistItemOut]
    open_questions: list[str]
    notes: list[str]


class DocumentOut(BaseModel):
    id: str
    title: str
    kind: str
    issuer: str
    date: str
    identifier: str
    url: str
    language: str
    cite_as: str
    note: str
    amends: str
    translation_of: str = Field(description="For a language version: the original's id.")


class DocumentsOut(BaseModel):
    corpus_version: str
    documents: list[DocumentOut]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    index_loaded: bool
    corpus_version: str | None
    documents: int
    detail: str = Field(description="Why the index is not loaded, with the build command.")


class ErrorOut(BaseModel):
    detail: str = Field(description="One line: what went wrong and what to do.")
