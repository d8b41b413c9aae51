"""The AI system register: :class:`Register`, typed methods over the register file.

In: typed fields (checked against the limits of :mod:`kb.register.records`), an assessor
(the :class:`kb.Assistant`) for ``add``, ``reassess`` and ``recheck``, and the reviewer
token; out: frozen records.  Every change is one write transaction of
:mod:`kb.register.store` that checks the system's version when the caller says which one it
saw, moves the status by :mod:`kb.register.workflow`, and appends to the decision log.
Here: the owner's and reviewer's actions; reading and the shared steps are in
:mod:`kb.register.core`, rechecks and deadlines in :mod:`kb.register.recheck`, backup in
:mod:`kb.register.backup`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from kb.errors import BadInput, BadTransition
from kb.obligations.assess import clean_description
from kb.register import workflow
from kb.register.backup import Backup
from kb.register.core import Assessor
from kb.register.recheck import DEFAULT_WITHIN_DAYS, LawWatch
from kb.register.records import (
    Entry,
    Snapshot,
    Status,
    Use,
    compare,
    link_field,
    list_field,
    snapshot_data,
    text_field,
)

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_WITHIN_DAYS", "Assessor", "Register"]


class Register(LawWatch, Backup):
    """The register of AI systems in one SQLite file (``KB_DATA_DIR/register.sqlite``).

    Safe to use from several threads and processes at once: each call opens its own
    connection, and writes are serialised transactions.  Pass ``expected_version`` (the
    ``version`` of the record you showed the user) to refuse a change made on stale data.
    """

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
