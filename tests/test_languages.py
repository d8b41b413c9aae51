"""kb.search.languages: language detection on short questions, per-language analysis, and
term pairs / word links read off the aligned official texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.manifest import load_manifest
from ingest.parsers import parse_document
from ingest.translations import parse_translation
from kb.config import ROOT
from kb.search.languages import Alignment, TermPair, detect, fold, term_pairs, tokenize, words

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"

# Short questions written for this test (not the eval sets), as users type them.
QUESTIONS = {
    "en": ["Must our chatbot tell customers it is an AI?", "What is a deployer?",
           "Is emotion recognition at work banned?", "Do we need to label deepfakes?",
           "Is credit scoring high-risk?", "AI literacy obligations", "human oversight"],
    "de": ["Muss unser Chatbot sagen, dass er eine KI ist?", "Was ist ein Betreiber?",
           "Ist Emotionserkennung am Arbeitsplatz verboten?", "Bußgelder bei Verstößen",
           "Müssen wir Deepfakes kennzeichnen?", "Ist Kreditscoring hochriskant?",
           "Wer ist Anbieter?", "Pflichten der Betreiber von Hochrisiko-KI-Systemen"],
    "fr": ["Notre chatbot doit-il dire aux clients qu'il est une IA ?",
           "Qu'est-ce qu'un déployeur ?", "La reconnaissance des émotions au travail est-elle "
           "interdite ?", "amendes en cas d'infraction", "Faut-il étiqueter les hypertrucages ?",
           "Qui est un fournisseur ?", "obligations des déployeurs de systèmes d'IA à haut risque"],
}


@pytest.mark.parametrize("lang, question",
                         [(lang, q) for lang, qs in QUESTIONS.items() for q in qs])
def test_detect_names_the_language_of_short_questions(lang, question):
    assert detect(question) == lang


@pytest.mark.parametrize("text", ["", "   ", "50(1)", "?!", "Art. 50", None])
def test_detect_falls_back_to_english_without_words_to_judge(text):
    assert detect(text) == "en"
    assert detect("", default="de") == "de"


def test_words_split_compounds_and_drop_stop_words_and_elisions():
    assert words("Die Pflichten der Betreiber von Hochrisiko-KI-Systemen", "de") == [
        "pflichten", "betreiber", "hochrisiko", "ki", "systemen"]
    assert words("l’utilisation d’un système d’IA qu’il déploie", "fr") == [
        "utilisation", "système", "ia", "déploie"]
    assert words("The deployer shall inform the natural persons", "en") == [
        "deployer", "inform", "natural", "persons"]


def test_tokenize_stems_per_language_and_ignores_accents_and_eszett():
    assert tokenize("Betreiber", "de") == tokenize("Betreibers", "de") == ["betreib"]
    assert tokenize("Bußgelder", "de") == tokenize("Bussgeld", "de")
    assert tokenize("déployeurs", "fr") == tokenize("deployeur", "fr") == ["deployeur"]
    assert tokenize("systèmes d'IA", "fr") == ["system", "ia"]
    assert tokenize("deployers of AI systems", "en") == ["deploy", "ai", "system"]
    assert fold("Émotions") == "emotions"


def test_an_unknown_language_has_no_analyser():
    with pytest.raises(ValueError, match="no analyser for language 'it'"):
        tokenize("sistemi di IA", "it")


@pytest.fixture(scope="module")
def aligned():
    docs = {d.id: d for d in load_manifest(FIXTURES / "manifest.toml")}
    english = parse_document(FIXTURES, docs["eu-ai-act"])
    german = parse_translation(FIXTURES, docs["eu-ai-act-de"], docs["eu-ai-act"])
    french = parse_translation(FIXTURES, docs["eu-ai-act-fr"], docs["eu-ai-act"])
    return english, german, french


def test_term_pairs_pair_defined_terms_and_titles_by_ref(aligned):
    english, german, french = aligned
    pairs = term_pairs(english, german + french)
    assert TermPair("Article 3(4)", "definition", "de", "deployer", "Betreiber") in pairs
    assert TermPair("Article 3(4)", "definition", "fr", "deployer", "déployeur") in pairs
    assert TermPair("Article 3(1)", "definition", "de", "AI system", "KI-System") in pairs
    assert TermPair("Article 6", "title", "de", "Classification rules for high-risk AI systems",
                    "Einstufungsvorschriften für Hochrisiko-KI-Systeme") in pairs
    assert sum(p.source == "definition" for p in pairs) == 2 * 68
    # Whole articles and annexes only: a paragraph is not a title.
    assert {p.ref for p in pairs if p.source == "title"} == {
        "Article 3", "Article 5", "Article 6", "Article 50", "Article 113", "Annex III"}


def test_alignment_links_words_that_share_provisions(aligned):
    english, german, french = aligned
    de = Alignment(english, german, "de")
    assert de.links("betreib")[0].en == "deploy"
    assert de.links("anbiet")[0].en == "provid"
    assert [link.en for link in Alignment(english, french, "fr").links("deployeur")][:1] == [
        "deploy"]
    assert de.links("nosuchword") == []


@pytest.mark.corpus
def test_alignment_on_the_whole_act_finds_the_issue_s_term_pairs():
    docs = {d.id: d for d in load_manifest(ROOT / "corpus" / "manifest.toml")}
    english = parse_document(ROOT / "corpus", docs["eu-ai-act"])
    german = parse_translation(ROOT / "corpus", docs["eu-ai-act-de"], docs["eu-ai-act"])
    de = Alignment(english, german, "de")
    assert de.links("betreib")[0].en == "deploy"
    assert "high risk" in [link.en for link in de.links("hochrisiko")[:2]]
    assert de.links("geldbuss")[0].en == "fine"
