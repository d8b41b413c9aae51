"""The register file: the only module that opens ``KB_DATA_DIR/register.sqlite``.

Schema and migrations (``PRAGMA user_version``), WAL journal so the app's sessions and the
CLI can read while one writes, ``BEGIN IMMEDIATE`` write transactions (one writer at a time,
all or nothing: a crash mid-write leaves the last committed state), and triggers that make
the decision log and the assessment snapshots append-only whatever program opens the file.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from kb.errors import RegisterError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30  # how long a writer waits for another one before giving up

_V1 = """
CREATE TABLE systems (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(name) > 0),
    owner TEXT NOT NULL CHECK (length(owner) > 0),
    contact TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL CHECK (length(description) > 0),
    role TEXT NOT NULL DEFAULT '',
    vendor TEXT NOT NULL DEFAULT '',
    channels TEXT NOT NULL DEFAULT '[]',
    countries TEXT NOT NULL DEFAULT '[]',
    use_status TEXT NOT NULL CHECK (use_status IN ('planned', 'pilot', 'live', 'retired')),
    status TEXT NOT NULL
        CHECK (status IN ('draft', 'submitted', 'approved', 'changes_requested')),
    facts TEXT NOT NULL DEFAULT '{}',
    assessment INTEGER REFERENCES assessments(id),
    pending INTEGER REFERENCES assessments(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX systems_status ON systems(status);
CREATE INDEX systems_owner ON systems(owner);

CREATE TABLE assessments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL REFERENCES systems(id),
    made_at TEXT NOT NULL,
    corpus_version TEXT NOT NULL,
    as_of TEXT NOT NULL,
    origin TEXT NOT NULL,
    risk_level TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX assessments_system ON assessments(system_id, id);

-- The obligations of each snapshot with their dates: what deadlines are computed from.
CREATE TABLE dues (
    assessment_id INTEGER NOT NULL REFERENCES assessments(id),
    obligation_id TEXT NOT NULL,
    title TEXT NOT NULL,
    refs TEXT NOT NULL,
    applies_from TEXT NOT NULL,
    PRIMARY KEY (assessment_id, obligation_id)
) WITHOUT ROWID;
CREATE INDEX dues_date ON dues(applies_from);

CREATE TABLE checklist (
    system_id INTEGER NOT NULL REFERENCES systems(id),
    obligation_id TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    evidence TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    ticked_by TEXT NOT NULL DEFAULT '',
    ticked_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (system_id, obligation_id)
) WITHOUT ROWID;

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL REFERENCES systems(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX decisions_system ON decisions(system_id, id);

CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
CREATE TRIGGER assessments_never_change BEFORE UPDATE ON assessments
BEGIN SELECT RAISE(ABORT, 'assessment snapshots are never changed'); END;
CREATE TRIGGER assessments_never_deleted BEFORE DELETE ON assessments
BEGIN SELECT RAISE(ABORT, 'assessment snapshots are never changed'); END;
CREATE TRIGGER dues_never_change BEFORE UPDATE ON dues
BEGIN SELECT RAISE(ABORT, 'assessment snapshots are never changed'); END;
CREATE TRIGGER dues_never_deleted BEFORE DELETE ON dues
BEGIN SELECT RAISE(ABORT, 'assessment snapshots are never changed'); END;
CREATE TRIGGER systems_never_deleted BEFORE DELETE ON systems
BEGIN SELECT RAISE(ABORT, 'systems are retired, never deleted'); END;
"""

# MIGRATIONS[n] takes a register from schema n to n + 1; never edit a released one.
MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


class RegisterFile:
    """Connections to the register's SQLite file, each used for one read or one write."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as error:
            raise RegisterError(f"cannot open the register {self.path}: {error}") from None
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = FULL")
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            self._migrate(db)
        except sqlite3.DatabaseError as error:
            db.close()
            raise RegisterError(f"{self.path} is not a usable register ({error}); restore it "
                                "from a JSON export with: python -m kb register import") from None
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise RegisterError(
                f"{self.path} was written by a newer version of this program (register schema "
                f"{version}, this one knows {SCHEMA_VERSION}); upgrade before using it")
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another may have won
            for step in range(version, SCHEMA_VERSION):
                log.info("register %s: migrating schema %d → %d", self.path, step, step + 1)
                for statement in _statements(MIGRATIONS[step]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading one consistent state (a deferred transaction)."""
        with closing(self._connect()) as db:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("ROLLBACK")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (``BEGIN IMMEDIATE``): committed when the block
        ends, rolled back on any exception, so no half-written change is ever visible."""
        with closing(self._connect()) as db:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise RegisterError(f"the register is busy ({error}); try again") from None
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """The statements of a migration script (triggers keep their inner semicolons)."""
    out, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        current.append(line)
        joined = "\n".join(current)
        if joined.rstrip().endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            current = []
    return out
