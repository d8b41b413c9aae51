"""``python -m kb register …``: the AI system register from the terminal.

Each command parses its arguments, calls one :class:`kb.register.Register` method and
prints the result (``--json``: the documented shape).  A KbError exits 1 with its line.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import click

from kb.config import Settings
from kb.console import ISO_DATE
from kb.errors import KbError
from kb.obligations.assess import RISK_LEVELS, summary, tier_label
from kb.register.export import import_json, markdown_pages, to_csv, to_json, to_markdown
from kb.register.records import Deadline, Entry, Recheck, Status, System, Use
from kb.register.register import DEFAULT_WITHIN_DAYS, Register


def _open() -> Register:
    return Register.open(Settings.from_env())


def _fail(error: KbError):
    raise click.ClickException(str(error)) from None


def _facts(pairs: tuple[str, ...]) -> dict[str, str] | None:
    facts = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=yes|no, got {pair!r}", param_hint="--fact")
        facts[key.strip()] = value.strip()
    return facts or None


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def _label(value: str) -> str:
    return value.replace("_", " ")


def format_system_line(s: System) -> str:
    flag = "  NEEDS REVIEW" if s.needs_review else ""
    deadline = f", next deadline {s.next_deadline}" if s.next_deadline else ""
    return (f"{s.id:>4}  {s.name} — {tier_label(s.risk_level)}; {_label(s.status.value)}; "
            f"{s.use.value}; owner {s.owner}{deadline}{flag}")


def format_entry(entry: Entry) -> str:
    """A system for the terminal: details, assessment with the quoted law, pending changes,
    checklist with evidence and the decision log."""
    s, a = entry.system, entry.snapshot
    lines = [f"System {s.id}: {s.name}",
             f"Risk level: {tier_label(s.risk_level)} · status {_label(s.status.value)} · "
             f"use {s.use.value} · version {s.version}"
             + (" · NEEDS REVIEW" if s.needs_review else ""),
             f"Owner: {s.owner}" + (f" ({s.contact})" if s.contact else "")
             + (f" · vendor {s.vendor}" if s.vendor else ""),
             ]
    if s.channels or s.countries:
        lines.append(f"Used in: {', '.join(s.channels) or '–'}; countries "
                     f"{', '.join(s.countries) or '–'}")
    lines += [textwrap.fill(f"Description: {s.description}", 100, subsequent_indent="  "), "",
              f"Assessment #{a.id} ({a.origin}, {a.made_at}; corpus {a.corpus_version}, law as "
              f"of {a.as_of}):",
              textwrap.fill("Our summary (plain language, not the legal text): "
                            + summary(a.data), 100, initial_indent="  ",
                            subsequent_indent="  ")]
    for r in a.reasons:
        lines.append(f"  {r['ref']} — {r['why']}")
        lines.append(textwrap.indent(textwrap.fill(r["text"], 92), "      "))
    if entry.diff is not None and entry.pending is not None:
        p = entry.pending
        lines += ["", f"Needs review — recheck #{p.id} ({p.made_at}; corpus {p.corpus_version}, "
                      f"law as of {p.as_of}):"]
        lines += [f"  - {line}" for line in entry.diff.lines()]
        lines.append(f"  Adopt it with: python -m kb register reassess {s.id}")
    lines += ["", "Checklist:"]
    for t in entry.checklist:
        evidence = f" — {t.evidence}" if t.evidence else ""
        evidence += f" <{t.link}>" if t.link else ""
        lines.append(f"  [{'x' if t.done else ' '}] {t.obligation_id}: {t.title} "
                     f"({', '.join(t.refs)}; applies from {t.due}){evidence}")
    lines += ["", "Decision log:"]
    for d in entry.log:
        move = f"{_label(d.from_status) or '–'} → {_label(d.to_status)}" \
            if d.from_status != d.to_status else _label(d.to_status)
        comment = f": {d.comment}" if d.comment else ""
        lines.append(f"  {d.at}  {d.by}  {_label(d.action)} ({move}){comment}")
    return "\n".join(lines)


def format_recheck(report: Recheck) -> str:
    lines = [f"Rechecked {report.checked} systems on corpus {report.corpus_version or '–'}, "
             f"law as of {report.as_of}: {len(report.flagged)} newly need review, "
             f"{len(report.still_flagged)} still do, {len(report.cleared)} cleared "
             f"({report.seconds:.1f} s)."]
    for system_id, name, diff in report.flagged:
        lines.append(f"- {system_id} {name}:")
        lines += [f"    {line}" for line in diff.lines()]
    for system_id, error in report.errors:
        lines.append(f"! {system_id}: {error}")
    return "\n".join(lines)


def format_deadline(d: Deadline) -> str:
    flag = " (needs review)" if d.needs_review else ""
    done = "[x]" if d.done else "[ ]"
    return (f"{d.due} ({d.days_left:>3} days) {done} system {d.system_id} {d.system} "
            f"[{d.owner}]: {d.title} — {', '.join(d.refs)}{flag}")


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the documented JSON shape.")
by_option = click.option("--by", default="", metavar="NAME",
                         help="Your name, for the decision log (default: the owning team).")


def _owner_if(register: Register, system_id: int, by: str) -> str:
    return by or register.get(system_id).system.owner


def _entry_out(entry: Entry, as_json: bool) -> None:
    if as_json:
        _echo_json(entry.to_dict())
    else:
        click.echo(format_entry(entry))


def _act(system_id: int, by: str, as_json: bool, action: Callable[[Register, str], Entry],
         message: Callable[[Entry], str]) -> None:
    """Do ``action(register, by)`` on a system, ``by`` defaulting to its owning team; print
    the entry's JSON (``--json``) or ``message(entry)``."""
    try:
        register_ = _open()
        entry = action(register_, _owner_if(register_, system_id, by))
    except KbError as error:
        _fail(error)
    if as_json:
        _echo_json(entry.to_dict())
    else:
        click.echo(message(entry))


@click.group()
def register() -> None:
    """Keep the register of AI systems: add, review, recheck and export.

    Example: python -m kb register list --needs-review
    """


@register.command()
@click.option("--name", required=True, help="The system's name.")
@click.option("--description", required=True, help="What it does, for whom, with which data.")
@click.option("--owner", required=True, help="The owning team.")
@click.option("--role", default=None, metavar="ROLE",
              help="provider, deployer, … (default: read from the description).")
@click.option("--vendor", default="", help="The vendor, when deployed from one.")
@click.option("--contact", default="", help="A contact (e-mail or name).")
@click.option("--channel", "channels", multiple=True,
              help="Where it is used, e.g. web chat (repeatable).")
@click.option("--country", "countries", multiple=True, help="A country it is used in "
              "(repeatable).")
@click.option("--use", default="planned", type=click.Choice([u.value for u in Use]),
              help="Status of use.")
@click.option("--fact", "facts", multiple=True, metavar="KEY=yes|no",
              help="Answer a deciding fact (repeatable).")
@click.option("--as-of", default=None, type=ISO_DATE, help="Assess under the law in force on "
              "this date (default: today).")
@by_option
@json_option
def add(name, description, owner, role, vendor, contact, channels, countries, use, facts, as_of,
        by, as_json) -> None:
    """Assess a system and add it to the register as a draft; prints its id.

    Example: python -m kb register add --name "Loan scorer" --description "Our bank scores
    loan applicants" --role deployer --owner "Credit team"
    """
    try:
        entry = _open().add(name=name, description=description, owner=owner, by=by,
                            role=role, contact=contact, vendor=vendor, channels=channels,
                            countries=countries, use=use, facts=_facts(facts), as_of=as_of)
    except KbError as error:
        _fail(error)
    if as_json:
        _echo_json(entry.to_dict())
        return
    s = entry.system
    click.echo(f"Added system {s.id}: {s.name} — {tier_label(s.risk_level)} (draft). "
               f"Show it with: python -m kb register show {s.id}")


@register.command(name="list")
@click.option("--status", default=None, type=click.Choice([s.value for s in Status]),
              help="Only systems with this review status.")
@click.option("--tier", default=None, type=click.Choice(RISK_LEVELS),
              help="Only systems with this risk level.")
@click.option("--owner", default=None, help="Only systems of this team.")
@click.option("--use", default=None, type=click.Choice([u.value for u in Use]),
              help="Only systems with this status of use.")
@click.option("--needs-review", is_flag=True, help="Only systems a recheck flagged.")
@click.option("--search", default=None, help="Text in the name, description, owner or vendor.")
@json_option
def list_(status, tier, owner, use, needs_review, search, as_json) -> None:
    """List the registered systems with tier, status, owner and next deadline.

    Example: python -m kb register list --tier high_risk --json
    """
    try:
        systems = _open().list(status=status, tier=tier, owner=owner, use=use,
                               needs_review=True if needs_review else None, search=search)
    except KbError as error:
        _fail(error)
    if as_json:
        _echo_json([s.to_dict() for s in systems])
        return
    for s in systems:
        click.echo(format_system_line(s))
    if not systems:
        click.echo("No systems.")


@register.command()
@click.argument("system_id", type=int)
@click.option("--markdown", is_flag=True, help="Print the system's Markdown page.")
@json_option
def show(system_id: int, markdown: bool, as_json: bool) -> None:
    """Show a system: assessment with quoted law, checklist, pending changes, decision log.

    Example: python -m kb register show 3
    """
    try:
        entry = _open().get(system_id)
    except KbError as error:
        _fail(error)
    if markdown:
        click.echo(to_markdown(entry), nl=False)
    else:
        _entry_out(entry, as_json)


@register.command()
@click.argument("system_id", type=int)
@click.option("--comment", default="", help="A note for the reviewer.")
@by_option
@json_option
def submit(system_id: int, comment: str, by: str, as_json: bool) -> None:
    """Submit a draft (or a system sent back for changes) for review.

    Example: python -m kb register submit 3 --by "Ann Lee"
    """
    _act(system_id, by, as_json,
         lambda register_, by: register_.submit(system_id, by=by, comment=comment),
         lambda entry: f"System {system_id} submitted for review.")


@register.command()
@click.argument("system_id", type=int)
@click.option("--decision", required=True, type=click.Choice(["approve", "changes"]),
              help="approve, or changes to request changes.")
@click.option("--comment", default="", help="Why (required to request changes).")
@click.option("--by", required=True, metavar="NAME", help="Your name, for the decision log.")
@click.option("--token", prompt="Reviewer token", hide_input=True,
              help="The reviewer token (KB_REVIEWER_TOKEN); asked for when not given.")
@json_option
def review(system_id: int, decision: str, comment: str, by: str, token: str,
           as_json: bool) -> None:
    """Approve a submitted system, or request changes (reviewers; needs the reviewer token).

    Example: python -m kb register review 3 --decision changes --comment "Add the FRIA" --by Kim
    """
    try:
        entry = _open().review(system_id, decision=decision, comment=comment, by=by,
                               token=token)
    except KbError as error:
        _fail(error)
    _entry_out(entry, as_json) if as_json else click.echo(
        f"System {system_id}: {_label(entry.system.status.value)}.")


@register.command()
@click.argument("system_id", type=int)
@click.option("--comment", default="", help="Why it is reopened.")
@by_option
@json_option
def reopen(system_id: int, comment: str, by: str, as_json: bool) -> None:
    """Put a submitted or approved system back to draft.

    Example: python -m kb register reopen 3 --comment "New channel" --by "Ann Lee"
    """
    _act(system_id, by, as_json,
         lambda register_, by: register_.reopen(system_id, by=by, comment=comment),
         lambda entry: f"System {system_id}: draft.")


@register.command()
@click.argument("system_id", type=int)
@click.argument("obligation")
@click.option("--evidence", default="", help="What was done (free text).")
@click.option("--link", default="", help="A link to the evidence (https://…).")
@click.option("--undo", is_flag=True, help="Untick the obligation.")
@by_option
@json_option
def tick(system_id: int, obligation: str, evidence: str, link: str, undo: bool, by: str,
         as_json: bool) -> None:
    """Tick an obligation of a system's checklist done, with evidence.

    Example: python -m kb register tick 3 ai-literacy-measures --evidence "Training held"
    """
    _act(system_id, by, as_json,
         lambda register_, by: register_.tick(system_id, obligation, by=by, done=not undo,
                                              evidence=evidence, link=link),
         lambda entry: f"System {system_id}: {obligation} {'unticked' if undo else 'ticked'}.")


@register.command()
@click.argument("system_id", type=int)
@click.option("--name", default=None, help="A new name.")
@click.option("--owner", default=None, help="A new owning team.")
@click.option("--contact", default=None, help="A new contact.")
@click.option("--vendor", default=None, help="A new vendor.")
@click.option("--channel", "channels", multiple=True,
              help="Where it is used (repeatable; replaces the list).")
@click.option("--country", "countries", multiple=True,
              help="A country it is used in (repeatable; replaces the list).")
@click.option("--use", default=None, type=click.Choice([u.value for u in Use]),
              help="Status of use (retired systems are no longer rechecked).")
@by_option
@json_option
def update(system_id, name, owner, contact, vendor, channels, countries, use, by,
           as_json) -> None:
    """Change what a system is: name, owner, contact, vendor, channels, countries, use.

    Example: python -m kb register update 3 --use live --country DE --country AT
    """
    changes = {key: value for key, value in (("name", name), ("owner", owner),
                                             ("contact", contact), ("vendor", vendor),
                                             ("use", use)) if value is not None}
    if channels:
        changes["channels"] = list(channels)
    if countries:
        changes["countries"] = list(countries)
    _act(system_id, by, as_json,
         lambda register_, by: register_.update(system_id, by=by, **changes),
         lambda entry: f"System {system_id} updated.")


@register.command()
@click.argument("system_id", type=int)
@click.argument("text")
@by_option
@json_option
def comment(system_id: int, text: str, by: str, as_json: bool) -> None:
    """Add a comment to a system's decision log.

    Example: python -m kb register comment 3 "Vendor contract signed" --by "Ann Lee"
    """
    _act(system_id, by, as_json,
         lambda register_, by: register_.comment(system_id, by=by, text=text),
         lambda entry: f"System {system_id}: comment added.")


@register.command()
@click.argument("system_id", type=int)
@click.option("--description", default=None, help="A new description.")
@click.option("--role", default=None, metavar="ROLE", help="A new role.")
@click.option("--fact", "facts", multiple=True, metavar="KEY=yes|no",
              help="Answer a deciding fact (repeatable; replaces the stored answers).")
@click.option("--as-of", default=None, type=ISO_DATE, help="Law in force on this date.")
@click.option("--comment", default="", help="Why.")
@by_option
@json_option
def reassess(system_id, description, role, facts, as_of, comment, by, as_json) -> None:
    """Adopt a recheck's new assessment, or assess again with new inputs (back to draft).

    Example: python -m kb register reassess 3 --by "Ann Lee"
    """
    _act(system_id, by, as_json,
         lambda register_, by: register_.reassess(system_id, by=by, comment=comment,
                                                  description=description, role=role,
                                                  facts=_facts(facts), as_of=as_of),
         lambda entry: f"System {system_id}: new assessment #{entry.snapshot.id} "
                       f"({tier_label(entry.system.risk_level)}), back to draft.")


@register.command()
@click.option("--as-of", default=None, type=ISO_DATE,
              help="Assess under the law in force on this date (default: today).")
@json_option
def recheck(as_of: str | None, as_json: bool) -> None:
    """Re-assess every system that is not retired on the current corpus; flag changes.

    Example: python -m kb register recheck --json
    """
    try:
        report = _open().recheck(as_of=as_of)
    except KbError as error:
        _fail(error)
    if as_json:
        _echo_json(report.to_dict())
    else:
        click.echo(format_recheck(report))


@register.command()
@click.option("--within", default=DEFAULT_WITHIN_DAYS, show_default=True,
              type=click.IntRange(0, 3650), help="Days ahead to look.")
@click.option("--as-of", default=None, type=ISO_DATE, help="From this date (default: today).")
@click.option("--all", "include_done", is_flag=True, help="Include obligations ticked done.")
@json_option
def deadlines(within: int, as_of: str | None, include_done: bool, as_json: bool) -> None:
    """List obligations that start to apply within N days, soonest first.

    Example: python -m kb register deadlines --within 180 --as-of 2027-06-01
    """
    try:
        found = _open().deadlines(within_days=within, as_of=as_of, include_done=include_done)
    except KbError as error:
        _fail(error)
    if as_json:
        _echo_json([d.to_dict() for d in found])
        return
    for d in found:
        click.echo(format_deadline(d))
    if not found:
        click.echo(f"No obligation starts to apply within {within} days.")


@register.command()
@click.option("--format", "fmt", default="json", show_default=True,
              type=click.Choice(["json", "csv", "markdown"]),
              help="json (the lossless backup), csv (one row per system) or markdown (one "
                   "page per system).")
@click.option("--output", default=None, type=click.Path(path_type=Path),
              help="Write to this file (markdown: a directory gets one file per system).")
def export(fmt: str, output: Path | None) -> None:
    """Export the register as JSON (backup), CSV or Markdown.

    Example: python -m kb register export --format json --output register-backup.json
    """
    try:
        register_ = _open()
        if fmt == "json":
            text = to_json(register_)
        else:
            entries = [register_.get(s.id) for s in register_.list()]
            if fmt == "markdown" and output is not None and output.is_dir():
                for entry in entries:
                    (output / f"ai-system-{entry.system.id}.md").write_text(
                        to_markdown(entry), encoding="utf-8")
                click.echo(f"Wrote {len(entries)} pages to {output}.", err=True)
                return
            text = to_csv(entries) if fmt == "csv" else markdown_pages(entries)
    except KbError as error:
        _fail(error)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)


@register.command(name="import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@json_option
def import_(file, as_json: bool) -> None:
    """Restore a JSON export into an empty register (ids, snapshots and logs kept).

    Example: python -m kb register import register-backup.json
    """
    try:
        ids = import_json(_open(), file.read(), source=getattr(file, "name", "import"))
    except KbError as error:
        _fail(error)
    if as_json:
        _echo_json({"imported": ids})
    else:
        click.echo(f"Imported {len(ids)} systems.")
