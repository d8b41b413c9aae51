"""The register out and back in: CSV (one row per system), Markdown (one page per system,
for a governance ticket or an audit file) and JSON (the lossless backup), and reading that
JSON back for ``import``.

Every CSV cell goes through :func:`kb.safety.csv_cell`; every text in Markdown through
:func:`kb.answers.export.escape_markdown`, so typed HTML or Markdown shows as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from kb.answers.export import escape_markdown
from kb.errors import BadInput
from kb.obligations.assess import MAX_DESCRIPTION_CHARS, summary, tier_label
from kb.obligations.schema import describe
from kb.register.records import LIMITS, Entry, Status, Use, link_field, list_field
from kb.register.register import Register
from kb.register.store import SCHEMA_VERSION
from kb.safety import check_field, csv_text

FORMAT = "kb-register"
CSV_COLUMNS = (
    "id", "name", "owner", "contact", "vendor", "role", "channels", "countries", "use",
    "status", "risk_level", "tiers", "deciding_refs", "needs_review", "next_deadline",
    "obligations_done", "obligations", "corpus_version", "as_of", "created_at", "updated_at",
    "description",
)
PAGE_BREAK = "\n\n---\n\n"  # between the pages of a Markdown export of several systems


def to_csv(entries: Sequence[Entry]) -> str:
    """One row per system with :data:`CSV_COLUMNS`; formula cells neutralised."""
    rows = []
    for e in entries:
        s, a = e.system, e.snapshot
        rows.append([
            s.id, s.name, s.owner, s.contact, s.vendor, a.data["role"], "; ".join(s.channels),
            "; ".join(s.countries), s.use.value, s.status.value, s.risk_level,
            "; ".join(a.tiers), "; ".join(r["ref"] for r in a.reasons),
            "yes" if s.needs_review else "no", s.next_deadline,
            sum(t.done for t in e.checklist), len(e.checklist), a.corpus_version, a.as_of,
            s.created_at, s.updated_at, s.description,
        ])
    return csv_text(CSV_COLUMNS, rows)


def _md(text: object) -> str:
    return escape_markdown(str(text))


def _cell(text: object) -> str:
    return _md(text).replace("|", "\\|").replace("  \n", " ")


def _quote(text: str) -> list[str]:
    return ["> " + _md(line) if line.strip() else ">" for line in text.splitlines()]


def to_markdown(entry: Entry) -> str:
    """One system as a Markdown page: what it is, where it stands, the assessment with the
    quoted law, the checklist with evidence, pending changes and the decision log."""
    s, a = entry.system, entry.snapshot
    data = a.data
    lines = [f"# AI system {s.id}: {_md(s.name)}", "",
             f"**Status:** {s.status.value.replace('_', ' ')} · **Risk level:** "
             f"{tier_label(s.risk_level)} · **Use:** {s.use.value}"
             + (" · **Needs review**" if s.needs_review else ""), "",
             "| Field | Value |", "|---|---|",
             f"| Owner | {_cell(s.owner)} |", f"| Contact | {_cell(s.contact)} |",
             f"| Role | {_cell(data['role'].replace('_', ' '))} |",
             f"| Vendor | {_cell(s.vendor)} |",
             f"| Channels | {_cell(', '.join(s.channels))} |",
             f"| Countries | {_cell(', '.join(s.countries))} |",
             f"| Next deadline | {s.next_deadline or '–'} |",
             f"| Registered | {s.created_at} |", f"| Last change | {s.updated_at} |", "",
             "## Description", "", *_quote(s.description), "",
             "## Assessment", "",
             f"Made {a.made_at} on corpus version `{a.corpus_version or 'unknown'}`, law as of "
             f"{a.as_of} ({a.origin}). Plain-language summaries are ours, not legal advice; "
             "the quoted provisions are authoritative.", "",
             f"**Our summary:** {_md(summary(data))}", ""]
    if data.get("facts"):
        facts = ", ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'no'}"
                          for k, v in data["facts"].items())
        lines += [f"Deciding facts: {_md(facts)}", ""]
    for r in a.reasons:
        lines += [f"### {_md(r['ref'])}", "", _md(r["why"]), "", *_quote(r["text"]), ""]
    for c in data.get("exceptions_considered", []):
        lines += [f"- Considered **{_md(c['ref'])}**: {_md(c['why'])}"]
    if data.get("exceptions_considered"):
        lines.append("")
    if entry.diff is not None and entry.pending is not None:
        p = entry.pending
        lines += ["## Needs review: the law now says something else", "",
                  f"Recheck of {p.made_at} (corpus version `{p.corpus_version}`, law as of "
                  f"{p.as_of}):", ""]
        lines += [f"- {_md(line)}" for line in entry.diff.lines()] + [""]
        for old, new in entry.diff.reasons_changed:
            if old.get("text") != new.get("text"):
                lines += [f"{_md(new['ref'])} before:", "", *_quote(old["text"]), "",
                          "now:", "", *_quote(new["text"]), ""]
    lines += ["## Obligations", "", "| Done | Obligation | Legal basis | Applies from | Evidence |",
              "|---|---|---|---|---|"]
    for t in entry.checklist:
        evidence = _cell(t.evidence) + (f" ({_cell(t.link)})" if t.link else "")
        if t.done:
            evidence += f" — {_cell(t.by)}, {t.at}"
        lines.append(f"| {'yes' if t.done else 'no'} | {_cell(t.title)} | "
                     f"{_cell(', '.join(t.refs))} | {t.due} | {evidence} |")
    lines += ["", "## Decision log", "", "| When | Who | Action | Status | Comment |",
              "|---|---|---|---|---|"]
    for d in entry.log:
        move = (f"{d.from_status or '–'} → {d.to_status}" if d.from_status != d.to_status
                else d.to_status)
        lines.append(f"| {d.at} | {_cell(d.by)} | {_cell(d.action.replace('_', ' '))} | "
                     f"{_cell(move.replace('_', ' '))} | {_cell(d.comment)} |")
    return "\n".join(lines) + "\n"


def markdown_pages(entries: Sequence[Entry]) -> str:
    """Several systems, one page each, separated by horizontal rules."""
    return PAGE_BREAK.join(to_markdown(e).rstrip("\n") for e in entries) + "\n"


def to_json(register: Register, *, now: datetime | None = None) -> str:
    """The whole register as JSON: the lossless backup that :func:`import_json` restores."""
    data = {"format": FORMAT, "schema": SCHEMA_VERSION,
            "exported_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "systems": register.dump()}
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


# --- import ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Snapshot(_Strict):
    id: int
    made_at: str
    corpus_version: str
    as_of: str
    origin: str
    assessment: dict[str, Any]

    @field_validator("assessment")
    @classmethod
    def _shape(cls, value: dict[str, Any]) -> dict[str, Any]:
        needed = {"risk_level", "tiers", "reasons", "obligations", "as_of", "role",
                  "description"}
        missing = needed - set(value)
        if missing:
            raise ValueError(f"assessment lacks {', '.join(sorted(missing))}")
        for o in value["obligations"]:
            if not {"id", "title", "refs", "applies_from"} <= set(o):
                raise ValueError(f"obligation {o!r} lacks id, title, refs or applies_from")
        return value


class _Tick(_Strict):
    obligation_id: str
    done: bool
    evidence: str
    link: str
    by: str
    at: str

    @model_validator(mode="after")
    def _limits(self) -> _Tick:
        check_field("evidence", self.evidence, LIMITS["evidence"], multiline=True)
        link_field(self.link)
        return self


class _Decision(_Strict):
    id: int
    at: str
    by: str
    action: str
    from_status: str
    to_status: str
    comment: str
    detail: dict[str, Any]

    @model_validator(mode="after")
    def _limits(self) -> _Decision:
        check_field("comment", self.comment, LIMITS["comment"], multiline=True)
        return self


class _System(_Strict):
    id: int
    name: str
    owner: str
    contact: str
    description: str
    role: str
    vendor: str
    channels: list[str]
    countries: list[str]
    use: str
    status: str
    facts: dict[str, bool]
    assessment: int
    pending: int | None
    created_at: str
    updated_at: str
    version: int
    assessments: list[_Snapshot]
    checklist: list[_Tick]
    log: list[_Decision]

    @model_validator(mode="after")
    def _check(self) -> _System:
        for name in ("name", "owner", "contact", "vendor"):
            check_field(name, getattr(self, name), LIMITS[name], required=name in ("name",
                                                                                  "owner"))
        check_field("description", self.description, MAX_DESCRIPTION_CHARS, required=True)
        list_field("channels", self.channels)
        list_field("countries", self.countries)
        for value, choices in ((self.use, Use), (self.status, Status)):
            if value not in {c.value for c in choices}:
                raise ValueError(f"unknown {choices.__name__.lower()} {value!r}; valid: "
                                 f"{', '.join(c.value for c in choices)}")
        ids = {a.id for a in self.assessments}
        if self.assessment not in ids or (self.pending is not None and self.pending not in ids):
            raise ValueError("assessment and pending must be ids of its assessments")
        return self


class _Backup(_Strict):
    format: str
    schema_: int
    exported_at: str
    systems: list[_System]

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value != FORMAT:
            raise ValueError(f"not a register export (format {value!r}, expected {FORMAT!r})")
        return value


def read_json(text: str, *, source: str = "import") -> list[dict]:
    """The systems of a JSON export, validated; BadInput naming the system and the field."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"{source}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{source}: not a register export (expected a JSON object)")
    if data.get("schema", 0) > SCHEMA_VERSION:
        raise BadInput(f"{source}: written by a newer version (register schema "
                       f"{data.get('schema')}, this one knows {SCHEMA_VERSION})")
    data = {("schema_" if k == "schema" else k): v for k, v in data.items()}
    try:
        backup = _Backup.model_validate(data)
    except ValidationError as exc:
        where = _where(exc, data)
        what = re.sub(r"^systems\.\d+\.?", "", describe(exc)).lstrip(": ")
        raise BadInput(f"{source}: {where}{what}") from None
    except (BadInput, ValueError) as error:
        raise BadInput(f"{source}: {error}") from None
    ids = [s.id for s in backup.systems]
    if len(set(ids)) != len(ids):
        raise BadInput(f"{source}: system ids repeat")
    return [s.model_dump() for s in backup.systems]


def _where(exc: ValidationError, data: dict) -> str:
    loc = exc.errors()[0]["loc"]
    if len(loc) >= 2 and loc[0] == "systems" and isinstance(loc[1], int):
        try:
            system = data["systems"][loc[1]]
            return f"system {system.get('id', loc[1] + 1)} ({str(system.get('name'))[:40]!r}): "
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    return ""


def import_json(register: Register, text: str, *, source: str = "import") -> list[int]:
    """Restore a JSON export into an empty register; returns the system ids."""
    return register.restore(read_json(text, source=source))
