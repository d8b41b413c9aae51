"""Maintainers' operations on the corpus: status, add a document, remove one.

``add_document`` checks a new file completely (parses it; a language version is also
checked against its original's refs) before it touches the corpus or the manifest, so bad
input changes nothing.  Both leave indexing to ``pipeline.sync``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ingest.manifest import check_id, check_translation_of, find, load_manifest, save_manifest
from ingest.parsers import SUFFIXES, parse_document, source_files
from ingest.pipeline import document_hashes
from ingest.translations import checked_translation
from kb.errors import BadDocument, DuplicateId
from kb.index.store import Store
from kb.records import Document, Kind

_FOLDERS = {
    Kind.REGULATION: "regulations",
    Kind.AMENDING_REGULATION: "amendments",
    Kind.GUIDELINE: "guidelines",
    Kind.FAQ: "faq",
    Kind.CODE_OF_PRACTICE: "codes",
    Kind.NATIONAL_GUIDANCE: "national",
}


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
    settings,
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
) -> Document:
    """Copy ``file`` into the corpus and list it in the manifest, after checking it parses
    (and, for a language version, that it has exactly its original's refs)."""
    source = Path(file).expanduser().resolve()
    documents = load_manifest(settings.manifest_path)
    check_id(doc_id)
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
    original = None
    if translation_of:
        original = find(documents, translation_of)
        cite_as = cite_as or original.cite_as
    if not source.is_file():
        raise BadDocument(f"file not found: {file}")
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
        parse_document(source.parent, here)
    else:
        check_translation_of(doc, documents)
        checked_translation(source.parent, here, original,
                            parse_document(settings.corpus_dir, original))
    destination = settings.corpus_dir / target
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
    try:
        save_manifest(settings.manifest_path, [*documents, doc])
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return doc


def _fields(doc: Document) -> dict:
    return {name: getattr(doc, name) for name in doc.__slots__}


def remove_document(settings, doc_id: str) -> Document:
    """Drop a document from the manifest and delete its files from the corpus."""
    documents = load_manifest(settings.manifest_path)
    doc = find(documents, doc_id)
    dependants = [d.id for d in documents if d.amends == doc_id]
    if dependants:
        raise BadDocument(f"{doc_id} is amended by {', '.join(dependants)}; remove those first")
    versions = [d.id for d in documents if d.translation_of == doc_id]
    if versions:
        raise BadDocument(f"{doc_id} has language versions {', '.join(versions)}; "
                          "remove those first")
    files = source_files(settings.corpus_dir, doc)
    save_manifest(settings.manifest_path, [d for d in documents if d.id != doc_id])
    for path in files:
        path.unlink(missing_ok=True)
    return doc


def status(settings) -> dict:
    """What is indexed, as a JSON-ready dict (see ``python -m ingest status --json``)."""
    store = Store(settings)
    catalog = store.catalog
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
