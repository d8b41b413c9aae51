"""``python -m ingest``: keep the index in step with ``corpus/`` (maintainers' commands)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ingest import maintain
from ingest.pipeline import SyncReport
from kb.config import Settings
from kb.console import ISO_DATE, configure_logging, verbose_option
from kb.errors import KbError
from kb.records import Kind


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


class _Bars:
    """tqdm bars for parse/embed stages; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, doc_id: str, done: int, total: int) -> None:
        if not self.enabled or stage == "write":
            return
        from tqdm import tqdm

        key = f"{stage}:{doc_id}"
        bar = self.bars.get(key)
        if bar is None:
            label = {"parse": "parsing documents", "embed": f"embedding {doc_id}",
                     "copy": f"keeping {doc_id}"}[stage]
            bar = self.bars[key] = tqdm(total=total, desc=label, unit="chunk" if doc_id else "doc")
        bar.total = max(total, done)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _run(ctx: click.Context, action, *args, **options):
    """Call a maintain function with progress bars, the lock's waiting message and the
    --no-wait choice; a KbError exits 1 with its one-line message."""
    bars = _Bars(sys.stderr.isatty())
    try:
        return action(*args, wait=ctx.obj["wait"], progress=bars,
                      say=lambda message: click.echo(message, err=True), **options)
    except KbError as error:
        raise click.ClickException(str(error)) from None
    finally:
        bars.close()


def _say_report(report: SyncReport | None) -> None:
    if report is None:
        return
    if not report.changed:
        count = len(report.unchanged)
        click.echo(f"Index up to date ({count} documents) in {report.seconds:.1f}s.")
        return
    for label, ids in (("added", report.added), ("replaced", report.replaced),
                       ("removed", report.removed), ("unchanged", report.unchanged)):
        if ids:
            click.echo(f"{label}: {', '.join(ids)}")
    click.echo(
        f"{report.chunks_embedded} chunks embedded, {report.chunks_copied} kept, "
        f"collection {report.collection}, {report.seconds:.1f}s."
    )


@click.group(invoke_without_command=True)
@click.option("--rebuild", is_flag=True,
              help="Re-embed every document; a damaged catalog or Chroma directory is moved "
                   "aside first.")
@click.option("--no-wait", is_flag=True,
              help="Fail at once if another ingest is running, instead of waiting for it.")
@verbose_option
@click.pass_context
def cli(ctx: click.Context, rebuild: bool, no_wait: bool, verbose: int) -> None:
    """Sync the knowledge base index with corpus/manifest.toml.

    With no command: parse, chunk, embed and store every new or changed document, drop
    removed ones, and keep unchanged ones.  Example: python -m ingest
    """
    try:
        settings = Settings.from_env()
    except KbError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(verbose, settings.log_level)
    ctx.obj = {"settings": settings, "wait": not no_wait}
    if ctx.invoked_subcommand is None:
        _say_report(_run(ctx, maintain.reindex, settings, rebuild=rebuild))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the indexed documents, chunk counts, amendments and store location.

    Example: python -m ingest status --json
    """
    try:
        info = maintain.status(_settings(ctx))
    except KbError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Store: {info['store']}  collection {info['collection']}")
    click.echo(f"Corpus version {info['corpus_version']}, last ingest {info['last_ingest']}")
    for doc in info["documents"]:
        units = ", ".join(f"{n} {u}" for u, n in sorted(doc["units"].items()))
        version = (f" {doc['language']} version of {doc['translation_of']}, catalog only;"
                   if doc.get("translation_of") else "")
        click.echo(
            f"- {doc['id']} [{doc['kind']}] {doc['identifier']} {doc['date']}:{version} "
            f"{doc['chunks']} chunks ({units}); hash {doc['hash']}"
        )
    for a in info["amendments"]:
        click.echo(
            f"Amendments {a['doc_id']} -> {a['target']}: {a['applied']} of {a['total']} "
            f"instructions applied (in force {a['in_force']})"
        )
        for point, reason in a["failed"]:
            click.echo(f"  not applied: point ({point}): {reason}")
    if info["pending"]:
        click.echo(f"Not yet ingested: {', '.join(info['pending'])} (run: python -m ingest)")


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the manifest, files, hashes, catalog and collections; print what is wrong
    and the one command that fixes each problem (exit 1 if anything is wrong).

    Example: python -m ingest doctor
    """
    problems = maintain.diagnose(_settings(ctx))
    if not problems:
        click.echo("Everything is in order: manifest, files, catalog and collections agree.")
        return
    for problem, fix in problems:
        click.echo(f"- {problem}\n  fix: {fix}")
    raise click.exceptions.Exit(1)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--id", "doc_id", required=True, help="Stable document id, e.g. nl-ap-guidance.")
@click.option("--title", required=True, help="Document title.")
@click.option("--kind", required=True, type=click.Choice([k.value for k in Kind]),
              help="Kind of document.")
@click.option("--date", default="", type=ISO_DATE, help="Adoption date, YYYY-MM-DD.")
@click.option("--url", default="", help="Official URL (deep links are built from it).")
@click.option("--issuer", default="", help="Who issued it.")
@click.option("--identifier", default="", help="Official identifier (CELEX, C(2025) number).")
@click.option("--cite-as", default="", help="Short name used in refs (default: from the title).")
@click.option("--amends", default="", help="For an amending act: id of the act it amends.")
@click.option("--language", default="en", show_default=True,
              help="Language of the text (en, de, fr for EUR-Lex HTML).")
@click.option("--translation-of", default="",
              help="For a language version: id of the original (its refs must match).")
@click.option("--note", default="", help="Note, e.g. when the file is not the official format.")
@click.pass_context
def add(ctx: click.Context, file: str, **fields) -> None:
    """Add a document: copy FILE into corpus/, list it in the manifest, index it.

    Nothing changes if the file cannot be parsed or indexed.

    Example: python -m ingest add guidance.pdf --id nl-guidance --title "Dutch DPA
    guidance" --kind national_guidance

    A language version of a document: --kind regulation --language de --translation-of
    eu-ai-act; it is refused, with the differing refs listed, unless its provisions are
    exactly the original's.
    """
    doc, report = _run(ctx, maintain.add_document, _settings(ctx), file, **fields)
    click.echo(f"Added {doc.id} as corpus/{doc.file}.")
    _say_report(report)


@cli.command()
@click.argument("doc_id")
@click.pass_context
def remove(ctx: click.Context, doc_id: str) -> None:
    """Remove a document from the manifest, the corpus and the index.

    Example: python -m ingest remove nl-guidance
    """
    _, report = _run(ctx, maintain.remove_document, _settings(ctx), doc_id)
    click.echo(f"Removed {doc_id}.")
    _say_report(report)


@cli.command()
@click.option("--id", "doc_id", default=None, help="Amending act id (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print the review as JSON.")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Questions to replay (default: eval/questions.jsonl).")
@click.pass_context
def impact(ctx: click.Context, doc_id: str | None, as_json: bool, questions: str | None) -> None:
    """Review what the latest amending act changed: provisions, answers, obligation dates.

    Example: python -m ingest impact > impact.md
    """
    from ingest.impact import DEFAULT_QUESTIONS

    try:
        result = maintain.impact(_settings(ctx), doc_id=doc_id,
                                 questions=Path(questions) if questions else DEFAULT_QUESTIONS)
    except KbError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.to_markdown())
