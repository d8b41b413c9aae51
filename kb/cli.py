"""``python -m kb``: ask questions, show provisions and definitions from the terminal."""

from __future__ import annotations

import functools
import json
import sys
import textwrap

import click

from kb.assistant import Assistant
from kb.config import Settings
from kb.console import ISO_DATE, configure_logging, verbose_option
from kb.errors import BadQuestion, KbError
from kb.obligations.assess import summary, tier_label
from kb.obligations.catalogue import ROLES
from kb.obligations.scenario import SYSTEMS
from kb.records import LANGUAGES, Answer, Provision, provision_json


def output_options(command):
    """The flags every answering command shares: --json, --top-k, --as-of."""

    @click.option("--json", "as_json", is_flag=True, help="Print the documented JSON shape.")
    @click.option("--top-k", default=5, show_default=True, type=click.IntRange(1, 50),
                  help="How many ranked citations to return.")
    @click.option("--as-of", default=None, type=ISO_DATE,
                  help="Answer with the law in force on this date (default: today).")
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapper


def _open() -> Assistant:
    """The assistant of the environment's settings (a bad setting is a KbError too)."""
    return Assistant.open(Settings.from_env())


def _fail(error: KbError):
    raise click.ClickException(str(error)) from None


@click.group()
@verbose_option
def cli(verbose: int) -> None:
    """Ask the EU AI Act knowledge base; every answer sentence is quoted and cited."""
    try:
        settings = Settings.from_env()
    except KbError as error:
        _fail(error)
    configure_logging(verbose, settings.log_level)


def format_answer(answer: Answer) -> str:
    lines = [f"Q: {answer.question}", ""]
    if answer.message:
        lines += [f"Note: {answer.message}", ""]
    if answer.obligations:
        lines.append("Our summary (plain language, not the legal text):")
        for o in answer.obligations:
            lines.append(textwrap.fill(
                f"- {o['title']}: {o['summary']} [{', '.join(o['refs'])}; applies from "
                f"{o['applies_from']}]", 100, subsequent_indent="  "))
        lines += ["", "What the official texts say:"]
    if answer.assessment is not None:
        lines.append(textwrap.fill("Our summary (plain language, not the legal text): "
                                   + summary(answer.assessment), 100))
        lines += ["", "What the official texts say:"]
    lines += [textwrap.fill(answer.text, 100), ""]
    shown = answer.citations or answer.related
    if answer.abstained and shown:
        lines.append("You may want to read:")
    for c in shown:
        source = f" ({c.version_source})" if c.version_source else ""
        lines.append(f"[{c.n}] {c.ref}{source} — {c.url}")
        if c.note:
            lines.append(f"    Note: {c.note}")
        lines.append(textwrap.indent(textwrap.fill(c.text, 96), "    "))
    language = "" if answer.lang == "en" else f"; question read as {LANGUAGES[answer.lang]}"
    lines.append(f"(law as of {answer.as_of}{language}; {answer.timing_ms:.0f} ms)")
    return "\n".join(lines)


@cli.command()
@click.argument("question", required=False)
@click.option("--batch", type=click.File("r", encoding="utf-8"), default=None,
              help="Read one question per line from FILE ('-' for stdin); with --json prints "
                   "one JSON object per line.")
@click.option("--lang", type=click.Choice(list(LANGUAGES)), default=None,
              help="The question's language (default: detected). German and French "
                   "questions are answered from the official German or French wording.")
@output_options
def ask(question: str | None, batch, lang: str | None, as_json: bool, top_k: int,
        as_of: str | None) -> None:
    """Answer QUESTION with verbatim, cited passages, or say the texts don't cover it.

    Example: python -m kb ask "Muss unser Chatbot sagen, dass er eine KI ist?" --json
    """
    if (question is None) == (batch is None):
        raise click.UsageError("give either a QUESTION or --batch FILE")
    try:
        assistant = _open()
        if batch is None:
            answer = assistant.ask(question, top_k=top_k, as_of=as_of, lang=lang)
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False) if as_json
                       else format_answer(answer))
            return
        for line in batch:
            if not line.strip():
                continue
            try:
                answer = assistant.ask(line, top_k=top_k, as_of=as_of, lang=lang)
                data, text = answer.to_dict(), format_answer(answer)
            except KbError as error:  # one bad line does not stop the batch
                data = {"question": line.strip(), "error": str(error)}
                text = f"Q: {line.strip()}\nError: {error}"
            click.echo(json.dumps(data, ensure_ascii=False) if as_json else text + "\n")
    except KbError as error:
        _fail(error)


def format_provision(p: Provision, assistant: Assistant, note: str = "") -> str:
    doc = assistant.library.documents.get(p.doc_id)
    if p.lang != "en":
        doc = assistant.library.language_version(p.doc_id, p.lang) or doc
    head = p.ref + (f" — {p.title}" if p.title else "")
    lines = [head, doc.title if doc else p.doc_id]
    if note:
        lines.append(f"Note: {note}")
    if p.deleted:
        lines.append(f"DELETED from {p.valid_from} ({p.version_source}); former text:")
    elif p.version_source:
        lines.append(f"As amended: {p.version_source}, in force from {p.valid_from}")
    lines += ["", p.text, "", p.url]
    return "\n".join(lines)


def _provision_json(p: Provision, assistant: Assistant, note: str = "") -> str:
    return json.dumps(provision_json(assistant.citation(p), p, note), ensure_ascii=False)


def _print_provision(find, as_json: bool) -> None:
    """Open the assistant, find one provision with ``find(assistant)``, print it.
    ``find`` returns a Provision, or a Rendition (a provision in a language, with a note)."""
    try:
        assistant = _open()
        found = find(assistant)
    except KbError as error:
        _fail(error)
    p, note = (found, "") if isinstance(found, Provision) else (found.provision, found.note)
    click.echo(_provision_json(p, assistant, note) if as_json
               else format_provision(p, assistant, note))


@cli.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--as-of", default=None, type=ISO_DATE, help="Wording in force on this date.")
@click.option("--lang", type=click.Choice(list(LANGUAGES)), default="en", show_default=True,
              help="Language of the official wording (English, with a note, where an "
                   "amendment exists in English only).")
def show(ref: str, as_json: bool, as_of: str | None, lang: str) -> None:
    """Print the verbatim provision REF with its title and link.

    Example: python -m kb show "Article 50(1)" --lang de
    """
    _print_provision(lambda assistant: assistant.translation(ref, lang, as_of=as_of), as_json)


@cli.command()
@click.argument("term")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--as-of", default=None, type=ISO_DATE, help="Definition in force on this date.")
def define(term: str, as_json: bool, as_of: str | None) -> None:
    """Print the Article 3 definition of TERM.

    Example: python -m kb define deployer
    """
    _print_provision(lambda assistant: assistant.define(term, as_of=as_of), as_json)


@cli.command()
@click.option("--role", required=True, type=click.Choice(ROLES), help="Your role.")
@click.option("--system", required=True, type=click.Choice(list(SYSTEMS)),
              help="The CX system of the scenario finder.")
@click.option("--fact", "facts", multiple=True, metavar="KEY=yes|no",
              help="Answer a deciding fact, e.g. --fact high_risk=no (repeatable).")
@click.option("--describe", default="", help="For --system other: describe the system.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "csv"]), default="text",
              help="Output format (text, markdown or csv).")
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@click.option("--as-of", default=None, type=ISO_DATE, help="Status on this date.")
def obligations(role: str, system: str, facts: tuple[str, ...], describe: str, fmt: str,
                as_json: bool, as_of: str | None) -> None:
    """List what ROLE must do for a CX SYSTEM, with citations, dates and open questions.

    Example: python -m kb obligations --role deployer --system credit_scoring --json
    """
    answers = {}
    for fact in facts:
        key, _, value = fact.partition("=")
        if value.lower() not in ("yes", "no", "true", "false"):
            raise click.BadParameter(f"expected KEY=yes|no, got {fact!r}", param_hint="--fact")
        answers[key] = value.lower() in ("yes", "true")
    try:
        checklist = _open().checklist(role, system, facts=answers, free_text=describe,
                                      as_of=as_of)
    except KbError as error:
        _fail(error)
    if as_json:
        click.echo(json.dumps(checklist.to_dict(), ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(checklist.to_markdown())
    elif fmt == "csv":
        click.echo(checklist.to_csv(), nl=False)
    else:
        click.echo(f"{checklist.system} — {role} (as of {checklist.as_of})")
        for item in checklist.items:
            o = item.obligation
            click.echo(f"[{item.status}] {o.title} — {', '.join(o.refs)}")
            click.echo(textwrap.indent(textwrap.fill(o.summary, 96), "    "))
        for question in checklist.open_questions:
            click.echo(f"? {question}")


def _fact_answers(facts: tuple[str, ...]) -> dict[str, str]:
    """--fact KEY=VALUE pairs; the library checks keys and values (exit 1 naming them)."""
    answers = {}
    for fact in facts:
        key, sep, value = fact.partition("=")
        if not sep:
            raise click.ClickException(f"--fact must be KEY=yes|no, got {fact!r}")
        answers[key.strip()] = value.strip()
    return answers


def format_assessment(data: dict) -> str:
    """The text form of an assessment (its JSON shape): verdict, reasons, questions, duties."""
    lines = [f"Risk level: {tier_label(data['risk_level'])}",
             textwrap.fill("Our summary (plain language, not the legal text): " + summary(data),
                           100), ""]
    for r in data["reasons"]:
        lines.append(f"{r['ref']} — {r['why']}")
        lines.append(textwrap.indent(textwrap.fill(r["text"], 96), "    "))
        if r["matched"]:
            lines.append(f"    (matched: {', '.join(r['matched'])})")
    for c in data["exceptions_considered"]:
        lines.append(textwrap.fill(f"Considered {c['ref']}: {c['why']}", 100,
                                   subsequent_indent="  "))
    for q in data["questions"]:
        lines.append(textwrap.fill(f"? [{q['key']}] {q['text']}", 100, subsequent_indent="  "))
    lines.append(f"Obligations for a {data['role'].replace('_', ' ')} (law as of {data['as_of']}):")
    for o in data["obligations"]:
        lines.append(f"- {o['title']} — {', '.join(o['refs'])} (applies from {o['applies_from']})")
    return "\n".join(lines)


@cli.command()
@click.argument("description", required=False)
@click.option("--batch", type=click.File("r", encoding="utf-8"), default=None,
              help="Read one system per line from FILE ('-' for stdin): plain text or a JSON "
                   "object {\"description\", \"role\", \"facts\"}.")
@click.option("--role", default=None, metavar="ROLE",
              help="provider, deployer, importer, distributor, authorised_representative, "
                   "product_manufacturer or gpai_model_provider (default: read from the text).")
@click.option("--fact", "facts", multiple=True, metavar="KEY=yes|no",
              help="Answer a deciding fact, e.g. --fact text_only=yes (repeatable).")
@click.option("--as-of", default=None, metavar="YYYY-MM-DD",
              help="Assess under the law in force on this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the documented JSON shape.")
def assess(description: str | None, batch, role: str | None, facts: tuple[str, ...],
           as_of: str | None, as_json: bool) -> None:
    """Assess an AI system described in plain words: risk tier, cited reasons, obligations.

    Example: python -m kb assess "We use a voice bot to collect overdue bills" --json
    """
    if (description is None) == (batch is None):
        raise click.UsageError("give either a DESCRIPTION or --batch FILE")
    try:
        answers = _fact_answers(facts)
        assistant = _open()
        if batch is None:
            data = assistant.assess(description, role=role, facts=answers or None,
                                    as_of=as_of).to_dict()
            click.echo(json.dumps(data, ensure_ascii=False) if as_json
                       else format_assessment(data))
            return
        for line in batch:
            if not line.strip():
                continue
            text, line_role, line_facts = line.strip(), role, answers or None
            try:
                if text.startswith("{"):
                    item = json.loads(text)
                    if not isinstance(item, dict):
                        raise BadQuestion(f"a JSON line must be an object, got {text[:60]!r}")
                    text = item.get("description", "")
                    line_role = item.get("role") or role
                    line_facts = item.get("facts") or line_facts
                data = assistant.assess(text, role=line_role, facts=line_facts,
                                        as_of=as_of).to_dict()
                shown = format_assessment(data)
            except (KbError, json.JSONDecodeError) as error:  # a bad line: report, go on
                message = f"invalid JSON: {error}" if isinstance(error, ValueError) else error
                data = {"description": text, "error": str(message)}
                shown = f"{text}\nError: {message}"
            click.echo(json.dumps(data, ensure_ascii=False) if as_json else shown + "\n")
    except KbError as error:
        _fail(error)
# --- servers (issue 15): the HTTP API and the MCP server, thin layers over Assistant ------------

@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Server processes, each with its own model and index in memory (about "
                   "0.9 GB); answers are mostly Python, so one per core serves most.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs); KB_API_TOKEN requires a bearer token.

    Example: python -m kb serve --port 8080
    """
    from kb.serve.api import run

    run(Settings.from_env(), host=host, port=port, workers=workers)


@cli.command()
@click.option("--http", "use_http", is_flag=True,
              help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --http: interface.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535),
              help="With --http: TCP port.")
def mcp(use_http: bool, host: str, port: int) -> None:
    """Run the MCP server: stdio for desktop clients, or --http for streamable HTTP.

    Example: python -m kb mcp
    """
    from kb.serve.mcp import run

    run(Settings.from_env(), http=use_http, host=host, port=port)


# --- the AI system register (issue 14): its commands live in kb/register/cli.py ------------

from kb.register.cli import register  # noqa: E402

cli.add_command(register)


def main() -> None:  # pragma: no cover - console entry point
    cli(prog_name="python -m kb")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
