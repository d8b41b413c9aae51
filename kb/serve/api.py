"""The HTTP API: FastAPI routes over one shared :class:`kb.Assistant` (``python -m kb serve``).

In: JSON bodies and query strings, validated by :mod:`kb.serve.schemas` (422 names the bad
field).  Out: the CLI's JSON shapes.  A :class:`KbError` is a 400 with its one-line message,
an index that cannot be opened a 503 with the build command, anything else a 500 with a
one-line message (the traceback goes to the log only).  The Assistant is opened and warmed
once, in the lifespan; sync routes run in the thread pool and share it read-only.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import StringConstraints

from kb.assistant import Assistant
from kb.config import Settings
from kb.errors import IndexMissing, KbError
from kb.serve import schemas
from kb.serve.shared import (
    AssistantHolder,
    document_json,
    one_line,
    passive_openmp,
    provision_json,
    shown_json,
    token_ok,
    verification_json,
)

log = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal error while answering; the server log has the details."
_bearer = HTTPBearer(auto_error=False, description="The server's KB_API_TOKEN, if it sets one.")
_ERRORS = {
    400: {"model": schemas.ErrorOut, "description": "A domain error (bad ref, question, date)."},
    401: {"model": schemas.ErrorOut, "description": "Missing or wrong bearer token."},
    503: {"model": schemas.ErrorOut, "description": "No index: run python -m ingest."},
}


class Unavailable(Exception):
    """The knowledge base could not be opened (503)."""


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    """Check the bearer token against KB_API_TOKEN (no check when it is empty).

    The dependencies are ``async`` so that they run on the event loop: a sync one would cost
    every request an extra hop through the thread pool.
    """
    # Starlette decodes headers as latin-1: encoding back gives the bytes as sent.
    given = credentials.credentials.encode("latin-1") if credentials else b""
    if not token_ok(given, request.app.state.holder.settings.api_token):
        raise HTTPException(
            401, "Missing or wrong bearer token: send 'Authorization: Bearer <KB_API_TOKEN>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def get_assistant(request: Request) -> Assistant:
    holder: AssistantHolder = request.app.state.holder
    try:
        if holder.loaded:
            return holder.get()
        return await anyio.to_thread.run_sync(holder.get)  # opening blocks: not on the loop
    except KbError as error:
        raise Unavailable(str(error)) from None


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
Fact = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*=(yes|no|true|false)$")]
AsOf = Annotated[date | None, Query(description="The law in force on this date (YYYY-MM-DD); "
                                                "default today.")]

router = APIRouter(dependencies=[Depends(require_token)], responses=_ERRORS)


@router.post("/ask", response_model=schemas.AnswerOut, tags=["answers"])
def ask(body: schemas.AskRequest, assistant: AssistantDep) -> JSONResponse:
    """Answer a question with verbatim, cited sentences, or abstain.

    The body of the response is exactly ``python -m kb ask --json``.
    """
    answer = assistant.ask(body.question, top_k=body.top_k, as_of=_iso(body.as_of),
                           lang=body.lang)
    return JSONResponse(answer.to_dict())


@router.get("/provisions/{ref:path}", response_model=schemas.ProvisionOut, tags=["law"])
def provision(assistant: AssistantDep,
              ref: Annotated[str, Path(description="A ref, e.g. 'Article 50(1)' or "
                                                   "'Annex III, point 5(b)'.")],
              as_of: AsOf = None,
              lang: Annotated[schemas.Lang | None, Query(
                  description="The official wording in this language (en, de, fr); the "
                              "English text and a note where there is none in force.")] = None,
              ) -> JSONResponse:
    """The verbatim provision a ref names, as in force on a date (``kb show --json``)."""
    # As is: "note" is there only when the text shown is not in the language asked for.
    return JSONResponse(shown_json(assistant, ref, _iso(as_of), lang))


@router.get("/definitions/{term}", response_model=schemas.ProvisionOut, tags=["law"])
def definition(assistant: AssistantDep, term: str, as_of: AsOf = None) -> JSONResponse:
    """The Article 3 definition of a term (``kb define --json``)."""
    return JSONResponse(provision_json(assistant, assistant.define(term, as_of=_iso(as_of))))


@router.post("/verify", response_model=schemas.VerifyOut, tags=["law"])
def verify(body: schemas.VerifyRequest, assistant: AssistantDep) -> dict:
    """Whether a quote is the verbatim official wording of a ref."""
    return verification_json(assistant, body.ref, body.quote, body.lang)


@router.post("/assess", response_model=schemas.AssessmentOut, tags=["obligations"])
def assess(body: schemas.AssessRequest, assistant: AssistantDep) -> JSONResponse:
    """Assess a described AI system: risk tier, the deciding provisions quoted verbatim,
    exceptions considered, open deciding questions and dated obligations
    (``python -m kb assess --json``)."""
    result = assistant.assess(body.description, role=body.role, facts=body.facts or None,
                              as_of=_iso(body.as_of))
    return JSONResponse(result.to_dict())


@router.get("/obligations", response_model=schemas.ChecklistOut, tags=["obligations"])
def obligations(
    assistant: AssistantDep,
    role: Annotated[schemas.Role, Query(description="Your role under the AI Act.")],
    system: Annotated[schemas.System, Query(description="The CX system.")] = "other",
    describe: Annotated[str, Query(description="For system=other: what the system does.")] = "",
    fact: Annotated[list[Fact], Query(description="A deciding fact, KEY=yes|no (repeatable), "
                                                  "e.g. high_risk=no.")] = [],  # noqa: B006
    as_of: AsOf = None,
) -> dict:
    """The scenario finder: what a role must do for a CX system, with status and dates."""
    facts = {key: value in ("yes", "true") for key, _, value in (f.partition("=") for f in fact)}
    checklist = assistant.checklist(role, system, facts=facts, free_text=describe,
                                    as_of=_iso(as_of))
    return checklist.to_dict()


@router.get("/documents", response_model=schemas.DocumentsOut, tags=["law"])
def documents(assistant: AssistantDep) -> dict:
    """The indexed documents and the corpus version."""
    return {"corpus_version": assistant.corpus_version,
            "documents": [document_json(d) for d in assistant.library.documents.values()]}


def health(request: Request) -> JSONResponse:
    """Whether the index is loaded, and its corpus version (no token needed)."""
    holder: AssistantHolder = request.app.state.holder
    if not holder.loaded:
        holder.load()  # the index may have been built since start-up
    if holder.loaded:
        assistant = holder.get()
        body = schemas.HealthOut(status="ok", index_loaded=True, documents=len(
            assistant.library.documents), corpus_version=assistant.corpus_version, detail="")
        return JSONResponse(body.model_dump())
    body = schemas.HealthOut(status="unavailable", index_loaded=False, corpus_version=None,
                             documents=0, detail=one_line(holder.error))
    return JSONResponse(body.model_dump(), status_code=503)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- errors -----------------------------------------------------------------------------------

def _error(status: int, message: object) -> JSONResponse:
    return JSONResponse({"detail": one_line(message)}, status_code=status)


async def _kb_error(request: Request, error: Exception) -> JSONResponse:
    return _error(400, error)


async def _unavailable(request: Request, error: Exception) -> JSONResponse:
    return _error(503, error)


class OneLineErrors:
    """ASGI middleware: an unexpected exception is logged with its traceback and answered
    with a one-line 500, never a stack trace."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for a clean answer; the server closes the connection
                raise
            await _error(500, INTERNAL_ERROR)(scope, receive, send)


# --- the application --------------------------------------------------------------------------

def create_app(settings: Settings | None = None, *, assistant: Assistant | None = None) -> FastAPI:
    """The FastAPI application; the Assistant opens (or is given) once, at start-up."""
    holder = AssistantHolder(settings or Settings.from_env(), assistant=assistant)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await anyio.to_thread.run_sync(holder.load)
        yield

    app = FastAPI(
        title="EU AI Act knowledge base",
        version="0.1.0",
        summary="Verbatim, cited answers from the EU AI Act, the GDPR and Commission guidelines.",
        description="Every answer sentence is quoted from the official text and cited with a "
                    "pinpoint ref and a EUR-Lex link. Not legal advice.",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.include_router(router)
    app.add_api_route("/health", health, methods=["GET"], response_model=schemas.HealthOut,
                      responses={503: {"model": schemas.HealthOut,
                                       "description": "The index is not loaded."}},
                      tags=["service"])
    app.add_api_route("/", lambda: RedirectResponse("/docs"), include_in_schema=False)
    app.add_exception_handler(KbError, _kb_error)
    app.add_exception_handler(IndexMissing, _unavailable)  # e.g. a collection gone mid-run
    app.add_exception_handler(Unavailable, _unavailable)
    app.add_middleware(OneLineErrors)
    return app


def run(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080,
        workers: int = 1) -> None:
    """Serve the API with uvicorn until interrupted.

    With ``workers`` > 1, uvicorn starts that many processes, each building its own app (and
    loading its own model and index) from the environment; ``settings`` must be what
    ``Settings.from_env()`` gives.
    """
    import uvicorn

    passive_openmp()
    options = {"host": host, "port": port, "log_level": settings.log_level.lower(),
               "access_log": settings.log_level in ("DEBUG", "INFO")}
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:
        uvicorn.run("kb.serve.api:create_app", factory=True, workers=workers, **options)
