"""Keeping the register current with the law: re-assessing systems, what an amending act
changes, and the deadlines coming up.

In: the systems of the register and the law the assessor reads on a date; out: a
:class:`Recheck` report, the systems an amendment changes, and :class:`Deadline` rows.
Snapshots are never changed: a recheck that finds a difference stores a pending assessment
that the owner adopts with :meth:`kb.register.register.Register.reassess`.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date

from kb.errors import BadInput, KbError
from kb.register.core import RegisterCore
from kb.register.records import Deadline, Diff, Recheck, System, Use, compare, snapshot_data

log = logging.getLogger(__name__)

DEFAULT_WITHIN_DAYS = 90


class LawWatch(RegisterCore):
    """Recheck, the changes between two dates of the law, and deadlines."""

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
