"""Backing the register up and restoring it: every row of every system, losslessly.

In/out: the dictionaries the JSON export of :mod:`kb.register.export` writes and validates;
the file format (and its checks) is the export's, the rows are written here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from kb.errors import BadInput
from kb.register.core import CHECKLIST_SQL, RegisterCore


class Backup(RegisterCore):
    """Dump the register's rows, and restore them into an empty register."""

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
                    "assessments": [a.to_dict() for a in self._snapshots(db, system_id)],
                    "checklist": [
                        {"obligation_id": r[0], "done": bool(r[1]), "evidence": r[2],
                         "link": r[3], "by": r[4], "at": r[5]}
                        for r in db.execute(CHECKLIST_SQL + " WHERE system_id = ? "
                                            "ORDER BY obligation_id", (system_id,))],
                    "log": [d.to_dict() for d in self._decisions(db, system_id)],
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
