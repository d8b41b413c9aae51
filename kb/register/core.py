"""The core of the register: :class:`RegisterCore` opens the file, reads systems and holds
the steps every change shares.

In: the register file (:mod:`kb.register.store`) and an assessor (the :class:`kb.Assistant`);
out: frozen records (:mod:`kb.register.records`) built from its rows.  The changes themselves
are the :class:`kb.register.register.Register`'s (the owner's and reviewer's actions),
:mod:`kb.register.recheck`'s (staying current with the law) and :mod:`kb.register.backup`'s.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, Self

from kb.config import Settings
from kb.errors import Conflict, KbError, TokenRefused, UnknownSystem
from kb.law.dates import parse_date
from kb.obligations.assess import Assessment
from kb.register.records import (
    Decision,
    Entry,
    Snapshot,
    Status,
    System,
    Tick,
    Use,
    compare,
    text_field,
)
from kb.register.store import RegisterFile

log = logging.getLogger(__name__)


class Assessor(Protocol):
    """What the register needs from the knowledge base (a :class:`kb.Assistant`)."""

    @property
    def corpus_version(self) -> str: ...

    def assess(self, description: str, *, role: str | None = None,
               facts: dict | None = None, as_of: str | None = None) -> Assessment: ...


SUMMARY_SQL = """
SELECT s.id, s.name, s.owner, s.contact, s.description, s.role, s.vendor, s.channels,
       s.countries, s.use_status, s.status, s.facts, s.created_at, s.updated_at, s.version,
       a.risk_level, s.pending IS NOT NULL,
       (SELECT MIN(d.applies_from) FROM dues d
         WHERE d.assessment_id = COALESCE(s.pending, s.assessment)
           AND NOT EXISTS (SELECT 1 FROM checklist c WHERE c.system_id = s.id
                           AND c.obligation_id = d.obligation_id AND c.done = 1))
FROM systems s JOIN assessments a ON a.id = s.assessment
"""
SNAPSHOT_SQL = ("SELECT id, system_id, made_at, corpus_version, as_of, origin, data "
             "FROM assessments")
DECISION_SQL = ("SELECT id, system_id, at, actor, action, from_status, to_status, comment, "
                "detail FROM decisions")
CHECKLIST_SQL = ("SELECT obligation_id, done, evidence, link, ticked_by, ticked_at "
                 "FROM checklist")


class RegisterCore:
    """The register file, its assessor and reviewer token, and reading systems from it."""

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
             **options) -> Self:
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
        sql = SUMMARY_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.id"
        with self.file.read() as db:
            return [system_from_row(row) for row in db.execute(sql, args)]

    def get(self, system_id: int) -> Entry:
        """Everything about one system: details, snapshot, pending recheck, checklist, log."""
        if not self.file.exists:
            raise UnknownSystem(f"no system {system_id}: the register is empty")
        with self.file.read() as db:
            return self._entry(db, system_id)

    def _entry(self, db: sqlite3.Connection, system_id: int) -> Entry:
        self._system_row(db, system_id)
        row = db.execute(SUMMARY_SQL + " WHERE s.id = ?", (system_id,)).fetchone()
        system = system_from_row(row)
        current, pending = db.execute("SELECT assessment, pending FROM systems WHERE id = ?",
                                      (system_id,)).fetchone()
        snapshot = self._snapshot_at(db, current)
        later = self._snapshot_at(db, pending) if pending is not None else None
        latest = later or snapshot
        ticks = {r[0]: r for r in db.execute(CHECKLIST_SQL + " WHERE system_id = ?",
                                             (system_id,))}
        checklist = []
        for o in latest.obligations:
            _, done, evidence, link, by, at = ticks.get(o["id"], (o["id"], 0, "", "", "", ""))
            checklist.append(Tick(o["id"], o["title"], tuple(o["refs"]), o["applies_from"],
                                  bool(done), evidence, link, by, at))
        decisions = tuple(self._decisions(db, system_id))
        return Entry(system, snapshot, tuple(checklist), decisions, later,
                     compare(snapshot.data, later.data) if later else None)

    def snapshots(self, system_id: int) -> list[Snapshot]:
        """Every assessment ever stored for a system, oldest first."""
        with self.file.read() as db:
            self._system_row(db, system_id)
            return self._snapshots(db, system_id)

    @staticmethod
    def _snapshot_at(db: sqlite3.Connection, snapshot_id: int) -> Snapshot:
        return snapshot_from_row(db.execute(SNAPSHOT_SQL + " WHERE id = ?",
                                            (snapshot_id,)).fetchone())

    @staticmethod
    def _snapshots(db: sqlite3.Connection, system_id: int) -> list[Snapshot]:
        return [snapshot_from_row(r) for r in db.execute(
            SNAPSHOT_SQL + " WHERE system_id = ? ORDER BY id", (system_id,))]

    @staticmethod
    def _decisions(db: sqlite3.Connection, system_id: int) -> list[Decision]:
        return [decision_from_row(r) for r in db.execute(
            DECISION_SQL + " WHERE system_id = ? ORDER BY id", (system_id,))]


# --- rows → records -------------------------------------------------------------------------


def system_from_row(row: Sequence) -> System:
    (system_id, name, owner, contact, description, role, vendor, channels, countries, use,
     status, facts, created, updated, version, risk_level, needs_review, next_deadline) = row
    return System(
        id=system_id, name=name, owner=owner, description=description, role=role,
        status=Status(status), use=Use(use), risk_level=risk_level, contact=contact,
        vendor=vendor, channels=tuple(json.loads(channels)),
        countries=tuple(json.loads(countries)), facts=json.loads(facts),
        needs_review=bool(needs_review), next_deadline=next_deadline or "",
        created_at=created, updated_at=updated, version=version)


def snapshot_from_row(row: Sequence) -> Snapshot:
    snapshot_id, system_id, made_at, corpus_version, as_of, origin, data = row
    return Snapshot(snapshot_id, system_id, made_at, corpus_version, as_of, origin,
                    json.loads(data))


def decision_from_row(row: Sequence) -> Decision:
    decision_id, system_id, at, by, action, before, after, comment, detail = row
    return Decision(decision_id, system_id, at, by, action, before, after, comment,
                    json.loads(detail))
