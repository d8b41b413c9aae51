"""The AI system register: :class:`Register`, typed methods over the register file.

In: typed fields (checked against the limits of :mod:`kb.register.records`), an assessor
(the :class:`kb.Assistant`) for ``add``, ``reassess`` and ``recheck``, and the reviewer
token; out: frozen records.  Every change is one write transaction of
:mod:`kb.register.store` that checks the system's version when the caller says which one it
saw, moves the status by :mod:`kb.register.workflow`, and appends to the decision log.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from kb.config import Settings
from kb.errors import BadInput, BadTransition, Conflict, KbError, TokenRefused, UnknownSystem
from kb.law.dates import parse_date
from kb.obligations.assess import Assessment, clean_description
from kb.register import workflow
from kb.register.records import (
    Deadline,
    Decision,
    Diff,
    Entry,
    Recheck,
    Snapshot,
    Status,
    System,
    Tick,
    Use,
    compare,
    link_field,
    list_field,
    snapshot_data,
    text_field,
)
from kb.register.store import RegisterFile

log = logging.getLogger(__name__)

DEFAULT_WITHIN_DAYS = 90


class Assessor(Protocol):
    """What the register needs from the knowledge base (a :class:`kb.Assistant`)."""

    @property
    def corpus_version(self) -> str: ...

    def assess(self, description: str, *, role: str | None = None,
               facts: dict | None = None, as_of: str | None = None) -> Assessment: ...


_SUMMARY = """
SELECT s.id, s.name, s.owner, s.contact, s.description, s.role, s.vendor, s.channels,
       s.countries, s.use_status, s.status, s.facts, s.created_at, s.updated_at, s.version,
       a.risk_level, s.pending IS NOT NULL,
       (SELECT MIN(d.applies_from) FROM dues d
         WHERE d.assessment_id = COALESCE(s.pending, s.assessment)
           AND NOT EXISTS (SELECT 1 FROM checklist c WHERE c.system_id = s.id
                           AND c.obligation_id = d.obligation_id AND c.done = 1))
FROM systems s JOIN assessments a ON a.id = s.assessment
"""
_SNAPSHOT = ("SELECT id, system_id, made_at, corpus_version, as_of, origin, data "
             "FROM assessments")


class Register:
    """The register of AI systems in one SQLite file (``KB_DATA_DIR/register.sqlite``).

    Safe to use from several threads and processes at once: each call opens its own
    connection, and writes are serialised transactions.  Pass ``expected_version`` (the
    ``version`` of the record you showed the user) to refuse a change made on stale data.
    """

    def __init__(self, path, *, assessor: Assessor | Callable[[], Assessor] | None = None,
                 reviewer_token: str = "", as_of: str = "",
                 now: Callable[[], datetime] | None = None):
        self.file = RegisterFile(path)
        self._assessor = assessor
        self._reviewer_token = reviewer_token
        self._as_of = as_of
        self._now = now or (lambda: datetime.now(UTC))

    @classmethod
    def open(cls, settings: Settings | None = None, *, assistant: Assessor | None = None,
             **options) -> Register:
        """The register of ``settings`` (default: the environment).  The knowledge base is
        opened only when an assessment is needed, unless ``assistant`` is given."""
        settings = settings or Settings.from_env()

        def open_assistant() -> Assessor:
            from kb.assistant import Assistant

            return Assistant.open(settings)

        return cls(settings.register_path, assessor=assistant or open_assistant,
                   reviewer_token=settings.reviewer_token, as_of=settings.as_of, **options)

    # --- helpers ------------------------------------------------------------------------------

    @property
    def assessor(self) -> Assessor:
        if self._assessor is None:
            raise KbError("this register was opened without the knowledge base; open it with "
                          "Register.open(settings) to assess systems")
        if callable(self._assessor) and not hasattr(self._assessor, "assess"):
            self._assessor = self._assessor()
        return self._assessor  # type: ignore[return-value]

    def _stamp(self) -> str:
        return self._now().astimezone(UTC).isoformat(timespec="seconds")

    def today(self, as_of: str | None = None) -> str:
        """The date deadlines and assessments are taken on: ``as_of``, else KB_AS_OF, else
        today."""
        return parse_date(as_of or self._as_of or None)

    @property
    def reviewer_enabled(self) -> bool:
        return bool(self._reviewer_token)

    def check_reviewer(self, token: str) -> None:
        """TokenRefused unless ``token`` is the reviewer token (constant-time compare)."""
        if not self._reviewer_token:
            raise TokenRefused("reviewer actions are disabled: no reviewer token is configured "
                               "(set KB_REVIEWER_TOKEN)")
        if not isinstance(token, str) or not hmac.compare_digest(
                token.encode(), self._reviewer_token.encode()):
            log.warning("review refused: wrong reviewer token")
            raise TokenRefused("wrong reviewer token: the review was refused")

    @staticmethod
    def _actor(by: object) -> str:
        return text_field("by", by, required=True)

    def _assess(self, description: str, role: str, facts: Mapping[str, bool],
                as_of: str | None) -> tuple[Assessment, str]:
        assessor = self.assessor
        assessment = assessor.assess(description, role=role or None, facts=dict(facts) or None,
                                     as_of=self.today(as_of))
        return assessment, assessor.corpus_version

    @staticmethod
    def _given_facts(assessment: Assessment, facts: Mapping | None) -> dict[str, bool]:
        """The facts the owner answered, as the assessment read them (validated there)."""
        return {key: bool(assessment.facts[key]) for key in (facts or {})}

    def _system_row(self, db: sqlite3.Connection, system_id: int) -> sqlite3.Row | tuple:
        if not isinstance(system_id, int) or isinstance(system_id, bool):
            raise UnknownSystem(f"a system id is a whole number, got {system_id!r}")
        row = db.execute("SELECT status, version, assessment, pending, name FROM systems "
                         "WHERE id = ?", (system_id,)).fetchone()
        if row is None:
            raise UnknownSystem(f"no system {system_id} in the register; list them with: "
                                "python -m kb register list")
        return row

    def _locked(self, db: sqlite3.Connection, system_id: int,
                expected_version: int | None) -> tuple[Status, int, int, int | None, str]:
        status, version, assessment, pending, name = self._system_row(db, system_id)
        if expected_version is not None and expected_version != version:
            raise Conflict(f"system {system_id} was changed by someone else since you opened "
                           f"it (now version {version}, you had {expected_version}); reload "
                           "it and try again")
        return Status(status), version, assessment, pending, name

    def _log(self, db: sqlite3.Connection, system_id: int, by: str, action: str,
             before: Status | str, after: Status | str, comment: str = "",
             detail: Mapping[str, Any] | None = None, at: str | None = None) -> None:
        db.execute(
            "INSERT INTO decisions (system_id, at, actor, action, from_status, to_status, "
            "comment, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (system_id, at or self._stamp(), by, action, str(before), str(after), comment,
             json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)))

    def _touch(self, db: sqlite3.Connection, system_id: int, **columns: Any) -> None:
        sets = "".join(f", {name} = ?" for name in columns)
        db.execute(f"UPDATE systems SET version = version + 1, updated_at = ?{sets} "
                   "WHERE id = ?", (self._stamp(), *columns.values(), system_id))

    def _insert_snapshot(self, db: sqlite3.Connection, system_id: int, data: Mapping[str, Any],
                         *, corpus_version: str, origin: str, made_at: str | None = None,
                         snapshot_id: int | None = None) -> int:
        cursor = db.execute(
            "INSERT INTO assessments (id, system_id, made_at, corpus_version, as_of, origin, "
            "risk_level, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (snapshot_id, system_id, made_at or self._stamp(), corpus_version, data["as_of"],
             origin, data["risk_level"], json.dumps(data, ensure_ascii=False)))
        new_id = cursor.lastrowid
        db.executemany(
            "INSERT INTO dues (assessment_id, obligation_id, title, refs, applies_from) "
            "VALUES (?, ?, ?, ?, ?)",
            [(new_id, o["id"], o["title"], json.dumps(o["refs"], ensure_ascii=False),
              o["applies_from"]) for o in data["obligations"]])
        return new_id

    # --- reading ------------------------------------------------------------------------------

    def list(self, *, status: str | None = None, tier: str | None = None,
             owner: str | None = None, use: str | None = None,
             needs_review: bool | None = None, search: str | None = None) -> list[System]:
        """The systems, oldest first, filtered by status, risk tier, owning team (any case),
        use, the needs-review flag and a text in the name, description, owner or vendor."""
        where, args = [], []
        if status:
            where.append("s.status = ?")
            args.append(Status.from_str(status, what="status").value)
        if tier:
            where.append("a.risk_level = ?")
            args.append(str(tier).strip().lower().replace("-", "_").replace(" ", "_"))
        if owner:
            where.append("s.owner = ? COLLATE NOCASE")
            args.append(owner.strip())
        if use:
            where.append("s.use_status = ?")
            args.append(Use.from_str(use, what="use").value)
        if needs_review is not None:
            where.append("s.pending IS NOT NULL" if needs_review else "s.pending IS NULL")
        if search and search.strip():
            pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
            where.append("(" + " OR ".join(f"s.{column} LIKE ? ESCAPE '\\'" for column in
                                           ("name", "description", "owner", "vendor")) + ")")
            args += [pattern] * 4
        if not self.file.exists:
            return []
        sql = _SUMMARY + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.id"
        with self.file.read() as db:
            return [_system(row) for row in db.execute(sql, args)]

    def get(self, system_id: int) -> Entry:
        """Everything about one system: details, snapshot, pending recheck, checklist, log."""
        if not self.file.exists:
            raise UnknownSystem(f"no system {system_id}: the register is empty")
        with self.file.read() as db:
            return self._entry(db, system_id)

    def _entry(self, db: sqlite3.Connection, system_id: int) -> Entry:
        self._system_row(db, system_id)
        row = db.execute(_SUMMARY + " WHERE s.id = ?", (system_id,)).fetchone()
        system = _system(row)
        current, pending = db.execute("SELECT assessment, pending FROM systems WHERE id = ?",
                                      (system_id,)).fetchone()
        snapshot = _snapshot(db.execute(_SNAPSHOT + " WHERE id = ?", (current,)).fetchone())
        later = (_snapshot(db.execute(_SNAPSHOT + " WHERE id = ?", (pending,)).fetchone())
                 if pending is not None else None)
        latest = later or snapshot
        ticks = {r[0]: r for r in db.execute(
            "SELECT obligation_id, done, evidence, link, ticked_by, ticked_at FROM checklist "
            "WHERE system_id = ?", (system_id,))}
        checklist = []
        for o in latest.obligations:
            _, done, evidence, link, by, at = ticks.get(o["id"], (o["id"], 0, "", "", "", ""))
            checklist.append(Tick(o["id"], o["title"], tuple(o["refs"]), o["applies_from"],
                                  bool(done), evidence, link, by, at))
        decisions = tuple(_decision(r) for r in db.execute(
            "SELECT id, system_id, at, actor, action, from_status, to_status, comment, detail "
            "FROM decisions WHERE system_id = ? ORDER BY id", (system_id,)))
        return Entry(system, snapshot, tuple(checklist), decisions, later,
                     compare(snapshot.data, later.data) if later else None)

    def snapshots(self, system_id: int) -> list[Snapshot]:
        """Every assessment ever stored for a system, oldest first."""
        with self.file.read() as db:
            self._system_row(db, system_id)
            return [_snapshot(r) for r in db.execute(
                _SNAPSHOT + " WHERE system_id = ? ORDER BY id", (system_id,))]

    # --- the owner's actions ------------------------------------------------------------------

    def add(self, *, name: str, description: str, owner: str, by: str = "",
            role: str | None = None, contact: str = "", vendor: str = "",
            channels: Sequence[str] | str = (), countries: Sequence[str] | str = (),
            use: str = "planned", facts: Mapping[str, object] | None = None,
            as_of: str | None = None) -> Entry:
        """Register a system: assess ``description`` and store the snapshot, as a draft.

        ``by`` (the person adding it) defaults to the owning team.
        """
        name = text_field("name", name, required=True)
        owner = text_field("owner", owner, required=True)
        by = self._actor(by or owner)
        description = clean_description(description)
        fields = {"contact": text_field("contact", contact),
                  "vendor": text_field("vendor", vendor),
                  "channels": list_field("channels", channels),
                  "countries": list_field("countries", countries),
                  "use": Use.from_str(use, what="use")}
        assessment, corpus_version = self._assess(description, role or "", facts or {}, as_of)
        given = self._given_facts(assessment, facts)
        data = snapshot_data(assessment)
        with self.file.write() as db:
            stamp = self._stamp()
            cursor = db.execute(
                "INSERT INTO systems (name, owner, contact, description, role, vendor, channels,"
                " countries, use_status, status, facts, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, owner, fields["contact"], description, role or "", fields["vendor"],
                 json.dumps(fields["channels"], ensure_ascii=False),
                 json.dumps(fields["countries"], ensure_ascii=False), fields["use"].value,
                 Status.DRAFT.value, json.dumps(given), stamp, stamp))
            system_id = cursor.lastrowid
            snapshot = self._insert_snapshot(db, system_id, data,
                                             corpus_version=corpus_version, origin="add")
            db.execute("UPDATE systems SET assessment = ? WHERE id = ?", (snapshot, system_id))
            self._log(db, system_id, by, "add", "", Status.DRAFT, detail={
                "risk_level": data["risk_level"], "corpus_version": corpus_version,
                "as_of": data["as_of"]})
            entry = self._entry(db, system_id)
        log.info("registered system %d %r: %s", system_id, name, data["risk_level"])
        return entry

    def update(self, system_id: int, *, by: str, expected_version: int | None = None,
               **changes: object) -> Entry:
        """Change what the system is (name, owner, contact, vendor, channels, countries,
        use); the description, role and facts change through :meth:`reassess`."""
        by = self._actor(by)
        allowed = {"name", "owner", "contact", "vendor", "channels", "countries", "use"}
        unknown = set(changes) - allowed
        if unknown:
            raise BadInput(f"cannot update {', '.join(sorted(unknown))}; fields: "
                           f"{', '.join(sorted(allowed))} (the description, role and facts "
                           "change by reassessing)")
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key in ("channels", "countries"):
                values[key] = json.dumps(list_field(key, value), ensure_ascii=False)
            elif key == "use":
                values["use_status"] = Use.from_str(value, what="use").value
            else:
                values[key] = text_field(key, value, required=key in ("name", "owner"))
        with self.file.write() as db:
            status, *_ = self._locked(db, system_id, expected_version)
            columns = ", ".join(values)
            old = db.execute(f"SELECT {columns} FROM systems WHERE id = ?",
                             (system_id,)).fetchone() if values else ()
            changed = {k: [o, v] for (k, v), o in zip(values.items(), old, strict=True)
                       if o != v}
            if changed:
                self._touch(db, system_id, **{k: values[k] for k in changed})
                shown = {("use" if k == "use_status" else k):
                         [json.loads(o), json.loads(v)] if k in ("channels", "countries")
                         else [o, v] for k, (o, v) in changed.items()}
                self._log(db, system_id, by, "update", status, status, detail=shown)
            return self._entry(db, system_id)

    def submit(self, system_id: int, *, by: str, comment: str = "",
               expected_version: int | None = None) -> Entry:
        """The owner submits the system for review (from draft or changes requested)."""
        return self._move(system_id, "submit", by=by, comment=comment,
                          expected_version=expected_version)

    def reopen(self, system_id: int, *, by: str, comment: str = "",
               expected_version: int | None = None) -> Entry:
        """Back to draft: withdraw a submission, or reopen an approved system."""
        return self._move(system_id, "reopen", by=by, comment=comment,
                          expected_version=expected_version)

    def review(self, system_id: int, *, decision: str, comment: str, by: str, token: str,
               expected_version: int | None = None) -> Entry:
        """A reviewer approves (``decision="approve"``) or requests changes (``"changes"``,
        with a comment).  Needs the reviewer token."""
        action = workflow.decision_action(decision)
        self.check_reviewer(token)
        return self._move(system_id, action, by=by, comment=comment,
                          expected_version=expected_version)

    def _move(self, system_id: int, action: str, *, by: str, comment: str,
              expected_version: int | None) -> Entry:
        by = self._actor(by)
        comment = text_field("comment", comment, multiline=True)
        rule = workflow.rule(action)
        if rule.comment_required and not comment:
            raise BadInput(f"a comment is required to {action.replace('_', ' ')}: say what "
                           "must change")
        with self.file.write() as db:
            status, _, _, pending, _ = self._locked(db, system_id, expected_version)
            target = workflow.transition(system_id, status, action)
            if pending is not None and action in ("submit", "approve"):
                raise BadTransition(
                    f"system {system_id} needs review: a recheck found that the law now says "
                    "something else; adopt the new assessment first (python -m kb register "
                    f"reassess {system_id})")
            self._touch(db, system_id, status=target.value)
            self._log(db, system_id, by, action, status, target, comment)
            return self._entry(db, system_id)

    def comment(self, system_id: int, *, by: str, text: str) -> Entry:
        """Add a comment to the decision log (the status does not change)."""
        by = self._actor(by)
        text = text_field("comment", text, required=True, multiline=True)
        with self.file.write() as db:
            status, *_ = self._system_row(db, system_id)
            self._log(db, system_id, by, "comment", status, status, text)
            return self._entry(db, system_id)

    def tick(self, system_id: int, obligation_id: str, *, by: str, done: bool = True,
             evidence: str = "", link: str = "", expected_version: int | None = None) -> Entry:
        """Tick an obligation of the checklist done with evidence (free text and/or an
        http(s) link), or untick it (``done=False``)."""
        by = self._actor(by)
        evidence = text_field("evidence", evidence, multiline=True)
        link = link_field(link)
        if done and not (evidence or link):
            raise BadInput("evidence is required to tick an obligation done: describe it or "
                           "give a link")
        with self.file.write() as db:
            status, _, current, pending, _ = self._locked(db, system_id, expected_version)
            workflow.check_editable(system_id, status, "checklist")
            known = {r[0] for r in db.execute(
                "SELECT obligation_id FROM dues WHERE assessment_id = ?",
                (pending if pending is not None else current,))}
            if obligation_id not in known:
                raise BadInput(f"obligation {obligation_id!r} is not on the checklist of "
                               f"system {system_id}; its obligations: "
                               f"{', '.join(sorted(known)) or 'none'}")
            stamp = self._stamp()
            db.execute(
                "INSERT INTO checklist (system_id, obligation_id, done, evidence, link, "
                "ticked_by, ticked_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (system_id, obligation_id) DO UPDATE SET done = excluded.done, "
                "evidence = excluded.evidence, link = excluded.link, "
                "ticked_by = excluded.ticked_by, ticked_at = excluded.ticked_at",
                (system_id, obligation_id, int(done), evidence, link, by, stamp))
            self._touch(db, system_id)
            self._log(db, system_id, by, "tick" if done else "untick", status, status,
                      evidence, {"obligation_id": obligation_id, "link": link})
            return self._entry(db, system_id)

    def reassess(self, system_id: int, *, by: str, comment: str = "",
                 description: str | None = None, role: str | None = None,
                 facts: Mapping[str, object] | None = None, as_of: str | None = None,
                 expected_version: int | None = None) -> Entry:
        """Make a new assessment the one the system is reviewed on; back to draft.

        With nothing changed and a recheck pending, adopts the recheck's assessment;
        otherwise assesses again (with a new description, role or facts if given).  The
        old snapshot stays in the history; the log records what changed.
        """
        by = self._actor(by)
        comment = text_field("comment", comment, multiline=True)
        entry = self.get(system_id)
        system = entry.system
        if system.status is Status.SUBMITTED:
            workflow.check_editable(system_id, system.status, "assessment")
        fresh = description is not None or role is not None or facts is not None or as_of
        adopted: Snapshot | None = None if fresh else entry.pending
        new_description = clean_description(description) if description else system.description
        new_role = system.role if role is None else role
        new_facts = dict(system.facts) if facts is None else facts
        data, corpus_version, given = None, "", dict(system.facts)
        if adopted is None:
            assessment, corpus_version = self._assess(new_description, new_role,
                                                      new_facts, as_of)
            data, given = snapshot_data(assessment), self._given_facts(assessment, new_facts)
        with self.file.write() as db:
            status, _, current, pending, _ = self._locked(
                db, system_id, expected_version if expected_version is not None
                else system.version)
            if adopted is not None:
                new_id, data = adopted.id, adopted.data
            else:
                new_id = self._insert_snapshot(db, system_id, data,
                                               corpus_version=corpus_version,
                                               origin="reassess")
            diff = compare(entry.snapshot.data, data)
            self._touch(db, system_id, assessment=new_id, pending=None,
                        status=Status.DRAFT.value, description=new_description,
                        role=new_role or "", facts=json.dumps(given))
            self._log(db, system_id, by, "reassess", status, Status.DRAFT, comment, {
                "snapshot": new_id, "adopted_recheck": adopted is not None,
                "risk_level": data["risk_level"], "changes": diff.to_dict()})
            return self._entry(db, system_id)

    # --- staying current with the law ----------------------------------------------------------

    def recheck(self, *, as_of: str | None = None, by: str = "recheck") -> Recheck:
        """Assess every system that is not retired again on the current corpus; flag those
        whose tier, obligations, dates or reasons changed ("needs review", with the diff),
        and clear the flag of those that match their snapshot again.  Snapshots are never
        changed: the new assessment waits as ``pending`` until the owner adopts it."""
        started = time.perf_counter()
        day = self.today(as_of)
        corpus_version = self.assessor.corpus_version if self.file.exists else ""
        flagged: list[tuple[int, str, Diff]] = []
        still, cleared, errors = [], [], []
        checked = 0
        for system in self.list():
            if system.use is Use.RETIRED:
                continue
            checked += 1
            try:
                outcome = self._recheck_one(system.id, day, by)
            except KbError as error:
                log.warning("recheck of system %d failed: %s", system.id, error)
                errors.append((system.id, str(error)))
                continue
            if outcome == "cleared":
                cleared.append(system.id)
            elif outcome == "still":
                still.append(system.id)
            elif isinstance(outcome, Diff):
                flagged.append((system.id, system.name, outcome))
        return Recheck(day, corpus_version, checked, tuple(flagged), tuple(still),
                       tuple(cleared), tuple(errors), time.perf_counter() - started)

    def _recheck_one(self, system_id: int, day: str, by: str) -> Diff | str | None:
        entry = self.get(system_id)
        system = entry.system
        assessment, corpus_version = self._assess(system.description, system.role,
                                                  system.facts, day)
        data = snapshot_data(assessment)
        diff = compare(entry.snapshot.data, data)
        with self.file.write() as db:
            status, _, current, pending, _ = self._locked(db, system_id, system.version)
            if not diff.changed:
                if pending is None:
                    return None
                self._touch(db, system_id, pending=None)
                self._log(db, system_id, by, "recheck_cleared", status, status,
                          "the law again says what the snapshot says", {"as_of": day,
                                                                        "corpus_version":
                                                                        corpus_version})
                return "cleared"
            if entry.pending is not None and not compare(entry.pending.data, data).changed:
                return "still"
            new_id = self._insert_snapshot(db, system_id, data, corpus_version=corpus_version,
                                           origin="recheck")
            self._touch(db, system_id, pending=new_id)
            self._log(db, system_id, by, "recheck", status, status,
                      "needs review: " + "; ".join(diff.lines()),
                      {"snapshot": new_id, "as_of": day, "corpus_version": corpus_version,
                       "changes": diff.to_dict()})
            return diff

    def changes_between(self, before: str, after: str) -> list[tuple[System, Diff]]:
        """Systems (not retired) whose assessment differs between the law in force on
        ``before`` and on ``after``, on the current corpus: what an amending act changes for
        the register (``python -m ingest impact``).  Nothing is written."""
        out = []
        for system in self.list():
            if system.use is Use.RETIRED:
                continue
            try:
                old, _ = self._assess(system.description, system.role, system.facts, before)
                new, _ = self._assess(system.description, system.role, system.facts, after)
            except KbError as error:
                log.warning("system %d cannot be assessed: %s", system.id, error)
                continue
            diff = compare(snapshot_data(old), snapshot_data(new))
            if diff.changed:
                out.append((system, diff))
        return out

    def deadlines(self, *, within_days: int = DEFAULT_WITHIN_DAYS, as_of: str | None = None,
                  include_done: bool = False) -> list[Deadline]:
        """Obligations that start to apply within ``within_days`` of ``as_of`` (that day
        included), soonest first, for every system that is not retired.  Dates come from
        each system's latest assessment (a pending recheck's if there is one)."""
        if not isinstance(within_days, int) or within_days < 0:
            raise BadInput(f"within_days must be a whole number ≥ 0, got {within_days!r}")
        day = self.today(as_of)
        start = date.fromisoformat(day)
        end = date.fromordinal(start.toordinal() + within_days).isoformat()
        if not self.file.exists:
            return []
        with self.file.read() as db:
            rows = db.execute(
                "SELECT s.id, s.name, s.owner, d.obligation_id, d.title, d.refs, "
                "d.applies_from, COALESCE(c.done, 0), s.pending IS NOT NULL "
                "FROM systems s JOIN dues d ON d.assessment_id = COALESCE(s.pending, s.assessment)"
                " LEFT JOIN checklist c ON c.system_id = s.id "
                "AND c.obligation_id = d.obligation_id "
                "WHERE s.use_status != 'retired' AND d.applies_from BETWEEN ? AND ? "
                "ORDER BY d.applies_from, s.id, d.obligation_id", (day, end)).fetchall()
        return [Deadline(r[0], r[1], r[2], r[3], r[4], tuple(json.loads(r[5])), r[6],
                         (date.fromisoformat(r[6]) - start).days, bool(r[7]), bool(r[8]))
                for r in rows if include_done or not r[7]]

    # --- backup -------------------------------------------------------------------------------

    def dump(self) -> list[dict]:
        """Every row of every system, as the JSON export stores it (lossless)."""
        if not self.file.exists:
            return []
        out = []
        with self.file.read() as db:
            for row in db.execute(
                    "SELECT id, name, owner, contact, description, role, vendor, channels, "
                    "countries, use_status, status, facts, assessment, pending, created_at, "
                    "updated_at, version FROM systems ORDER BY id").fetchall():
                (system_id, name, owner, contact, description, role, vendor, channels,
                 countries, use, status, facts, current, pending, created, updated,
                 version) = row
                out.append({
                    "id": system_id, "name": name, "owner": owner, "contact": contact,
                    "description": description, "role": role, "vendor": vendor,
                    "channels": json.loads(channels), "countries": json.loads(countries),
                    "use": use, "status": status, "facts": json.loads(facts),
                    "assessment": current, "pending": pending, "created_at": created,
                    "updated_at": updated, "version": version,
                    "assessments": [_snapshot(r).to_dict() for r in db.execute(
                        _SNAPSHOT + " WHERE system_id = ? ORDER BY id", (system_id,))],
                    "checklist": [
                        {"obligation_id": r[0], "done": bool(r[1]), "evidence": r[2],
                         "link": r[3], "by": r[4], "at": r[5]}
                        for r in db.execute(
                            "SELECT obligation_id, done, evidence, link, ticked_by, ticked_at "
                            "FROM checklist WHERE system_id = ? ORDER BY obligation_id",
                            (system_id,))],
                    "log": [_decision(r).to_dict() for r in db.execute(
                        "SELECT id, system_id, at, actor, action, from_status, to_status, "
                        "comment, detail FROM decisions WHERE system_id = ? ORDER BY id",
                        (system_id,))],
                })
        return out

    def restore(self, systems: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert systems exactly as :meth:`dump` wrote them (ids, snapshots, checklist and
        log included) into an empty register, in one transaction; returns their ids.
        The records must be validated first (:func:`kb.register.export.read_json`)."""
        with self.file.write() as db:
            present = db.execute("SELECT COUNT(*) FROM systems").fetchone()[0]
            if present:
                raise BadInput(f"the register already holds {present} system"
                               f"{'s' if present != 1 else ''}; import a "
                               "backup into an empty register (a new KB_DATA_DIR)")
            for s in systems:
                db.execute(
                    "INSERT INTO systems (id, name, owner, contact, description, role, vendor,"
                    " channels, countries, use_status, status, facts, created_at, updated_at,"
                    " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (s["id"], s["name"], s["owner"], s["contact"], s["description"], s["role"],
                     s["vendor"], json.dumps(s["channels"], ensure_ascii=False),
                     json.dumps(s["countries"], ensure_ascii=False), s["use"], s["status"],
                     json.dumps(s["facts"]), s["created_at"], s["updated_at"], s["version"]))
                for a in s["assessments"]:
                    self._insert_snapshot(db, s["id"], a["assessment"],
                                          corpus_version=a["corpus_version"],
                                          origin=a["origin"], made_at=a["made_at"],
                                          snapshot_id=a["id"])
                db.execute("UPDATE systems SET assessment = ?, pending = ? WHERE id = ?",
                           (s["assessment"], s["pending"], s["id"]))
                db.executemany(
                    "INSERT INTO checklist (system_id, obligation_id, done, evidence, link, "
                    "ticked_by, ticked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(s["id"], t["obligation_id"], int(t["done"]), t["evidence"], t["link"],
                      t["by"], t["at"]) for t in s["checklist"]])
                db.executemany(
                    "INSERT INTO decisions (id, system_id, at, actor, action, from_status, "
                    "to_status, comment, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(d["id"], s["id"], d["at"], d["by"], d["action"], d["from_status"],
                      d["to_status"], d["comment"],
                      json.dumps(d["detail"], ensure_ascii=False, sort_keys=True))
                     for d in s["log"]])
        return [s["id"] for s in systems]


# --- rows → records -------------------------------------------------------------------------


def _system(row: Sequence) -> System:
    (system_id, name, owner, contact, description, role, vendor, channels, countries, use,
     status, facts, created, updated, version, risk_level, needs_review, next_deadline) = row
    return System(
        id=system_id, name=name, owner=owner, description=description, role=role,
        status=Status(status), use=Use(use), risk_level=risk_level, contact=contact,
        vendor=vendor, channels=tuple(json.loads(channels)),
        countries=tuple(json.loads(countries)), facts=json.loads(facts),
        needs_review=bool(needs_review), next_deadline=next_deadline or "",
        created_at=created, updated_at=updated, version=version)


def _snapshot(row: Sequence) -> Snapshot:
    snapshot_id, system_id, made_at, corpus_version, as_of, origin, data = row
    return Snapshot(snapshot_id, system_id, made_at, corpus_version, as_of, origin,
                    json.loads(data))


def _decision(row: Sequence) -> Decision:
    decision_id, system_id, at, by, action, before, after, comment, detail = row
    return Decision(decision_id, system_id, at, by, action, before, after, comment,
                    json.loads(detail))
