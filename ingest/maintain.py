"""Maintainers' operations: add or remove a document, re-index, rebuild, status, doctor.

The one module the CLI and the app's Sources page call to change the knowledge base.  Each
change holds the writer lock (:mod:`ingest.lock`) from its first check to its last write;
``add_document`` parses the file completely (a language version is also checked against
its original's refs) before it touches the corpus or the manifest, and undoes both if
indexing then fails, so bad input changes nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ingest.impact import DEFAULT_QUESTIONS, Impact, impact
from ingest.lock import writer_lock
from ingest.manifest import (
    check_id,
    check_text,
    check_translation_of,
    find,
    load_manifest,
    save_manifest,
)
from ingest.parsers import SUFFIXES, parse_document, source_files
from ingest.pipeline import Progress, SyncReport, document_hashes, sync
from ingest.translations import checked_translation
from kb.config import Settings
from kb.console import no_progress
from kb.errors import BadDocument, DuplicateId, KbError
from kb.index.store import INDEX_FORMAT, Store
from kb.records import Document, Kind
from kb.register import Recheck, Register

__all__ = ["DEFAULT_QUESTIONS", "SUFFIXES", "Impact", "SyncReport", "add_document", "diagnose",
           "impact", "recheck_register", "reindex", "remove_document", "status"]

_FOLDERS = {
    Kind.REGULATION: "regulations",
    Kind.AMENDING_REGULATION: "amendments",
    Kind.GUIDELINE: "guidelines",
    Kind.FAQ: "faq",
    Kind.CODE_OF_PRACTICE: "codes",
    Kind.NATIONAL_GUIDANCE: "national",
}
Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def parser_for(path: Path, kind: Kind) -> str:
    """The parser for a file, from its suffix (HTML from EUR-Lex, Formex XML, PDF, Markdown)."""
    name = path.name.lower()
    for parser, suffixes in SUFFIXES.items():
        if name.endswith(suffixes):
            return parser
    known = ", ".join(s for suffixes in SUFFIXES.values() for s in suffixes)
    raise BadDocument(f"unknown format {path.suffix or path.name!r}; supported: {known}")


def _cite_as(title: str, identifier: str, kind: Kind) -> str:
    if kind in (Kind.REGULATION, Kind.AMENDING_REGULATION):
        match = re.search(r"\d{4}/\d+", title + " " + identifier)
        return f"Regulation (EU) {match.group(0)}" if match else title
    return f"Guidelines {identifier}" if identifier else title


def add_document(
    settings: Settings,
    file: str | Path,
    *,
    doc_id: str,
    title: str,
    kind: str,
    date: str = "",
    url: str = "",
    issuer: str = "",
    identifier: str = "",
    cite_as: str = "",
    amends: str = "",
    note: str = "",
    language: str = "en",
    translation_of: str = "",
    index: bool = True,
    wait: bool = True,
    say: Say = _quiet,
    progress: Progress = no_progress,
) -> tuple[Document, SyncReport | None]:
    """Check ``file`` completely, copy it into the corpus, list it, and index it.

    Everything happens under the writer lock; if indexing fails, the file and the manifest
    entry are removed again and the error is raised.
    """
    source = Path(file).expanduser().resolve()
    with writer_lock(settings, wait=wait, waiting=say):
        documents = load_manifest(settings.manifest_path)
        doc = _new_document(settings, source, documents, doc_id=doc_id, title=title,
                            kind=kind, date=date, url=url, issuer=issuer,
                            identifier=identifier, cite_as=cite_as, amends=amends, note=note,
                            language=language, translation_of=translation_of)
        destination = settings.corpus_dir / doc.file
        destination.parent.mkdir(parents=True, exist_ok=True)
        _copy_atomically(source, destination)
        try:
            save_manifest(settings.manifest_path, [*documents, doc])
            report = sync(settings, progress=progress) if index else None
        except BaseException:
            save_manifest(settings.manifest_path, documents)
            destination.unlink(missing_ok=True)
            raise
    _after_sync(settings, report, say)
    return doc, report


def _new_document(settings: Settings, source: Path, documents: list[Document], *,
                  doc_id: str, title: str, kind: str, date: str, url: str, issuer: str,
                  identifier: str, cite_as: str, amends: str, note: str, language: str,
                  translation_of: str) -> Document:
    """The manifest entry for a new file, after every check (the file is parsed here)."""
    check_id(doc_id)
    for name, value in (("title", title), ("date", date), ("url", url), ("issuer", issuer),
                        ("identifier", identifier), ("cite_as", cite_as), ("note", note)):
        check_text(name, value)
    if not title.strip():
        raise BadDocument("a title is required")
    if any(d.id == doc_id for d in documents):
        raise DuplicateId(f"document id {doc_id!r} is already in the manifest; pick another")
    if date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise BadDocument(f"--date must be YYYY-MM-DD, got {date!r}")
    try:
        kind_value = Kind.from_str(kind)
    except ValueError as error:
        raise BadDocument(str(error)) from None
    if amends:
        find(documents, amends)
    language = (language or "en").strip().lower()
    original = find(documents, translation_of) if translation_of else None
    if original is not None:
        cite_as = cite_as or original.cite_as
    if not source.is_file():
        raise BadDocument(f"file not found: {source}")
    parser = parser_for(source, kind_value)
    target = Path(_FOLDERS[kind_value]) / source.name
    if (settings.corpus_dir / target).exists():
        raise DuplicateId(f"corpus/{target} already exists; rename the file first")
    doc = Document(
        id=doc_id, title=title, kind=kind_value, file=str(target), parser=parser, issuer=issuer,
        date=date, identifier=identifier, url=url,
        cite_as=cite_as if original else cite_as or _cite_as(title, identifier, kind_value),
        note=note, amends=amends, language=language, translation_of=translation_of,
    )
    # Parse from where the file is now: a bad file never reaches the corpus.
    here = Document(**{**_fields(doc), "file": source.name})
    if original is None:
        parse_document(source.parent, here, **settings.parse_limits)
    else:
        check_translation_of(doc, documents)
        checked_translation(source.parent, here, original,
                            parse_document(settings.corpus_dir, original,
                                           **settings.parse_limits))
    return doc


def _copy_atomically(source: Path, destination: Path) -> None:
    handle, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp",
                                    dir=destination.parent)
    try:
        with open(handle, "wb") as out, source.open("rb") as data:
            shutil.copyfileobj(data, out)
        Path(name).replace(destination)
    finally:
        Path(name).unlink(missing_ok=True)


def _fields(doc: Document) -> dict:
    return {name: getattr(doc, name) for name in doc.__slots__}


def remove_document(settings: Settings, doc_id: str, *, index: bool = True, wait: bool = True,
                    say: Say = _quiet,
                    progress: Progress = no_progress) -> tuple[Document, SyncReport | None]:
    """Drop a document from the manifest, delete its files, and re-index (under the lock)."""
    with writer_lock(settings, wait=wait, waiting=say):
        documents = load_manifest(settings.manifest_path)
        doc = find(documents, doc_id)
        dependants = [d.id for d in documents if d.amends == doc_id]
        if dependants:
            raise BadDocument(
                f"{doc_id} is amended by {', '.join(dependants)}; remove those first")
        versions = [d.id for d in documents if d.translation_of == doc_id]
        if versions:
            raise BadDocument(f"{doc_id} has language versions {', '.join(versions)}; "
                              "remove those first")
        save_manifest(settings.manifest_path, [d for d in documents if d.id != doc_id])
        for path in source_files(settings.corpus_dir, doc):
            path.unlink(missing_ok=True)
        report = sync(settings, progress=progress) if index else None
    _after_sync(settings, report, say)
    return doc, report


def reindex(settings: Settings, *, rebuild: bool = False, wait: bool = True, say: Say = _quiet,
            progress: Progress = no_progress) -> SyncReport:
    """Sync the index with the manifest.  ``rebuild`` re-embeds everything and first moves
    a damaged catalog or Chroma directory aside, saying where."""
    with writer_lock(settings, wait=wait, waiting=say):
        if rebuild:
            for message in set_aside_damaged(settings):
                say(message)
        report = sync(settings, rebuild=rebuild, progress=progress)
    _after_sync(settings, report, say)
    return report


def _after_sync(settings: Settings, report: SyncReport | None, say: Say) -> None:
    if report is not None and report.changed:
        recheck_register(settings, say=say)


def recheck_register(settings: Settings, *, say: Say = _quiet) -> Recheck | None:
    """Re-assess the registered AI systems on the index just committed (when there is a
    register), flagging those the change affects; a failure is reported, not raised, since
    the index itself is fine."""
    if not settings.register_path.exists():
        return None
    try:
        report = Register.open(settings).recheck()
    except KbError as error:
        say(f"register recheck failed: {error}; run: python -m kb register recheck")
        return None
    flagged = len(report.flagged) + len(report.still_flagged)
    say(f"register: rechecked {report.checked} systems, {len(report.flagged)} newly need review"
        + (f" ({flagged} in all; see: python -m kb register list --needs-review)"
           if flagged else ""))
    return report


def set_aside_damaged(settings: Settings) -> list[str]:
    """Move an unreadable catalog or embedded Chroma directory to ``data/broken-<time>/``."""
    moved = []
    aside = settings.data_dir / f"broken-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    if settings.catalog_path.exists() and _catalog_problem(settings.catalog_path):
        aside.mkdir(parents=True, exist_ok=True)
        settings.catalog_path.replace(aside / settings.catalog_path.name)
        moved.append(f"moved the damaged catalog to {aside / settings.catalog_path.name}")
    if not settings.chroma_host and settings.chroma_dir.exists():
        try:
            Store(settings).generation_names()
        except Exception as error:  # the Chroma client raises many kinds for a broken directory
            aside.mkdir(parents=True, exist_ok=True)
            settings.chroma_dir.replace(aside / "chroma")
            moved.append(f"moved the unreadable Chroma directory ({type(error).__name__}) "
                         f"to {aside / 'chroma'}")
    return moved


def _catalog_problem(path: Path) -> str:
    """What is wrong with a catalog file ("" when it reads and checks clean)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            db.execute("SELECT value FROM state WHERE key = 'collection'").fetchone()
    except sqlite3.DatabaseError as error:
        return str(error)
    return "" if result == "ok" else result


def status(settings: Settings) -> dict:
    """What is indexed, as a JSON-ready dict (see ``python -m ingest status --json``)."""
    store = Store(settings)
    catalog = store.open_catalog()
    manifest = load_manifest(settings.manifest_path)
    hashes = document_hashes(settings, manifest)
    records = catalog.documents()
    indexed = {r.document.id: r for r in records}
    pending = [d.id for d in manifest if d.id not in indexed
               or indexed[d.id].source_hash != hashes[d.id]]
    pending += [doc_id for doc_id in indexed if doc_id not in hashes]
    return {
        "store": settings.store_location,
        "collection": catalog.state("collection"),
        "corpus_version": catalog.state("corpus_version"),
        "last_ingest": catalog.state("last_ingest"),
        "embed_model": catalog.state("embed_model"),
        "documents": [
            {
                "id": r.document.id,
                "title": r.document.title,
                "kind": r.document.kind.value,
                "issuer": r.document.issuer,
                "date": r.document.date,
                "identifier": r.document.identifier,
                "file": r.document.file,
                "language": r.document.language,
                "translation_of": r.document.translation_of,
                "hash": r.source_hash,
                "chunks": r.chunk_count,
                "units": r.unit_counts,
                "ingested_at": r.ingested_at,
            }
            for r in records
        ],
        "amendments": json.loads(catalog.state("amendments", "[]")),
        "pending": pending,
    }


def diagnose(settings: Settings) -> list[tuple[str, str]]:
    """Everything wrong with the corpus and the index: [(problem, the command that fixes it)].

    Checks the manifest, the files and their hashes, the catalog, the Chroma store, the
    live collection against the catalog, and collections left by interrupted ingests.
    """
    problems: list[tuple[str, str]] = []
    try:
        manifest = load_manifest(settings.manifest_path)
    except KbError as error:
        return [(f"manifest: {error}", f"edit {settings.manifest_path}")]
    for doc in manifest:
        for path in source_files(settings.corpus_dir, doc):
            if not path.is_file():
                problems.append((f"{doc.id}: file {path} is missing",
                                 f"python -m ingest remove {doc.id}   # or restore the file"))
    problem = _catalog_problem(settings.catalog_path) if settings.catalog_path.exists() else ""
    if not settings.catalog_path.exists():
        return [*problems, ("no index has been built", "python -m ingest")]
    if problem:
        return [*problems, (f"the catalog is damaged: {problem}", "python -m ingest --rebuild")]
    store = Store(settings)
    catalog = store.open_catalog()
    if catalog.state("index_format") != INDEX_FORMAT:
        problems.append(("the index was built by an older version", "python -m ingest"))
    try:
        names = store.generation_names()
    except KbError as error:
        return [*problems, (str(error), "start the Chroma server, or: python -m ingest --rebuild")]
    except Exception as error:
        return [*problems, (f"the Chroma store cannot be read: {error}",
                            "python -m ingest --rebuild")]
    live = catalog.state("collection")
    if live not in names:
        problems.append((f"the live collection {live} is missing", "python -m ingest --rebuild"))
    else:
        stored = store.client.get_collection(live).count()
        expected = len(catalog.chunks())
        if stored != expected:
            problems.append((f"the live collection has {stored} vectors, the catalog "
                             f"{expected} chunks", "python -m ingest --rebuild"))
    retired = {r["name"] for r in store.retired()}
    stale = [n for n in names if n != live and n not in retired]
    if stale:
        problems.append((f"collections left by interrupted ingests: {', '.join(stale)}",
                         "python -m ingest"))
    try:
        pending = status(settings)["pending"]
    except KbError:
        pending = []
    if pending:
        problems.append((f"changed since the last ingest: {', '.join(pending)}",
                         "python -m ingest"))
    return problems
