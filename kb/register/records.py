"""The register's records: what a system is, its assessment snapshots, its checklist, its
decision log, the changes a recheck found, and upcoming deadlines.

Frozen dataclasses built by :mod:`kb.register.register` from the rows of
:mod:`kb.register.store`; each has ``to_dict()`` giving its documented JSON shape.  The
field limits below are checked before anything is written (one-line ``BadInput``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kb.errors import BadInput, UnknownChoice
from kb.obligations.assess import MAX_DESCRIPTION_CHARS, Assessment
from kb.safety import check_field

# Limits on every typed field (characters; lists: items and characters per item).
MAX_NAME_CHARS = 200  # a system's name
MAX_OWNER_CHARS = 200  # the owning team
MAX_CONTACT_CHARS = 320  # a contact (an e-mail address is at most 320)
MAX_VENDOR_CHARS = 200
MAX_ACTOR_CHARS = 100  # the name a user types for the decision log
MAX_COMMENT_CHARS = 5000  # review comments and notes
MAX_EVIDENCE_CHARS = 5000  # evidence for a ticked obligation
MAX_LINK_CHARS = 2000  # a link to evidence (http or https)
MAX_LIST_ITEMS = 30  # channels or countries
MAX_ITEM_CHARS = 100  # one channel or country
LIMITS: dict[str, int] = {
    "name": MAX_NAME_CHARS, "owner": MAX_OWNER_CHARS, "contact": MAX_CONTACT_CHARS,
    "vendor": MAX_VENDOR_CHARS, "description": MAX_DESCRIPTION_CHARS, "by": MAX_ACTOR_CHARS,
    "comment": MAX_COMMENT_CHARS, "evidence": MAX_EVIDENCE_CHARS, "link": MAX_LINK_CHARS,
}


class _Choice(StrEnum):
    @classmethod
    def from_str(cls, value: object, *, what: str):
        text = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        for member in cls:
            if member.value == text:
                return member
        valid = ", ".join(m.value for m in cls)
        raise UnknownChoice(f"unknown {what} {value!r}; valid: {valid}")


class Status(_Choice):
    """Where a system is in the review workflow (:mod:`kb.register.workflow`)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"


class Use(_Choice):
    """Whether the system is used yet."""

    PLANNED = "planned"
    PILOT = "pilot"
    LIVE = "live"
    RETIRED = "retired"


# --- checking typed input -------------------------------------------------------------------


def text_field(name: str, value: object, *, required: bool = False,
               multiline: bool = False) -> str:
    """A typed field checked against its limit in :data:`LIMITS`."""
    return check_field(name, value, LIMITS[name], required=required, multiline=multiline)


def list_field(name: str, values: object) -> tuple[str, ...]:
    """Channels or countries: a list (or one comma-separated text) of short names."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, Sequence):
        raise BadInput(f"{name} must be a list of names, got {type(values).__name__}")
    items = [check_field(f"{name} item", v, MAX_ITEM_CHARS) for v in values]
    items = list(dict.fromkeys(i for i in items if i))
    if len(items) > MAX_LIST_ITEMS:
        raise BadInput(f"{name} has {len(items)} items; the limit is {MAX_LIST_ITEMS}")
    return tuple(items)


def link_field(value: object) -> str:
    """An evidence link: empty, or an http(s) URL (nothing else is ever made clickable)."""
    link = text_field("link", value)
    if link and not link.lower().startswith(("https://", "http://")):
        raise BadInput(f"link must start with https:// or http://, got {link[:60]!r}")
    if any(c.isspace() for c in link):
        raise BadInput("link must not contain spaces")
    return link


# --- the assessment snapshot ----------------------------------------------------------------


def snapshot_data(assessment: Assessment) -> dict[str, Any]:
    """The assessment as stored: its JSON shape (without the timing), the facts it used,
    and each reason's tier and date (what a recheck compares)."""
    data = assessment.to_dict()
    data.pop("timing_ms", None)
    data["facts"] = dict(assessment.facts)
    for reason, shown in zip(assessment.reasons, data["reasons"], strict=True):
        shown["tier"] = reason.tier
        shown["applies_from"] = reason.applies_from
    return data


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An assessment as it was made, stamped with the corpus version and the as-of date.

    Stored once and never changed (the database refuses UPDATE and DELETE on them); a new
    assessment is a new snapshot.
    """

    id: int
    system_id: int
    made_at: str  # ISO timestamp, UTC
    corpus_version: str
    as_of: str  # the law in force on this date
    origin: str  # "add", "reassess", "recheck" or "import"
    data: Mapping[str, Any]  # see snapshot_data; the JSON shape of ``python -m kb assess``

    @property
    def risk_level(self) -> str:
        return self.data["risk_level"]

    @property
    def tiers(self) -> list[str]:
        return list(self.data["tiers"])

    @property
    def reasons(self) -> list[dict]:
        return list(self.data["reasons"])

    @property
    def obligations(self) -> list[dict]:
        return list(self.data["obligations"])

    def to_dict(self) -> dict:
        return {"id": self.id, "made_at": self.made_at, "corpus_version": self.corpus_version,
                "as_of": self.as_of, "origin": self.origin, "assessment": dict(self.data)}


@dataclass(frozen=True, slots=True)
class Tick:
    """One obligation on a system's checklist: due date from its snapshot, and evidence."""

    obligation_id: str
    title: str
    refs: tuple[str, ...]
    due: str  # the date it applies from (the date table of the law in force)
    done: bool = False
    evidence: str = ""
    link: str = ""
    by: str = ""
    at: str = ""

    def to_dict(self) -> dict:
        return {"obligation_id": self.obligation_id, "title": self.title,
                "refs": list(self.refs), "due": self.due, "done": self.done,
                "evidence": self.evidence, "link": self.link, "by": self.by, "at": self.at}


@dataclass(frozen=True, slots=True)
class Decision:
    """One entry of the append-only decision log: who did what, when, and why."""

    id: int
    system_id: int
    at: str
    by: str
    action: str  # "add", "submit", "approve", "request_changes", "tick", "recheck", ...
    from_status: str
    to_status: str
    comment: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"id": self.id, "at": self.at, "by": self.by, "action": self.action,
                "from_status": self.from_status, "to_status": self.to_status,
                "comment": self.comment, "detail": dict(self.detail)}


@dataclass(frozen=True, slots=True)
class System:
    """A registered AI system as listed: what it is, where it stands, its verdict."""

    id: int
    name: str
    owner: str  # the owning team
    description: str
    role: str  # as given ("" = read from the description); the snapshot has the one used
    status: Status
    use: Use
    risk_level: str  # of the current snapshot
    contact: str = ""
    vendor: str = ""
    channels: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    facts: Mapping[str, bool] = field(default_factory=dict)  # answers given by the owner
    needs_review: bool = False  # a recheck found that the law now says something else
    next_deadline: str = ""  # earliest due date of an obligation not ticked done
    created_at: str = ""
    updated_at: str = ""
    version: int = 1  # bumped by every change (optimistic concurrency)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "owner": self.owner,
                "contact": self.contact, "description": self.description, "role": self.role,
                "vendor": self.vendor, "channels": list(self.channels),
                "countries": list(self.countries), "use": self.use.value,
                "status": self.status.value, "risk_level": self.risk_level,
                "facts": dict(self.facts), "needs_review": self.needs_review,
                "next_deadline": self.next_deadline, "created_at": self.created_at,
                "updated_at": self.updated_at, "version": self.version}


@dataclass(frozen=True, slots=True)
class Diff:
    """What changed between two assessments of the same system (old → new).

    A recheck flags a system when its tier, obligations, dates or reasons (provision or
    official wording) change; the plain-language ``why`` is ignored, since it names the
    as-of date.
    """

    risk_level: tuple[str, str] | None = None
    tiers: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    obligations_added: tuple[tuple[str, str, str], ...] = ()  # (id, title, applies_from)
    obligations_removed: tuple[tuple[str, str, str], ...] = ()
    dates: tuple[tuple[str, str, str, str], ...] = ()  # (id, title, old date, new date)
    reasons_added: tuple[Mapping[str, Any], ...] = ()  # the new reasons
    reasons_removed: tuple[Mapping[str, Any], ...] = ()  # the old reasons
    reasons_changed: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...] = ()  # (old, new)

    @property
    def changed(self) -> bool:
        return any((self.risk_level, self.tiers, self.obligations_added,
                    self.obligations_removed, self.dates, self.reasons_added,
                    self.reasons_removed, self.reasons_changed))

    def lines(self) -> list[str]:
        """One line per change, for people (CLI, app, log comments)."""
        out = []
        if self.risk_level:
            out.append(f"risk level: {self.risk_level[0]} → {self.risk_level[1]}")
        elif self.tiers:
            out.append(f"tiers: {', '.join(self.tiers[0])} → {', '.join(self.tiers[1])}")
        out += [f"obligation added: {title} ({oid}), applies from {day}"
                for oid, title, day in self.obligations_added]
        out += [f"obligation removed: {title} ({oid})" for oid, title, _ in
                self.obligations_removed]
        out += [f"date changed: {title} ({oid}): {old} → {new}"
                for oid, title, old, new in self.dates]
        out += [f"reason added: {r['ref']}" for r in self.reasons_added]
        out += [f"reason removed: {r['ref']}" for r in self.reasons_removed]
        for old, new in self.reasons_changed:
            what = [label for key, label in (("text", "official wording"), ("tier", "tier"),
                                             ("applies_from", "date"))
                    if old.get(key) != new.get(key)]
            out.append(f"reason changed: {new['ref']} ({', '.join(what)})")
        return out

    def to_dict(self) -> dict:
        return {
            "risk_level": list(self.risk_level) if self.risk_level else None,
            "tiers": [list(t) for t in self.tiers] if self.tiers else None,
            "obligations_added": [{"id": i, "title": t, "applies_from": d}
                                  for i, t, d in self.obligations_added],
            "obligations_removed": [{"id": i, "title": t, "applies_from": d}
                                    for i, t, d in self.obligations_removed],
            "dates": [{"id": i, "title": t, "before": a, "after": b}
                      for i, t, a, b in self.dates],
            "reasons_added": [dict(r) for r in self.reasons_added],
            "reasons_removed": [dict(r) for r in self.reasons_removed],
            "reasons_changed": [{"before": dict(a), "after": dict(b)}
                                for a, b in self.reasons_changed],
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """Everything the register holds about one system (``register show``)."""

    system: System
    snapshot: Snapshot  # the assessment it is reviewed on
    checklist: tuple[Tick, ...]
    log: tuple[Decision, ...]
    pending: Snapshot | None = None  # a recheck's newer assessment awaiting review
    diff: Diff | None = None  # snapshot → pending

    def to_dict(self) -> dict:
        return {**self.system.to_dict(), "assessment": self.snapshot.to_dict(),
                "checklist": [t.to_dict() for t in self.checklist],
                "log": [d.to_dict() for d in self.log],
                "pending": self.pending.to_dict() if self.pending else None,
                "changes": self.diff.to_dict() if self.diff else None}


@dataclass(frozen=True, slots=True)
class Deadline:
    """An obligation of a registered system that starts to apply soon."""

    system_id: int
    system: str
    owner: str
    obligation_id: str
    title: str
    refs: tuple[str, ...]
    due: str
    days_left: int
    done: bool
    needs_review: bool

    def to_dict(self) -> dict:
        return {"system_id": self.system_id, "system": self.system, "owner": self.owner,
                "obligation_id": self.obligation_id, "title": self.title,
                "refs": list(self.refs), "due": self.due, "days_left": self.days_left,
                "done": self.done, "needs_review": self.needs_review}


@dataclass(frozen=True, slots=True)
class Recheck:
    """The result of re-assessing the register against the current corpus."""

    as_of: str
    corpus_version: str
    checked: int
    flagged: tuple[tuple[int, str, Diff], ...]  # (id, name, what changed) newly flagged
    still_flagged: tuple[int, ...]  # flagged before, with the same new assessment
    cleared: tuple[int, ...]  # flagged before, now the same as their snapshot again
    errors: tuple[tuple[int, str], ...] = ()  # (id, one-line reason) not rechecked
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"as_of": self.as_of, "corpus_version": self.corpus_version,
                "checked": self.checked,
                "flagged": [{"id": i, "name": n, "changes": d.to_dict(), "lines": d.lines()}
                            for i, n, d in self.flagged],
                "still_flagged": list(self.still_flagged), "cleared": list(self.cleared),
                "errors": [{"id": i, "error": e} for i, e in self.errors],
                "seconds": round(self.seconds, 3)}


def _reason_key(reason: Mapping[str, Any]) -> tuple:
    return (reason.get("text"), reason.get("tier"), reason.get("applies_from"))


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    """What changed from the assessment ``old`` to ``new`` (both :func:`snapshot_data`)."""
    old_obligations = {o["id"]: o for o in old["obligations"]}
    new_obligations = {o["id"]: o for o in new["obligations"]}
    old_reasons = {r["ref"]: r for r in old["reasons"]}
    new_reasons = {r["ref"]: r for r in new["reasons"]}
    return Diff(
        risk_level=(old["risk_level"], new["risk_level"])
        if old["risk_level"] != new["risk_level"] else None,
        tiers=(tuple(old["tiers"]), tuple(new["tiers"]))
        if list(old["tiers"]) != list(new["tiers"]) else None,
        obligations_added=tuple((i, o["title"], o["applies_from"])
                                for i, o in new_obligations.items() if i not in old_obligations),
        obligations_removed=tuple((i, o["title"], o["applies_from"])
                                  for i, o in old_obligations.items()
                                  if i not in new_obligations),
        dates=tuple((i, o["title"], old_obligations[i]["applies_from"], o["applies_from"])
                    for i, o in new_obligations.items()
                    if i in old_obligations
                    and old_obligations[i]["applies_from"] != o["applies_from"]),
        reasons_added=tuple(r for ref, r in new_reasons.items() if ref not in old_reasons),
        reasons_removed=tuple(r for ref, r in old_reasons.items() if ref not in new_reasons),
        reasons_changed=tuple((old_reasons[ref], r) for ref, r in new_reasons.items()
                              if ref in old_reasons
                              and _reason_key(old_reasons[ref]) != _reason_key(r)),
    )
