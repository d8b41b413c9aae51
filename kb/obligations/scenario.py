"""The CX scenario finder: a role and a system in, a dated checklist out.

In: the systems of ``kb/obligations/systems.yaml`` (validated by pydantic at load time) and
the dated catalogue of :mod:`kb.obligations.catalogue`; out: a :class:`Checklist` with a
status per obligation, the open questions, and Markdown/CSV/JSON exports.  Bad roles,
systems, facts or dates raise :class:`kb.errors.UnknownChoice` / ``BadQuestion``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from kb.errors import CatalogueError, UnknownChoice
from kb.law.dates import SCOPES, ApplicationRule, parse_date
from kb.obligations.catalogue import (
    FACT_KEY,
    ROLES,
    Obligation,
    ObligationSpec,
    dated,
    load_catalogue,
    match_obligations,
    obligation_json,
)
from kb.obligations.schema import one_line, validate
from kb.safety import csv_text

log = logging.getLogger(__name__)

SYSTEMS_PATH = Path(__file__).with_name("systems.yaml")

_ALWAYS = frozenset({"ai-literacy-measures"})  # kept even when a prohibition applies
_PROHIBITED_NOTE = (
    "A prohibited practice applies: the system must not be offered or used as described. "
    "Other obligations are listed once an exception in the open questions applies."
)
_STATUS_RANK = {"prohibited": 0, "applies": 1, "applies from": 2, "depends on": 3}


@dataclass(frozen=True, slots=True)
class System:
    """A CX system of the scenario finder and what decides its obligations."""

    key: str
    label: str
    scopes: tuple[str, ...]  # scopes of kb.law.dates it may fall under
    annex_iii: tuple[str, ...]  # Annex III points it may fall under
    obligations: tuple[str, ...]  # catalogue ids to check, filtered by role and facts
    given: tuple[tuple[str, bool], ...] = ()  # facts true or false by definition
    deciding: tuple[str, ...] = ()  # facts that decide the classification: asked first
    notes: tuple[str, ...] = ()
    example: str = ""  # a description to try in the assessment ("Describe your system")


# --- systems.yaml -----------------------------------------------------------------------


class _SystemEntry(BaseModel):
    """One system as written; ``@name`` items of ``obligations`` are expanded groups."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    label: str
    scopes: tuple[str, ...]
    annex_iii: tuple[str, ...] = ()
    obligations: tuple[str, ...]
    given: dict[str, bool] = {}
    deciding: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    example: str = ""

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not FACT_KEY.match(key):
            raise ValueError(f"bad system key {key!r}; use lower_case_with_underscores")
        return key

    @field_validator("label", "example", mode="before")
    @classmethod
    def _label(cls, value: object) -> str:
        return one_line(value)

    @field_validator("notes", mode="before")
    @classmethod
    def _notes(cls, value: object) -> object:
        return [one_line(v) for v in value] if isinstance(value, list) else value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        for scope in scopes:
            if scope not in SCOPES:
                raise ValueError(f"unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
        return scopes


class _SystemsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: dict[str, tuple[str, ...]] = {}
    systems: list[Any]

    @model_validator(mode="after")
    def _some(self) -> _SystemsFile:
        if not self.systems:
            raise ValueError("no systems listed")
        return self


def load_systems(path: Path | str | None = None, *,
                 catalogue: Sequence[ObligationSpec] | None = None) -> dict[str, System]:
    """Read and validate ``systems.yaml``: every obligation id, group and fact must exist in
    the catalogue (default ``obligations.yaml``)."""
    path = Path(path) if path is not None else SYSTEMS_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read systems file {path}: {exc}") from exc
    return parse_systems(data, catalogue or load_catalogue(), source=path.name)


def parse_systems(data: object, catalogue: Sequence[ObligationSpec], *,
                  source: str = "systems.yaml") -> dict[str, System]:
    """Validate parsed ``systems.yaml`` against the catalogue's ids and facts."""
    top = validate(_SystemsFile, data, source=source, where="file")
    ids = {o.id for o in catalogue}
    facts = {f.key for o in catalogue for f in o.conditions + o.unless}
    systems: dict[str, System] = {}
    for raw in top.systems:
        where = f"system {raw.get('key')!r}" if isinstance(raw, dict) else "system"
        entry = validate(_SystemEntry, raw, source=source, where=where)
        expanded: list[str] = []
        for item in entry.obligations:
            if item.startswith("@"):
                if item[1:] not in top.groups:
                    raise CatalogueError(f"{source}: {where}: unknown group {item!r}")
                expanded += top.groups[item[1:]]
            else:
                expanded.append(item)
        unknown = [i for i in expanded if i not in ids]
        if unknown:
            raise CatalogueError(f"{source}: {where}: unknown obligation id {unknown[0]!r}")
        bad = [k for k in (*entry.given, *entry.deciding) if k not in facts]
        if bad:
            raise CatalogueError(f"{source}: {where}: unknown fact {bad[0]!r}")
        if entry.key in systems:
            raise CatalogueError(f"{source}: duplicate system key {entry.key!r}")
        systems[entry.key] = System(
            key=entry.key, label=entry.label, scopes=entry.scopes, annex_iii=entry.annex_iii,
            obligations=tuple(expanded), given=tuple(entry.given.items()),
            deciding=entry.deciding, notes=entry.notes, example=entry.example,
        )
    return systems


def load_groups(path: Path | str | None = None) -> dict[str, tuple[str, ...]]:
    """The named lists of obligation ids of ``systems.yaml`` (``@high_risk`` …)."""
    path = Path(path) if path is not None else SYSTEMS_PATH
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(validate(_SystemsFile, data, source=path.name, where="file").groups)


SYSTEMS: dict[str, System] = load_systems()
GROUPS: dict[str, tuple[str, ...]] = load_groups()


# --- checklists -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One obligation of a scenario with its status on the checklist date."""

    obligation: Obligation
    status: str  # "applies", "applies from <date>", "depends on: <question>", "prohibited"
    date: str  # ISO date the obligation applies from


@dataclass(frozen=True, slots=True)
class Checklist:
    """What a role must do for a system, as of a date, and what is still to be asked."""

    role: str
    system: str  # the system label
    as_of: str
    items: tuple[ChecklistItem, ...]
    open_questions: tuple[str, ...]
    notes: tuple[str, ...] = ()
    free_text: str = ""

    def to_markdown(self) -> str:
        """A Markdown checklist: a table of items, then open questions and notes."""
        title = f"# AI Act checklist: {md(self.system)}, {md(self.role.replace('_', ' '))}"
        lines = [title, ""]
        if self.free_text:
            lines += [f"System described as: {md(self.free_text)}", ""]
        lines += [
            f"Status as of {self.as_of}. Plain-language summaries, not legal advice: the cited "
            "provisions are authoritative.",
            "",
        ]
        lines += checklist_table(self.items)
        if self.open_questions:
            lines += ["", "## Open questions", ""] + [f"- {md(q)}" for q in self.open_questions]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {md(n)}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV with one row per item: status, id, title, summary, refs, applies_from, roles
        (formula cells neutralised, :func:`kb.safety.csv_cell`)."""
        header = ["status", "id", "title", "summary", "refs", "applies_from", "roles"]
        return csv_text(header, ([item.status, item.obligation.id, item.obligation.title,
                                  item.obligation.summary, "; ".join(item.obligation.refs),
                                  item.date, " ".join(item.obligation.roles)]
                                 for item in self.items))

    def to_dict(self) -> dict:
        """JSON-ready form: items carry the obligation JSON shape plus status."""
        return {
            "role": self.role,
            "system": self.system,
            "as_of": self.as_of,
            "items": [{**obligation_json(i.obligation), "status": i.status} for i in self.items],
            "open_questions": list(self.open_questions),
            "notes": list(self.notes),
        }


def checklist_table(items: Sequence[ChecklistItem]) -> list[str]:
    """The Markdown table of checklist items (status, obligation, legal basis, date)."""
    lines = ["| Status | Obligation | Legal basis | Applies from |", "|---|---|---|---|"]
    for item in items:
        o = item.obligation
        cell = f"**{md(o.title)}**: {md(o.summary)}"
        lines.append(f"| {md(item.status)} | {cell} | {md(', '.join(o.refs))} | {item.date} |")
    if not items:
        lines.append("| none | No obligation in the catalogue matches. | | |")
    return lines


def md(text: str) -> str:
    """Escape text for a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


@lru_cache(maxsize=1)
def _default_specs() -> tuple[ObligationSpec, ...]:
    return tuple(load_catalogue())


def scenario(
    role: str,
    system: str,
    *,
    table: Sequence[ApplicationRule] | None,
    facts: Mapping[str, bool] | None = None,
    free_text: str = "",
    as_of: str | None = None,
    catalogue: Sequence[ObligationSpec] | None = None,
    chapter_of: Callable[[str], str] | None = None,
) -> Checklist:
    """The checklist of a role for a CX system (a key of :data:`SYSTEMS`) as of a date.

    ``facts`` answer the catalogue's fact questions by key and override the system's own
    (e.g. ``{"high_risk": False}``).  An unanswered condition gives "depends on: <question>";
    an unanswered exception is assumed not to apply and is listed as an open question.
    ``catalogue`` defaults to ``kb/obligations/obligations.yaml``, dated with ``table``; a
    catalogue of :class:`Obligation` records is used as dated.
    """
    if role not in ROLES:
        raise UnknownChoice(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
    if system not in SYSTEMS:
        raise UnknownChoice(f"unknown system {system!r}; valid: {', '.join(SYSTEMS)}")
    as_of = parse_date(as_of)
    spec = SYSTEMS[system]
    obligations = {o.id: o for o in dated_catalogue(catalogue, table, chapter_of)}
    known = {f.key: f for o in obligations.values() for f in o.conditions + o.unless}
    for key in facts or {}:
        if key not in known:
            raise UnknownChoice(f"unknown fact {key!r}; valid: {', '.join(sorted(known))}")
    ids = list(spec.obligations)
    if system == "other" and free_text.strip():
        ids += [o.id for o in match_obligations(free_text, list(obligations.values()), limit=10)]
    selected = [obligations[i] for i in dict.fromkeys(ids)]
    answers = _answers(spec, selected, facts or {})
    items, asked = checklist_items(selected, role, answers, as_of)
    notes = list(spec.notes)
    if any(item.status == "prohibited" for item in items):
        # Other duties are moot while the practice is banned; its exception questions stay.
        items = [i for i in items if i.obligation.is_prohibition or i.obligation.id in _ALWAYS]
        notes.insert(0, _PROHIBITED_NOTE)
    deciding = [known[k].question for k in spec.deciding if k in known and k not in answers]
    questions = [q for item in items for q in asked[item.obligation.id]]
    return Checklist(
        role=role,
        system=spec.label,
        as_of=as_of,
        items=tuple(items),
        open_questions=tuple(dict.fromkeys(deciding + questions)),
        notes=tuple(notes),
        free_text=free_text.strip(),
    )


def dated_catalogue(
    catalogue: Sequence[ObligationSpec] | None,
    table: Sequence[ApplicationRule] | None,
    chapter_of: Callable[[str], str] | None = None,
) -> list[Obligation]:
    """The catalogue with dates; an already dated catalogue is used as given."""
    specs = list(catalogue) if catalogue is not None else list(_default_specs())
    if all(isinstance(o, Obligation) for o in specs):
        return specs
    if table is None:
        raise ValueError("table is required to date the catalogue (kb.law.dates.application_table)")
    return dated(specs, table, chapter_of=chapter_of)


def excluded(o: ObligationSpec, answers: Mapping[str, bool]) -> bool:
    """True when a condition is answered no or an exception is answered yes."""
    return any(answers.get(f.key) is False for f in o.conditions) or any(
        answers.get(f.key) is True for f in o.unless
    )


def _answers(spec: System, selected: Sequence[Obligation], facts: Mapping[str, bool]) -> dict:
    """The system's given facts, derived facts, then the user's answers (which win)."""
    answers = dict(spec.given)
    annex = [o for o in selected if o.id.startswith("annex-iii-")]
    # A system whose every Annex III point is ruled out cannot be high-risk under Article 6(2).
    if annex and all(excluded(o, {**answers, **facts}) for o in annex):
        answers["high_risk"] = False
    answers.update(facts)
    return answers


def checklist_items(
    selected: Sequence[Obligation], role: str, answers: Mapping[str, bool], as_of: str
) -> tuple[list[ChecklistItem], dict[str, list[str]]]:
    """The role's items, best first, and the unanswered questions of each (by id)."""
    items, asked = [], {}
    for o in selected:
        if role not in o.roles or excluded(o, answers):
            continue
        unknown = [f.question for f in o.conditions if f.key not in answers]
        asked[o.id] = unknown + [f.question for f in o.unless if f.key not in answers]
        items.append(ChecklistItem(o, _status(o, unknown, as_of), o.applies_from))
    order = {o.id: n for n, o in enumerate(selected)}
    items.sort(key=lambda i: (_rank(i.status), i.date, order[i.obligation.id]))
    return items, asked


def _status(o: Obligation, unknown: Sequence[str], as_of: str) -> str:
    if unknown:
        return f"depends on: {unknown[0]}"
    if o.applies_from > as_of:
        return f"applies from {o.applies_from}"
    return "prohibited" if o.is_prohibition else "applies"


def _rank(status: str) -> int:
    return next(rank for prefix, rank in _STATUS_RANK.items() if status.startswith(prefix))
