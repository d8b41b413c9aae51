"""The catalog: a SQLite file beside the vectors with documents, every version of every
provision, every chunk, and which Chroma collection is live.  Language versions of a
document (the German and French AI Act) have tables of their own, ``translations`` and
``translation_chunks``, so that everything reading ``provisions`` and ``chunks`` keeps
seeing one wording per ref and version.

Ingest writes a complete new catalog to a temporary file and renames it over the old one
(:meth:`kb.index.store.Generation.commit`), so readers always see one consistent state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

from kb.records import Chunk, Document, Kind, Provision, StoredChunk

SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, position INTEGER, entry TEXT, source_hash TEXT,
    chunk_count INTEGER, unit_counts TEXT, ingested_at TEXT
);
CREATE TABLE provisions (
    doc_id TEXT, ref TEXT, valid_from TEXT, valid_until TEXT, deleted INTEGER,
    position INTEGER, data TEXT, PRIMARY KEY (doc_id, ref, valid_from)
);
CREATE INDEX provisions_ref ON provisions (ref);
CREATE TABLE chunks (
    id TEXT PRIMARY KEY, doc_id TEXT, ref TEXT, part INTEGER, valid_from TEXT,
    valid_until TEXT, text TEXT, embed_text TEXT, hash TEXT, position INTEGER
);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE translations (
    source TEXT, doc_id TEXT, lang TEXT, ref TEXT, position INTEGER, data TEXT,
    PRIMARY KEY (doc_id, lang, ref)
);
CREATE TABLE translation_chunks (
    id TEXT PRIMARY KEY, source TEXT, lang TEXT, doc_id TEXT, ref TEXT, part INTEGER,
    valid_from TEXT, valid_until TEXT, text TEXT, embed_text TEXT, hash TEXT, position INTEGER
);
"""
# Chunk columns in StoredChunk order.
_CHUNK_COLUMNS = "id, doc_id, ref, part, valid_from, valid_until, text, embed_text, hash"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A document as indexed: its manifest entry and what ingest made of it."""

    document: Document
    source_hash: str
    chunk_count: int
    unit_counts: dict[str, int]
    ingested_at: str


def _document_json(doc: Document) -> str:
    data = {name: getattr(doc, name) for name in doc.__slots__}
    data["kind"] = doc.kind.value
    return json.dumps(data)


def _document_from_json(text: str) -> Document:
    data = json.loads(text)
    return Document(**{**data, "kind": Kind(data["kind"])})


def in_force(valid_from: str | None, valid_until: str | None, as_of: str) -> bool:
    """Whether a version with these bounds is the law on ``as_of`` (ISO dates).

    >>> in_force(None, "2026-07-27", "2026-01-01"), in_force("2026-07-27", None, "2026-01-01")
    (True, False)
    """
    return (not valid_from or valid_from <= as_of) and (not valid_until or as_of < valid_until)


class Catalog:
    """Read access to a catalog file (safe to share between threads: read-only)."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def close(self) -> None:
        self._db.close()

    def state(self, key: str, default: str = "") -> str:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def all_state(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM state"))

    def documents(self) -> list[DocumentRecord]:
        rows = self._db.execute(
            "SELECT entry, source_hash, chunk_count, unit_counts, ingested_at"
            " FROM documents ORDER BY position"
        )
        return [
            DocumentRecord(_document_from_json(e), h, n, json.loads(u), t)
            for e, h, n, u, t in rows
        ]

    def provisions(self, doc_id: str | None = None) -> list[Provision]:
        """Every version of every provision (of one document), in document order."""
        sql = "SELECT data FROM provisions"
        args: tuple = ()
        if doc_id:
            sql += " WHERE doc_id = ?"
            args = (doc_id,)
        rows = self._db.execute(sql + " ORDER BY doc_id, position", args)
        return [Provision.from_dict(json.loads(data)) for (data,) in rows]

    def versions(self, ref: str, doc_id: str | None = None) -> list[Provision]:
        """All versions of the provisions with this exact ref, oldest first."""
        sql = "SELECT data FROM provisions WHERE ref = ?"
        args: tuple = (ref,)
        if doc_id:
            sql += " AND doc_id = ?"
            args += (doc_id,)
        rows = self._db.execute(sql + " ORDER BY doc_id, valid_from", args)
        return [Provision.from_dict(json.loads(data)) for (data,) in rows]

    def chunks(self, doc_id: str | None = None) -> list[StoredChunk]:
        sql = (
            "SELECT id, doc_id, ref, part, valid_from, valid_until, text, embed_text, hash"
            " FROM chunks"
        )
        args: tuple = ()
        if doc_id:
            sql += " WHERE doc_id = ?"
            args = (doc_id,)
        rows = self._db.execute(sql + " ORDER BY doc_id, position", args)
        return [StoredChunk(*row) for row in rows]


    def _translation_rows(self, sql: str, args: tuple) -> list:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as error:  # a catalog written before translations
            if "no such table" in str(error):
                return []
            raise

    def translations(self, lang: str | None = None, *, source: str | None = None
                     ) -> list[Provision]:
        """Provisions of the language versions (in one language, or of one language
        version ``source``), in document order.  Each carries its original's doc_id and ref."""
        where = [(clause, value) for clause, value in (("lang = ?", lang), ("source = ?", source))
                 if value]
        sql = "SELECT data FROM translations"
        if where:
            sql += " WHERE " + " AND ".join(clause for clause, _ in where)
        rows = self._translation_rows(sql + " ORDER BY source, position",
                                      tuple(value for _, value in where))
        return [Provision.from_dict(json.loads(data)) for (data,) in rows]

    def translation_chunks(self, lang: str | None = None, *, source: str | None = None
                           ) -> list[StoredChunk]:
        """Chunks of the language versions' provisions, for lexical search in that language
        (the bundled embedding model is English-only, so they have no vectors)."""
        where = [(clause, value) for clause, value in (("lang = ?", lang), ("source = ?", source))
                 if value]
        sql = f"SELECT {_CHUNK_COLUMNS} FROM translation_chunks"
        if where:
            sql += " WHERE " + " AND ".join(clause for clause, _ in where)
        rows = self._translation_rows(sql + " ORDER BY source, position",
                                      tuple(value for _, value in where))
        return [StoredChunk(*row) for row in rows]


def stored(chunk: Chunk) -> StoredChunk:
    """The catalog form of a new chunk."""
    p = chunk.provision
    return StoredChunk(
        chunk.id, p.doc_id, p.ref, chunk.part, p.valid_from, p.valid_until,
        chunk.text, chunk.embed_text, chunk.content_hash,
    )


@dataclass(frozen=True)
class CatalogContent:
    """Everything a catalog file holds, ready to be written in one go."""

    documents: list[DocumentRecord]
    provisions: dict[str, list[Provision]]  # by document id, in document order
    chunks: dict[str, list[StoredChunk]]  # by document id, in document order
    state: dict[str, str]
    # Language versions, by the version's document id; their records carry the original's
    # doc_id and refs (see kb.law.library).
    translations: dict[str, list[Provision]] = field(default_factory=dict)
    translation_chunks: dict[str, list[StoredChunk]] = field(default_factory=dict)

    def with_state(self, state: dict[str, str]) -> CatalogContent:
        return replace(self, state=state)

    @classmethod
    def read(cls, catalog: Catalog) -> CatalogContent:
        """The content of an existing catalog (to re-commit it elsewhere)."""
        records = catalog.documents()
        ids = [r.document.id for r in records if not r.document.translation_of]
        versions = [r.document.id for r in records if r.document.translation_of]
        return cls(records, {i: catalog.provisions(i) for i in ids},
                   {i: catalog.chunks(i) for i in ids}, catalog.all_state(),
                   {v: catalog.translations(source=v) for v in versions},
                   {v: catalog.translation_chunks(source=v) for v in versions})


def write_catalog(path: Path, content: CatalogContent) -> None:
    """Write a complete catalog to ``path`` atomically (unique temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        with closing(sqlite3.connect(tmp)) as db, db:
            _fill(db, content)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fill(db: sqlite3.Connection, content: CatalogContent) -> None:
    db.executescript(SCHEMA)
    db.executemany(
        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (r.document.id, i, _document_json(r.document), r.source_hash, r.chunk_count,
             json.dumps(r.unit_counts), r.ingested_at)
            for i, r in enumerate(content.documents)
        ],
    )
    for doc_id, items in content.provisions.items():
        db.executemany(
            "INSERT INTO provisions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (doc_id, p.ref, p.valid_from or "", p.valid_until, int(p.deleted), i,
                 json.dumps(p.to_dict()))
                for i, p in enumerate(items)
            ],
        )
    for items in content.chunks.values():
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*(getattr(c, f) for f in c.__slots__), i) for i, c in enumerate(items)],
        )
    for source, items in content.translations.items():
        db.executemany(
            "INSERT INTO translations VALUES (?, ?, ?, ?, ?, ?)",
            [(source, p.doc_id, p.lang, p.ref, i, json.dumps(p.to_dict()))
             for i, p in enumerate(items)],
        )
    for source, items in content.translation_chunks.items():
        lang = next((p.lang for p in content.translations.get(source, ())), "")
        db.executemany(
            "INSERT INTO translation_chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.id, source, lang, c.doc_id, c.ref, c.part, c.valid_from, c.valid_until,
              c.text, c.embed_text, c.hash, i) for i, c in enumerate(items)],
        )
    db.executemany("INSERT INTO state VALUES (?, ?)", list(content.state.items()))
