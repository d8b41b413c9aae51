"""kb.law.library in other languages: the German and French wording of a ref where it is the
law in force, and the English text with a note where an English-only amendment changed it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ingest.manifest import load_manifest
from ingest.parsers import parse_document
from ingest.translations import parse_translation
from kb.config import ROOT
from kb.errors import UnknownReference
from kb.law.library import Library, amended_note

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"
CORPUS = ROOT / "corpus"
AMENDMENT = "Regulation (EU) 2030/1, Article 1, point (3)"
IN_FORCE = "2030-03-04"
BEFORE, AFTER = "2030-01-01", "2030-06-01"


def _parsed(corpus: Path, ids: tuple[str, ...]):
    docs = {d.id: d for d in load_manifest(corpus / "manifest.toml")}
    english = [p for i in ids for p in parse_document(corpus, docs[i])]
    versions = [docs["eu-ai-act-de"], docs["eu-ai-act-fr"]]
    translated = [p for v in versions for p in parse_translation(corpus, v, docs["eu-ai-act"])]
    return list(docs.values()), english, translated


@pytest.fixture(scope="module")
def excerpt_library() -> Library:
    """The fixture excerpts, with Article 50(2) amended and Article 50(3) deleted in 2030
    (in English only, as Regulation (EU) 2026/1744 is)."""
    documents, english, translated = _parsed(
        FIXTURES, ("eu-ai-act", "guidelines-transparency-art50"))
    by_ref = {p.ref: p for p in english}
    amended = [
        replace(by_ref["Article 50(2)"], text="2. Providers shall mark the outputs.",
                valid_from=IN_FORCE, version_source=AMENDMENT),
        replace(by_ref["Article 50(3)"], valid_from=IN_FORCE, version_source=AMENDMENT,
                deleted=True),
    ]
    english = [replace(p, valid_until=IN_FORCE) if p.ref in ("Article 50(2)", "Article 50(3)")
               else p for p in english]
    return Library(documents, english + amended, translated)


def test_language_versions_are_not_documents_of_their_own(excerpt_library):
    assert list(excerpt_library.documents) == [
        "eu-ai-act", "guidelines-ai-system-definition", "guidelines-transparency-art50"]
    assert excerpt_library.languages() == ["en", "de", "fr"]
    assert excerpt_library.languages("guidelines-transparency-art50") == ["en"]
    assert excerpt_library.language_version("eu-ai-act", "de").id == "eu-ai-act-de"


def test_unamended_provision_comes_in_the_language_asked(excerpt_library):
    german = excerpt_library.translation("Article 50(1)", "de", AFTER)
    assert german.translated and german.note == ""
    assert german.provision.text.startswith("(1) Die Anbieter stellen sicher")
    assert german.provision.url == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/deu#050.001"
    french = excerpt_library.translation("Article 3(4)", "fr", AFTER).provision
    assert (french.ref, french.term, french.lang) == ("Article 3(4)", "déployeur", "fr")


def test_amended_provision_shows_english_in_force_with_a_note(excerpt_library):
    shown = excerpt_library.translation("Article 50(2)", "de", AFTER)
    assert not shown.translated
    assert shown.provision.text == "2. Providers shall mark the outputs."
    assert shown.provision.version_source == AMENDMENT
    assert shown.note == ("German wording of this amended provision not yet in the knowledge "
                          "base; the English text is shown.")
    assert excerpt_library.translation("Article 50(2)", "fr", AFTER).note == amended_note("fr")


def test_before_the_amendment_applies_the_2024_wording_is_the_law_in_every_language(
        excerpt_library):
    german = excerpt_library.translation("Article 50(2)", "de", BEFORE)
    assert german.translated
    assert german.provision.text.startswith("(2) Anbieter von KI-Systemen")
    # Its validity is the English original's: it ends when the amendment applies.
    assert german.provision.valid_until == IN_FORCE


def test_deleted_provision_is_the_english_tombstone_with_a_note(excerpt_library):
    shown = excerpt_library.translation("Article 50(3)", "fr", AFTER)
    assert shown.provision.deleted and shown.provision.lang == "en"
    assert shown.note == amended_note("fr")


def test_a_document_without_a_language_version_is_english_with_a_note(excerpt_library):
    shown = excerpt_library.translation("Guidelines C(2026) 5054, para. 1", "de", AFTER)
    assert shown.provision.lang == "en"
    assert shown.note.startswith("No German wording of Commission Guidelines on the Article 50")
    assert shown.note.endswith("in the knowledge base; the English text is shown.")


def test_english_asked_is_the_english_version_in_force(excerpt_library):
    shown = excerpt_library.translation("Article 50(2)", "en", AFTER)
    assert shown.translated and shown.provision.version_source == AMENDMENT


def test_unknown_ref_in_another_language_raises_with_a_hint(excerpt_library):
    with pytest.raises(UnknownReference, match="No provision 'Article 50\\(9\\)'"):
        excerpt_library.translation("Article 50(9)", "de", AFTER)


def test_wordings_of_a_ref_by_language(excerpt_library):
    assert [p.lang for p in excerpt_library.wordings("Article 50(2)")] == ["en", "en", "de", "fr"]
    assert [p.text[:5] for p in excerpt_library.wordings("Article 50(2)", "de")] == ["(2) A"]
    assert excerpt_library.wordings("Guidelines C(2026) 5054, para. 1", "fr") == []


# --- the full corpus with Regulation (EU) 2026/1744 applied ----------------------------------


@pytest.fixture(scope="module")
def consolidated_library() -> Library:
    from ingest.pipeline import consolidate_amendments
    from kb.config import Settings

    documents, english, translated = _parsed(CORPUS, ("eu-ai-act", "ai-omnibus-2026"))
    parsed = {"eu-ai-act": [p for p in english if p.doc_id == "eu-ai-act"],
              "ai-omnibus-2026": [p for p in english if p.doc_id == "ai-omnibus-2026"]}
    settings = Settings.from_env().with_(corpus_dir=CORPUS)
    consolidate_amendments(settings, documents, parsed)
    return Library(documents, parsed["eu-ai-act"] + parsed["ai-omnibus-2026"], translated)


@pytest.mark.corpus
@pytest.mark.parametrize("lang", ["de", "fr"])
@pytest.mark.parametrize("ref", ["Article 4", "Article 113", "Article 113(a)"])
def test_articles_4_and_113_as_amended_are_english_with_a_note(consolidated_library, ref, lang):
    shown = consolidated_library.translation(ref, lang, "2026-11-27")
    assert shown.provision.lang == "en"
    assert shown.provision.version_source.startswith("Regulation (EU) 2026/1744, Article 1")
    assert shown.note == amended_note(lang)
    # Never the 2024 wording as if in force.
    old = consolidated_library.wordings(ref, lang)[0].text
    assert shown.provision.text != old


@pytest.mark.corpus
def test_article_4_before_the_omnibus_and_article_50_1_are_in_the_language(consolidated_library):
    german = consolidated_library.translation("Article 4", "de", "2026-01-01")
    assert german.translated
    assert german.provision.text.startswith("Die Anbieter und Betreiber von KI-Systemen ergreifen")
    french = consolidated_library.translation("Article 113(a)", "fr", "2026-01-01").provision
    assert french.text == "les chapitres I et II sont applicables à partir du 2 février 2025;"
    for lang, start in (("de", "(1) Die Anbieter stellen sicher"),
                        ("fr", "1. Les fournisseurs veillent")):
        shown = consolidated_library.translation("Article 50(1)", lang, "2026-11-27")
        assert shown.translated and shown.provision.text.startswith(start)
    inserted = consolidated_library.translation("Article 4a", "fr", "2026-11-27")
    assert inserted.provision.lang == "en" and inserted.note == amended_note("fr")
