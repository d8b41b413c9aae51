"""Read one manifest document from disk into provisions, with clear errors for bad files.

Dispatches on the manifest ``parser`` field to the pure parsers (``eurlex``, ``formex``,
``guideline_pdf``, ``guideline_md``); this module does the I/O and the checks every format shares.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from kb.errors import BadDocument
from kb.records import Document, Provision

# Bump when a parser or the chunker changes what it produces: every document re-ingests.
PARSER_VERSION = "3"

SUFFIXES = {
    "eurlex_html": (".html", ".htm", ".xhtml"),
    "formex": (".xml",),
    "guideline_pdf": (".pdf",),
    "guideline_md": (".md", ".markdown", ".txt"),
}


def source_path(corpus_dir: Path, doc: Document) -> Path:
    return corpus_dir / doc.file


def source_files(corpus_dir: Path, doc: Document) -> list[Path]:
    """The files a document is read from: its file, plus the annex files a Formex act includes."""
    path = source_path(corpus_dir, doc)
    if doc.parser != "formex":
        return [path]
    stem = path.name.split(".")[0]  # "L_202601744EN"
    extra = sorted(p for p in path.parent.glob(f"{stem}.*.fmx.xml") if p != path)
    return [path, *extra]


def check_file(path: Path, doc: Document, *, max_bytes: int = 10 * 2**20) -> bytes:
    """The file's bytes, or BadDocument saying why they cannot be used."""
    if not path.is_file():
        raise BadDocument(f"{doc.id}: file not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise BadDocument(
            f"{doc.id}: {path.name} is {size / 2**20:.1f} MB, over the limit of "
            f"{max_bytes / 2**20:.0f} MB (KB_MAX_DOCUMENT_MB)")
    data = path.read_bytes()
    if not data.strip():
        raise BadDocument(f"{doc.id}: file is empty: {path}")
    suffixes = SUFFIXES[doc.parser]
    if not path.name.lower().endswith(suffixes):
        raise BadDocument(
            f"{doc.id}: parser {doc.parser} reads {', '.join(suffixes)} files, got {path.name}"
        )
    return data


def source_hash(corpus_dir: Path, doc: Document) -> str:
    """Hash of what the document's provisions depend on: files, manifest entry, parser."""
    digest = hashlib.sha256(PARSER_VERSION.encode())
    entry = {name: str(getattr(doc, name)) for name in doc.__slots__}
    digest.update(json.dumps(entry, sort_keys=True).encode())
    for path in source_files(corpus_dir, doc):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()[:16]


def parse_document(corpus_dir: Path, doc: Document, *, max_bytes: int = 10 * 2**20,
                   max_provisions: int = 20_000) -> list[Provision]:
    """Parse one document into provisions (original text; amendments are applied later).

    A file over ``max_bytes`` is refused before it is read; one that yields more than
    ``max_provisions`` provisions is refused before anything is indexed.
    """
    path = source_path(corpus_dir, doc)
    data = check_file(path, doc, max_bytes=max_bytes)
    if doc.parser == "eurlex_html":
        from ingest.eurlex import parse_eurlex

        provisions = parse_eurlex(data, doc)
    elif doc.parser == "formex":
        from ingest.formex import parse_formex

        provisions = parse_formex(path, doc)
    elif doc.parser == "guideline_pdf":
        from ingest.guideline_pdf import parse_guideline_pdf

        provisions = parse_guideline_pdf(data, doc)
    else:
        from ingest.guideline_md import parse_guideline_markdown

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadDocument(
                f"{doc.id}: {path.name} is not UTF-8 text (byte {error.start}); "
                "convert it to UTF-8 first"
            ) from None
        provisions = parse_guideline_markdown(text, doc)
    if not provisions:
        raise BadDocument(f"{doc.id}: no provisions found in {path.name}")
    if len(provisions) > max_provisions:
        raise BadDocument(
            f"{doc.id}: {path.name} has {len(provisions):,} paragraphs, over the limit of "
            f"{max_provisions:,} (KB_MAX_PROVISIONS)")
    lang = (doc.language or "en").strip().lower()
    if lang != "en":
        provisions = [replace(p, lang=lang) for p in provisions]
    return provisions
