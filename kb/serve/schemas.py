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

Role = Literal[ROLES]  # type: ignore[valid-type]  # the catalogue's roles, listed in the schema
System = Literal[tuple(SYSTEMS)]  # type: ignore[valid-type]

QUESTION_EXAMPLE = "Must our chatbot tell customers it is an AI?"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Request):
    question: str = Field(description="The question, in plain language (cut at 1,000 characters).",
                          examples=[QUESTION_EXAMPLE])
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="How many ranked citations to return.")
    as_of: date | None = Field(None, description="Answer with the law in force on this date "
                                                 "(YYYY-MM-DD); default today.")


class VerifyRequest(_Request):
    ref: str = Field(min_length=1, description="Canonical ref, e.g. 'Article 50(1)'.",
                     examples=["Article 50(1)"])
    quote: str = Field(description="Text claimed to be the official wording of the ref.",
                       examples=["Providers shall ensure"])


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


class ObligationOut(BaseModel):
    """A catalogue obligation: our plain-language summary, not the legal text."""

    id: str
    title: str
    summary: str
    roles: list[str]
    refs: list[str]
    applies_from: str


class AnswerOut(BaseModel):
    """The JSON of ``python -m kb ask --json`` (``Answer.to_dict()``)."""

    question: str
    answer: str = Field(description="Verbatim sentences with [n] markers, or the abstention.")
    abstained: bool
    citations: list[CitationOut]
    obligations: list[ObligationOut]
    as_of: str
    timing_ms: float


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
    title: str
    deleted: bool = Field(description="Deleted by an amendment on the date asked: former text.")
    term: str = Field(description="The defined term, for an Article 3 definition.")


class VerifyOut(BaseModel):
    ok: bool = Field(description="Whether the quote is verbatim text of the ref (any version).")
    reason: str = Field(description="Why not: 'unknown ref', 'empty quote' or "
                                    "'text differs from the official wording'; '' when ok.")
    ref: str
    official_text: str | None = Field(description="The ref's official wording in force today; "
                                                  "null for an unknown ref.")
    url: str | None


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
