"""ingest.translations and the manifest's translation_of: language versions are checked
against their original's refs, refused with the differing refs listed, and stored in the
catalog beside (not among) the original's provisions."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli
from ingest.manifest import load_manifest, save_manifest
from ingest.parsers import parse_document
from ingest.pipeline import sync
from ingest.translations import (
    check_refs,
    checked_translation,
    differing_refs,
    original_refs,
    split_translations,
)
from kb.errors import BadDocument, DuplicateId
from kb.index.catalog import Catalog
from kb.records import Kind, Provision, Unit

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"


def run(settings, *args):
    env = {"KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
           "CHROMA_HOST": "", "KB_COLLECTION": "kb"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def documents(corpus_dir: Path) -> dict:
    return {d.id: d for d in load_manifest(corpus_dir / "manifest.toml")}


def broken_german(target: Path) -> Path:
    """The German excerpt without Article 50(4) and with Recital 134 renumbered 199."""
    html = (FIXTURES / "eu-ai-act-excerpt-de.html").read_text(encoding="utf-8")
    html, dropped = re.subn(r'<div id="050\.004">.*?</div>', "", html, count=1, flags=re.S)
    html, renamed = re.subn(r'id="rct_134"', 'id="rct_199"', html)
    assert dropped == 1 and renamed == 1
    target.write_text(html, encoding="utf-8")
    return target


def test_differing_refs_keep_document_order():
    assert differing_refs(["Recital 1", "Article 3", "Article 5"],
                          ["Article 5", "Article 9", "Recital 1"]) == (["Article 3"], ["Article 9"])


def test_original_refs_leave_out_provisions_inserted_by_amendments():
    kept = Provision("act", "Article 4", Unit.ARTICLE, "old")
    inserted = Provision("act", "Article 4a", Unit.ARTICLE, "new", valid_from="2026-07-27",
                         version_source="Regulation (EU) 2026/1744, Article 1, point (6)")
    amended = replace(kept, text="newer", valid_from="2026-07-27", version_source="x")
    assert original_refs([kept, inserted, amended]) == ["Article 4"]


def test_language_versions_parse_under_the_original_refs_and_doc_id():
    docs = documents(FIXTURES)
    english = parse_document(FIXTURES, docs["eu-ai-act"])
    german = checked_translation(FIXTURES, docs["eu-ai-act-de"], docs["eu-ai-act"], english)
    assert [p.ref for p in german] == [p.ref for p in english]
    assert {p.doc_id for p in german} == {"eu-ai-act"}
    assert {p.lang for p in german} == {"de"}
    assert {p.lang for p in english} == {"en"}


def test_a_version_with_missing_and_extra_provisions_is_refused_listing_them(tmp_path):
    docs = documents(FIXTURES)
    english = parse_document(FIXTURES, docs["eu-ai-act"])
    path = broken_german(tmp_path / "de.html")
    doc = replace(docs["eu-ai-act-de"], file=path.name)
    with pytest.raises(BadDocument) as caught:
        checked_translation(tmp_path, doc, docs["eu-ai-act"], english)
    head, missing, extra = str(caught.value).splitlines()
    assert head.startswith("eu-ai-act-de (de) does not match eu-ai-act: 2 ref(s) missing, "
                           "1 extra")
    assert missing == "  missing: Recital 134, Article 50(4)"
    assert extra == "  extra: Recital 199"


def test_a_long_list_of_differing_refs_is_cut_and_counted():
    original = Provision("act", "x", Unit.ARTICLE, "t")
    doc = replace(documents(FIXTURES)["eu-ai-act-de"])
    expected = [f"Recital {n}" for n in range(1, 41)]
    with pytest.raises(BadDocument, match=r"missing: Recital 1, .*Recital 25 … and 15 more"):
        check_refs(doc, documents(FIXTURES)["eu-ai-act"], expected, [original])


def test_split_keeps_language_versions_apart():
    originals, versions = split_translations(list(documents(FIXTURES).values()))
    assert [d.id for d in versions] == ["eu-ai-act-de", "eu-ai-act-fr"]
    assert "eu-ai-act" in [d.id for d in originals]


# --- the manifest ---------------------------------------------------------------------------


def _manifest_with(tmp_path: Path, **changes) -> Path:
    docs = list(documents(FIXTURES).values())
    docs = [replace(d, **changes) if d.id == "eu-ai-act-de" else d for d in docs]
    path = tmp_path / "manifest.toml"
    save_manifest(path, docs)
    return path


@pytest.mark.parametrize("changes, error, message", [
    ({"translation_of": "no-such-act"}, BadDocument,
     "eu-ai-act-de: translation_of 'no-such-act' is not in the manifest"),
    ({"translation_of": "eu-ai-act-fr"}, BadDocument, "itself a translation of 'eu-ai-act'"),
    ({"language": "en"}, BadDocument, "needs another language than 'eu-ai-act' ('en')"),
    ({"kind": Kind.GUIDELINE}, BadDocument, "has its original's kind 'regulation'"),
    ({"language": "fr"}, DuplicateId, "already has a 'fr' version, 'eu-ai-act-fr'"),
])
def test_manifest_refuses_a_bad_translation_of(tmp_path, changes, error, message):
    with pytest.raises(error, match=re.escape(message)):
        load_manifest(_manifest_with(tmp_path, **changes))


def test_manifest_round_trips_translation_of(tmp_path):
    docs = load_manifest(_manifest_with(tmp_path))
    german = next(d for d in docs if d.id == "eu-ai-act-de")
    assert (german.language, german.translation_of) == ("de", "eu-ai-act")


# --- ingest ---------------------------------------------------------------------------------


def test_catalog_holds_translations_beside_the_originals(small_kb):
    catalog = Catalog(small_kb.catalog_path)
    german = catalog.translations("de")
    assert len(german) == 168 and {p.lang for p in german} == {"de"}
    assert next(p for p in german if p.ref == "Article 3(4)").term == "Betreiber"
    # Everything that reads provisions and chunks keeps seeing one wording per ref.
    assert {p.lang for p in catalog.provisions()} == {"en"}
    assert len({c.id for c in catalog.chunks()}) == len(catalog.chunks())
    chunks = catalog.translation_chunks("fr")
    assert any(c.ref == "Article 50(1)" and c.text.startswith("1. Les fournisseurs veillent")
               for c in chunks)
    assert not {c.id for c in chunks} & {c.id for c in catalog.chunks()}
    records = {r.document.id: r for r in catalog.documents()}
    assert records["eu-ai-act-fr"].document.translation_of == "eu-ai-act"
    assert records["eu-ai-act-fr"].unit_counts["definition"] == 68
    catalog.close()


def test_a_catalog_written_before_translations_reads_as_having_none(small_kb, tmp_path):
    copy = tmp_path / "catalog.sqlite"
    copy.write_bytes(small_kb.catalog_path.read_bytes())
    with sqlite3.connect(copy) as db:
        db.execute("DROP TABLE translations")
        db.execute("DROP TABLE translation_chunks")
    catalog = Catalog(copy)
    assert catalog.translations() == [] and catalog.translation_chunks("de") == []
    catalog.close()


def test_sync_refuses_a_mismatched_version_and_keeps_the_index(fresh_kb):
    broken_german(fresh_kb.corpus_dir / "eu-ai-act-excerpt-de.html")
    before = Catalog(fresh_kb.catalog_path).state("collection")
    with pytest.raises(BadDocument, match="missing: Recital 134, Article 50\\(4\\)"):
        sync(fresh_kb)
    catalog = Catalog(fresh_kb.catalog_path)
    assert catalog.state("collection") == before
    assert len(catalog.translations("de")) == 168


def test_ingest_add_refuses_a_mismatched_version_and_changes_nothing(fresh_kb, tmp_path):
    from test_ingest_cli import snapshot

    path = broken_german(tmp_path / "eu-ai-act-it.html")
    before = snapshot(fresh_kb)
    result = run(fresh_kb, "add", str(path), "--id", "eu-ai-act-it", "--title", "T",
                 "--kind", "regulation", "--language", "it", "--translation-of", "eu-ai-act")
    assert result.exit_code == 1
    assert result.output == ("Error: eu-ai-act-it: the EUR-Lex parser reads languages en, de, "
                             "fr, not 'it'\n")
    assert snapshot(fresh_kb) == before
    result = run(fresh_kb, "remove", "eu-ai-act-de")
    assert result.exit_code == 0, result.output
    before = snapshot(fresh_kb)
    result = run(fresh_kb, "add", str(path), "--id", "eu-ai-act-de", "--title", "T",
                 "--kind", "regulation", "--language", "de", "--translation-of", "eu-ai-act")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("Error: eu-ai-act-de (de) does not match eu-ai-act")
    assert lines[1:] == ["  missing: Recital 134, Article 50(4)", "  extra: Recital 199"]
    assert snapshot(fresh_kb) == before


def test_ingest_add_a_language_version_then_status_names_it(fresh_kb):
    result = run(fresh_kb, "remove", "eu-ai-act-fr")
    assert result.exit_code == 0, result.output
    assert Catalog(fresh_kb.catalog_path).translations("fr") == []
    result = run(fresh_kb, "add", str(FIXTURES / "eu-ai-act-excerpt-fr.html"),
                 "--id", "eu-ai-act-fr", "--title", "Règlement (UE) 2024/1689 — extrait",
                 "--kind", "regulation", "--language", "fr", "--translation-of", "eu-ai-act",
                 "--url", "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/fra")
    assert result.exit_code == 0, result.output
    assert "added: eu-ai-act-fr" in result.output
    assert "0 chunks embedded" in result.output  # a language version has no vectors
    french = {p.ref: p for p in Catalog(fresh_kb.catalog_path).translations("fr")}
    assert french["Article 3(4)"].term == "déployeur"
    assert french["Article 50(1)"].url.endswith("/oj/fra#050.001")
    status = run(fresh_kb, "status")
    assert "fr version of eu-ai-act, catalog only; 186 chunks" in status.output


def test_removing_an_original_with_language_versions_is_refused(fresh_kb):
    result = run(fresh_kb, "remove", "eu-ai-act")
    assert result.exit_code == 1
    assert "eu-ai-act has language versions eu-ai-act-de, eu-ai-act-fr; remove those first" \
        in result.output
