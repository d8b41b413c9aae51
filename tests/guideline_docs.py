"""Guideline manifest records and helpers shared by tests/test_guideline_pdf.py and _md.py."""

from __future__ import annotations

from pathlib import Path

from kb.records import Document, Kind

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "corpus"
CORPUS = ROOT / "corpus"


def guideline_doc(doc_id: str, cite_as: str, file: str, parser: str, url: str) -> Document:
    return Document(
        id=doc_id,
        title=f"Commission Guidelines {cite_as}",
        kind=Kind.GUIDELINE,
        file=file,
        parser=parser,
        url=url,
        cite_as=cite_as,
    )


def by_number(provisions) -> dict[int, object]:
    return {int(p.paragraph): p for p in provisions if p.paragraph}
