"""The MCP server: tools and resources over one shared :class:`kb.Assistant`
(``python -m kb mcp``; stdio for desktop clients, ``--http`` for streamable HTTP).

Each tool returns structured content (the JSON shapes of :mod:`kb.serve.schemas`: refs,
verbatim texts, EUR-Lex links) and a short text rendering.  A :class:`KbError` becomes an
MCP tool error with its one-line message; the SDK turns anything else into a generic tool
error and logs the traceback.  Provisions are resources at ``aiact://provision/{ref}``.

No ``from __future__ import annotations``: the SDK reads the tools' annotations at runtime.
"""

import json
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from kb.assistant import MAX_TOP_K, Assistant
from kb.config import Settings
from kb.errors import KbError
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

NAME = "eu-ai-act-kb"
_GROUNDING = (
    " Quote only text that these tools return, word for word, and cite its ref (e.g. "
    "'Article 50(1)') with its link; check any quote you write with verify_quote."
)
INSTRUCTIONS = (
    "Ground truth on the EU AI Act (as amended), with the GDPR and Commission guidelines: "
    "verbatim official texts with pinpoint refs and EUR-Lex links, for the law in force on a "
    "date." + _GROUNDING + " When ask_ai_act abstains, tell the user the indexed texts do not "
    "cover the question instead of answering from memory. Obligation summaries are our plain "
    "language, not the law. Not legal advice."
)
ASK = (
    "Answer a question about the EU AI Act (and the GDPR and Commission guidelines indexed "
    "here) with sentences quoted verbatim from the official texts. Returns the answer with [n] "
    "markers, and for each citation its ref, verbatim text and EUR-Lex link, plus our "
    "plain-language obligation summaries (not legal text)." + _GROUNDING + " If 'abstained' "
    "is true the indexed texts do not answer it: say so, do not answer from memory."
)
SHOW = ("The verbatim official text of one provision, by ref ('Article 50(1)', 'Art. 5(1)(f)', "
        "'Recital 132', 'Annex III, point 5(b)', 'Article 22 GDPR'), as in force on a date, "
        "with its title and EUR-Lex link." + _GROUNDING)
DEFINE = ("The official definition of a term from Article 3 of the AI Act (or another indexed "
          "act), verbatim, with its ref and link." + _GROUNDING)
VERIFY = ("Check that a quote is verbatim official text of a ref (any version of it). Returns "
          "ok, the reason when not, and the official wording in force today. Call it for every "
          "quote before you give it to the user; when ok is false, quote official_text instead.")
FIND = (
    "The scenario finder: which AI Act obligations a role has for a customer-experience "
    "system, with status ('applies', 'applies from <date>', 'depends on: <question>', "
    "'prohibited'), dates and the refs that impose them. Summaries are our plain language, not "
    "the law: to quote, call show_provision with a ref. Use system 'other' with 'describe' for "
    "a system not in the list; answer open questions through 'facts' "
    "(e.g. {\"high_risk\": false})."
)
ASSESS = (
    "Assess an AI system described in plain words under the EU AI Act: its risk tier "
    "(prohibited, high_risk, limited = Article 50 transparency duties, minimal), every reason "
    "with the deciding provision's verbatim text and our plain-language 'why', the exceptions "
    "considered, the deciding questions still open (answer them through 'facts' by key) and the "
    "dated obligations of the role. Quote only the returned provision texts and cite their "
    "refs; the 'why' and obligation summaries are our words, not the law."
)
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                             open_world_hint=False)

AsOf = Annotated[date | None, Field(description="The law in force on this date (YYYY-MM-DD); "
                                                "default today.")]
Lang = Annotated[schemas.Lang | None, Field(
    description="Language: en, de or fr. For a question, its language (default detected; "
                "German and French are answered from the official wording in that language); "
                "for a provision or a quote, the language of the wording.")]
T = TypeVar("T")


def _result(text: str, data: dict) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- short text renderings --------------------------------------------------------------------

def answer_text(data: dict) -> str:
    lines = [data["answer"], ""]
    if data["citations"]:
        lines.append("Sources (quote only these texts, word for word, and cite the ref):")
        lines += [f"[{c['n']}] {c['ref']}: {c['text']} <{c['url']}>"
                  + (f" (Note: {c['note']})" if c.get("note") else "") for c in data["citations"]]
    if data["obligations"]:
        lines += ["", "Our plain-language summaries (not the legal text):"]
        lines += [f"- {o['title']} ({', '.join(o['refs'])}; applies from {o['applies_from']})"
                  for o in data["obligations"]]
    lines += ["", f"Law as of {data['as_of']}."]
    return "\n".join(lines)


def provision_text(data: dict) -> str:
    head = data["ref"] + (f" — {data['title']}" if data["title"] else "")
    if data["deleted"]:
        head += f" (deleted from {data['valid_from']}; former text)"
    elif data["version_source"]:
        head += f" (as amended by {data['version_source']}, from {data['valid_from']})"
    note = f"\nNote: {data['note']}" if data.get("note") else ""
    return f"{head}{note}\n{data['text']}\n<{data['url']}>"


def verification_text(data: dict) -> str:
    if data["ok"]:
        return f"Verified: the quote is official text of {data['ref']} <{data['url']}>."
    text = f"Not verified ({data['reason']})."
    if data["official_text"] is not None:
        text += f" Official text of {data['ref']}: {data['official_text']} <{data['url']}>"
    return text


def assessment_text(data: dict) -> str:
    lines = [f"Risk level: {data['risk_level']} (tiers: {', '.join(data['tiers']) or 'none'}); "
             f"role {data['role']}{' (assumed)' if data['role_assumed'] else ''}, "
             f"law as of {data['as_of']}."]
    lines += [f"{r['ref']}: {r['why']} Official text: {r['text']}" for r in data["reasons"]]
    lines += [f"Considered {c['ref']}: {c['why']}" for c in data["exceptions_considered"]]
    lines += [f"Open question [{q['key']}]: {q['text']}" for q in data["questions"]]
    lines += [f"Obligation (our summary): {o['title']} ({', '.join(o['refs'])}; applies from "
              f"{o['applies_from']})" for o in data["obligations"]]
    return "\n".join(lines)


def checklist_text(data: dict) -> str:
    lines = [f"{data['system']}, {data['role']} (as of {data['as_of']}); our summaries, "
             "not the legal text:"]
    lines += [f"[{i['status']}] {i['title']}: {i['summary']} ({', '.join(i['refs'])})"
              for i in data["items"]] or ["No obligation in the catalogue matches."]
    lines += [f"Open question: {q}" for q in data["open_questions"]]
    lines += [f"Note: {n}" for n in data["notes"]]
    return "\n".join(lines)


# --- the server -------------------------------------------------------------------------------

def build_server(settings: Settings | None = None, *,
                 holder: AssistantHolder | None = None) -> MCPServer:
    """The MCP server; its lifespan opens and warms the Assistant once."""
    holder = holder or AssistantHolder(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(server: MCPServer):
        await anyio.to_thread.run_sync(holder.load)
        yield {}

    server = MCPServer(NAME, title="EU AI Act knowledge base", version="0.1.0",
                       instructions=INSTRUCTIONS, lifespan=lifespan,
                       log_level=holder.settings.log_level)

    def call(work: Callable[[Assistant], T]) -> T:
        """Run ``work`` on the Assistant; a KbError (or a missing index) is a tool error."""
        try:
            return work(holder.get())
        except KbError as error:
            raise ToolError(one_line(error)) from None

    @server.tool(description=ASK, annotations=_READ_ONLY)
    def ask_ai_act(
        question: Annotated[str, Field(description="The question, in plain language.")],
        as_of: AsOf = None,
        top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K, description="Citations to return.")] = 5,
        lang: Lang = None,
    ) -> Annotated[CallToolResult, schemas.AnswerOut]:
        data = call(lambda a: a.ask(question, top_k=top_k, as_of=_iso(as_of),
                                    lang=lang)).to_dict()
        return _result(answer_text(data), data)

    @server.tool(description=SHOW, annotations=_READ_ONLY)
    def show_provision(
        ref: Annotated[str, Field(description="The ref, e.g. 'Article 50(1)'.")],
        as_of: AsOf = None,
        lang: Lang = None,
    ) -> Annotated[CallToolResult, schemas.ProvisionOut]:
        data = call(lambda a: shown_json(a, ref, _iso(as_of), lang))
        return _result(provision_text(data), data)

    @server.tool(description=DEFINE, annotations=_READ_ONLY)
    def define_term(
        term: Annotated[str, Field(description="The term, e.g. 'deployer'.")],
        as_of: AsOf = None,
    ) -> Annotated[CallToolResult, schemas.ProvisionOut]:
        data = call(lambda a: provision_json(a, a.define(term, as_of=_iso(as_of))))
        return _result(provision_text(data), data)

    @server.tool(description=VERIFY, annotations=_READ_ONLY)
    def verify_quote(
        ref: Annotated[str, Field(min_length=1, description="Canonical ref, e.g. "
                                                            "'Article 50(1)'.")],
        quote: Annotated[str, Field(description="The text to check.")],
        lang: Lang = None,
    ) -> Annotated[CallToolResult, schemas.VerifyOut]:
        data = call(lambda a: verification_json(a, ref, quote, lang))
        return _result(verification_text(data), data)

    @server.tool(description=FIND, annotations=_READ_ONLY)
    def find_obligations(
        role: Annotated[schemas.Role, Field(description="Your role under the AI Act.")],
        system: Annotated[schemas.System, Field(description="The CX system.")] = "other",
        describe: Annotated[str, Field(description="For system 'other': what it does.")] = "",
        facts: Annotated[dict[str, bool] | None, Field(
            description="Answers to deciding facts by key, e.g. {\"high_risk\": false}.")] = None,
        as_of: AsOf = None,
    ) -> Annotated[CallToolResult, schemas.ChecklistOut]:
        data = call(lambda a: a.checklist(role, system, facts=facts or {}, free_text=describe,
                                          as_of=_iso(as_of)).to_dict())
        return _result(checklist_text(data), data)

    @server.tool(description=ASSESS, annotations=_READ_ONLY)
    def assess_system(
        description: Annotated[str, Field(min_length=1, max_length=5000,
                                          description="What the system does, in plain words.")],
        role: Annotated[schemas.Role | None, Field(
            description="Your role; read from the description if omitted.")] = None,
        facts: Annotated[dict[str, bool] | None, Field(
            description="Answers to deciding facts by key, e.g. {\"text_only\": true}.")] = None,
        as_of: AsOf = None,
    ) -> Annotated[CallToolResult, schemas.AssessmentOut]:
        data = call(lambda a: a.assess(description, role=role, facts=facts or None,
                                       as_of=_iso(as_of)).to_dict())
        return _result(assessment_text(data), data)

    @server.resource("aiact://provision/{ref}{?as_of}", name="provision",
                     title="A provision, verbatim", mime_type="text/plain",
                     description="The official text of a provision with its ref and EUR-Lex "
                                 "link, e.g. aiact://provision/Article%2050%281%29.")
    def provision_resource(ref: str, as_of: str | None = None) -> str:
        try:
            return provision_text(call(lambda a: provision_json(a, a.show(ref, as_of=as_of))))
        except ToolError as error:
            raise ResourceNotFoundError(str(error)) from None

    @server.resource("aiact://documents", name="documents", title="Indexed documents",
                     mime_type="application/json",
                     description="The documents in the knowledge base and the corpus version.")
    def documents_resource() -> str:
        data = call(lambda a: {"corpus_version": a.corpus_version, "documents": [
            document_json(d) for d in a.library.documents.values()]})
        return json.dumps(data, ensure_ascii=False)

    return server


# --- running ----------------------------------------------------------------------------------

class BearerGuard:
    """ASGI middleware for the streamable-HTTP transport: KB_API_TOKEN as a bearer token."""

    def __init__(self, app: Any, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.token:
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            scheme, _, given = header.partition(b" ")
            if scheme.lower() != b"bearer" or not token_ok(given.strip(), self.token):
                body = json.dumps({"detail": "Missing or wrong bearer token: send "
                                             "'Authorization: Bearer <KB_API_TOKEN>'."}).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def run(settings: Settings, *, http: bool = False, host: str = "127.0.0.1",
        port: int = 8765) -> None:
    """Serve over stdio (default) or streamable HTTP at http://HOST:PORT/mcp."""
    passive_openmp()
    holder = AssistantHolder(settings)
    server = build_server(holder=holder)
    if not http:
        server.run("stdio")
        return
    import uvicorn

    holder.load()  # once for every session, before the first client connects
    app = BearerGuard(server.streamable_http_app(host=host), settings.api_token)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
