"""Read and write ``corpus/manifest.toml``: one ``[[document]]`` table per source document.

The manifest is the list of what the knowledge base should contain; ingest makes the
index match it.  Writing goes through ``tomlkit``, so maintainers' comments and hand
formatting survive ``ingest add``/``remove``, and replaces the file atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import fields
from pathlib import Path

import tomlkit

from kb.errors import BadDocument, DuplicateId, UnknownDocument
from kb.records import Document, Kind
from kb.safety import control_character

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


def check_text(name: str, value: object) -> str:
    """A manifest field's text; BadDocument for a control character (newline, tab, NUL…).

    >>> check_text("title", "AI Act")
    'AI Act'
    """
    if not isinstance(value, str):
        raise BadDocument(f"manifest field {name} must be text, got {value!r}")
    bad = control_character(value, multiline=False)
    if bad:
        raise BadDocument(f"manifest field {name} contains a control character ({bad}) in "
                          f"{value!r}; remove it")
    return value


def document_from_dict(data: dict) -> Document:
    known = {f.name for f in fields(Document)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadDocument(f"unknown manifest field(s) {unknown} in document {data.get('id')!r}")
    missing = [name for name in ("id", "title", "kind", "file", "parser") if not data.get(name)]
    if missing:
        raise BadDocument(f"manifest document {data.get('id')!r} lacks {', '.join(missing)}")
    for name, value in data.items():
        check_text(name, value)
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


def _table(doc: Document, table=None):
    """The manifest table of ``doc``: the existing one updated in place (its comments
    stay), or a new one in field order."""
    new = table is None
    table = tomlkit.table() if new else table
    for field in fields(Document):
        value = getattr(doc, field.name)
        text = value.value if hasattr(value, "value") else str(value)
        if table.get(field.name, "") != text or (new and field.name not in table):
            table[field.name] = check_text(field.name, text)
    return table
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




def dump_manifest(documents: list[Document], existing: str = "") -> str:
    """The manifest text for ``documents``, keeping the comments of ``existing``.

    Tables are edited in place, removed or appended, so untouched ones keep their exact
    text; a document whose place in the list changed is moved to the end.
    """
    document = tomlkit.parse(existing if existing.strip() else _HEADER + "\n")
    if "document" not in document:
        document.append("document", tomlkit.aot())
    tables = document["document"]
    wanted = {doc.id: doc for doc in documents}
    for index in reversed(range(len(tables))):
        if str(tables[index].get("id")) not in wanted:
            del tables[index]
    kept = [str(table.get("id")) for table in tables]
    for table in tables:
        _table(wanted[str(table["id"])], table)
    for doc in documents:
        if doc.id not in kept:
            tables.append(_table(doc))
    return tomlkit.dumps(document)


def save_manifest(path: Path, documents: list[Document]) -> None:
    """Write the manifest atomically: a unique temporary file, then a rename."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    text = dump_manifest(documents, existing)
    tomllib.loads(text)  # never write a manifest that cannot be read back
    handle, name = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


def find(documents: list[Document], doc_id: str) -> Document:
    for doc in documents:
        if doc.id == doc_id:
            return doc
    known = ", ".join(d.id for d in documents)
    raise UnknownDocument(f"no document {doc_id!r} in the manifest; known: {known}")
