"""`python -m ingest`: status, add, remove, and bad input that changes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli
from kb.index.catalog import Catalog

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"


def run(settings, *args):
    env = {"KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
           "CHROMA_HOST": "", "KB_COLLECTION": "kb"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def snapshot(settings) -> dict:
    """Everything bad input must leave alone: corpus files, manifest, catalog."""
    files = {p.relative_to(settings.corpus_dir).as_posix():
             hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(settings.corpus_dir.rglob("*")) if p.is_file()}
    catalog = Catalog(settings.catalog_path)
    state = (catalog.state("collection"), len(catalog.chunks()),
             [r.document.id for r in catalog.documents()])
    catalog.close()
    return {"files": files, "catalog": state}


def test_status_json_lists_documents_units_and_store(small_kb):
    result = run(small_kb, "status", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["store"] == str(small_kb.chroma_dir)
    docs = {d["id"]: d for d in info["documents"]}
    assert docs["eu-ai-act"]["kind"] == "regulation"
    assert docs["eu-ai-act"]["units"]["definition"] == 68
    assert docs["eu-ai-act"]["units"]["recital"] == 4
    assert docs["guidelines-ai-system-definition"]["identifier"] == "C(2025) 5053"
    assert info["pending"] == []
    assert len(info["corpus_version"]) == 12


def test_status_text_names_every_document(small_kb):
    result = run(small_kb, "status")
    assert result.exit_code == 0
    assert "- eu-ai-act [regulation] CELEX 32024R1689 2024-06-13" in result.output


def test_add_then_remove_a_guideline(fresh_kb, tmp_path):
    source = tmp_path / "national-guidance.md"
    source.write_text((FIXTURES / "guideline-excerpt.md").read_text(encoding="utf-8"),
                      encoding="utf-8")
    result = run(fresh_kb, "add", str(source), "--id", "nl-guidance", "--title",
                 "Dutch guidance on chatbots", "--kind", "national_guidance",
                 "--date", "2026-09-01", "--identifier", "AP-2026-1")
    assert result.exit_code == 0, result.output
    assert "Added nl-guidance as corpus/national/national-guidance.md." in result.output
    assert "added: nl-guidance" in result.output
    catalog = Catalog(fresh_kb.catalog_path)
    assert "nl-guidance" in [r.document.id for r in catalog.documents()]
    assert any(c.ref == "Guidelines AP-2026-1, para. 3" for c in catalog.chunks("nl-guidance"))
    result = run(fresh_kb, "remove", "nl-guidance")
    assert result.exit_code == 0, result.output
    assert "removed: nl-guidance" in result.output
    assert not (fresh_kb.corpus_dir / "national" / "national-guidance.md").exists()
    assert "nl-guidance" not in [r.document.id for r in Catalog(fresh_kb.catalog_path).documents()]


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.md"
    empty.write_text("   \n")
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    latin1 = tmp_path / "latin1.md"
    latin1.write_bytes("(1) Données à caractère personnel.\n".encode("latin-1"))
    unknown = tmp_path / "slides.pptx"
    unknown.write_bytes(b"PK\x03\x04 not a supported format")
    return {"empty": empty, "corrupt": corrupt, "latin1": latin1, "unknown": unknown}


@pytest.mark.parametrize("case, message", [
    ("missing", "file not found"),
    ("empty", "file is empty"),
    ("corrupt", "corrupt.pdf"),
    ("latin1", "is not UTF-8 text"),
    ("unknown", "unknown format '.pptx'"),
    ("duplicate", "document id 'eu-ai-act' is already in the manifest"),
    ("bad-id", "document id must be 2-63 lower-case letters"),
])
def test_bad_input_to_add_exits_1_with_a_reason_and_changes_nothing(fresh_kb, tmp_path, case,
                                                                      message):
    files = _bad_files(tmp_path)
    path = {"missing": tmp_path / "nope.pdf", "duplicate": FIXTURES / "guideline-excerpt.md",
            "bad-id": FIXTURES / "guideline-excerpt.md"}.get(case) or files[case]
    doc_id = {"duplicate": "eu-ai-act", "bad-id": "Bad Id!"}.get(case, "new-doc")
    before = snapshot(fresh_kb)
    result = run(fresh_kb, "add", str(path), "--id", doc_id, "--title", "T", "--kind", "guideline")
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.count("\n") == 1  # one line, no traceback
    assert snapshot(fresh_kb) == before


def test_remove_unknown_id_exits_1_and_changes_nothing(fresh_kb):
    before = snapshot(fresh_kb)
    result = run(fresh_kb, "remove", "no-such-doc")
    assert result.exit_code == 1
    assert "no document 'no-such-doc' in the manifest" in result.output
    assert snapshot(fresh_kb) == before


def test_status_without_index_says_how_to_build(tmp_path):
    from conftest import settings_for

    result = run(settings_for(FIXTURES, tmp_path / "data"), "status")
    assert result.exit_code == 1
    assert "No index in" in result.output and "python -m ingest" in result.output
