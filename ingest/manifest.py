"""Read and write ``corpus/manifest.toml``: one ``[[document]]`` table per source document.

The manifest is the list of what the knowledge base should contain; ingest makes the
index match it.  Writing keeps the file readable (one table per document, fixed key order).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import fields
from pathlib import Path

from kb.errors import BadDocument, DuplicateId, UnknownDocument
from kb.records import Document, Kind

PARSERS = ("eurlex_html", "formex", "guideline_pdf", "guideline_md")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_HEADER = """\
# The documents of the knowledge base, one [[document]] table each.
# Fields: id (stable, used in chunk ids), title, kind (regulation, amending_regulation,
# guideline, faq, code_of_practice, national_guidance), issuer, date (adoption, ISO),
# identifier (CELEX or C(...) number), url (official text), language, file (relative to
# corpus/), parser (eurlex_html, formex, guideline_pdf, guideline_md), cite_as (short name
# used in citation refs), note (where the file is not the official format), amends (for an
# amending act: the id of the document it amends) and translation_of (for a language version
# of another document, e.g. the German AI Act: that document's id; same refs, other language).
# Maintained by `python -m ingest add/remove`; hand edits are fine too.
"""


def check_id(doc_id: str) -> str:
    """Validate a document id: lower-case letters, digits and hyphens.

    >>> check_id("eu-ai-act")
    'eu-ai-act'
    """
    if not _ID.match(doc_id):
        raise BadDocument(
            f"document id must be 2-63 lower-case letters, digits or hyphens, got {doc_id!r}"
        )
    return doc_id


def document_from_dict(data: dict) -> Document:
    known = {f.name for f in fields(Document)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadDocument(f"unknown manifest field(s) {unknown} in document {data.get('id')!r}")
    missing = [name for name in ("id", "title", "kind", "file", "parser") if not data.get(name)]
    if missing:
        raise BadDocument(f"manifest document {data.get('id')!r} lacks {', '.join(missing)}")
    if data["parser"] not in PARSERS:
        raise BadDocument(f"unknown parser {data['parser']!r}; valid: {', '.join(PARSERS)}")
    try:
        kind = Kind.from_str(data["kind"])
    except ValueError as error:
        raise BadDocument(str(error)) from None
    return Document(**{**data, "id": check_id(data["id"]), "kind": kind})


def load_manifest(path: Path) -> list[Document]:
    """The documents listed in the manifest, in file order."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadDocument(f"no manifest at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise BadDocument(f"manifest {path} is not valid TOML: {error}") from None
    documents = [document_from_dict(entry) for entry in data.get("document", [])]
    seen: set[str] = set()
    for doc in documents:
        if doc.id in seen:
            raise DuplicateId(f"document id {doc.id!r} appears twice in {path}")
        seen.add(doc.id)
    for doc in documents:
        if doc.translation_of:
            check_translation_of(doc, documents)
    return documents


def check_translation_of(doc: Document, documents: list[Document]) -> Document:
    """The original a language version names: listed, not itself a translation, and in
    another language.  Returns the original."""
    original = next((d for d in documents if d.id == doc.translation_of), None)
    if original is None:
        known = ", ".join(d.id for d in documents if not d.translation_of)
        raise BadDocument(
            f"{doc.id}: translation_of {doc.translation_of!r} is not in the manifest; "
            f"known: {known}"
        )
    if original.translation_of:
        raise BadDocument(
            f"{doc.id}: translation_of {original.id!r}, itself a translation of "
            f"{original.translation_of!r}; name the original instead"
        )
    if doc.kind is not original.kind:
        raise BadDocument(
            f"{doc.id}: a language version has its original's kind {original.kind.value!r}, "
            f"got {doc.kind.value!r}"
        )
    if doc.language == original.language:
        raise BadDocument(
            f"{doc.id}: a language version needs another language than {original.id!r} "
            f"({original.language!r}); set language"
        )
    twin = next((d for d in documents if d.id != doc.id and d.translation_of == original.id
                 and d.language == doc.language), None)
    if twin is not None:
        raise DuplicateId(
            f"{doc.id}: {original.id!r} already has a {doc.language!r} version, {twin.id!r}; "
            "remove it first"
        )
    return original


def _toml_value(value) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def dump_manifest(documents: list[Document]) -> str:
    """The manifest text for ``documents``."""
    parts = [_HEADER]
    for doc in documents:
        lines = ["[[document]]"]
        for field in fields(Document):
            value = getattr(doc, field.name)
            lines.append(f"{field.name} = {_toml_value(value)}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def save_manifest(path: Path, documents: list[Document]) -> None:
    """Write the manifest atomically (temporary file, then rename)."""
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(dump_manifest(documents), encoding="utf-8")
    os.replace(tmp, path)


def find(documents: list[Document], doc_id: str) -> Document:
    for doc in documents:
        if doc.id == doc_id:
            return doc
    known = ", ".join(d.id for d in documents)
    raise UnknownDocument(f"no document {doc_id!r} in the manifest; known: {known}")
