"""The public Python API: ask, direct lookup, abstention, verification, bad questions."""

from __future__ import annotations

import json
import re

import pytest

import kb
from kb import Assistant, BadQuestion, UnknownReference
from kb.assistant import MAX_QUESTION_CHARS

CITATION_KEYS = ["n", "ref", "doc_id", "unit", "article", "paragraph", "point", "annex",
                 "recital", "page", "url", "text", "score", "version_source", "valid_from",
                 "lang", "note"]


def test_exported_members_are_the_documented_api():
    assert kb.__all__ == sorted(kb.__all__)
    assert all(hasattr(kb, name) for name in kb.__all__)
    assert {"Assistant", "Answer", "Citation", "KbError", "Settings", "Verification"} <= set(
        kb.__all__)


def test_chatbot_question_reaches_article_50_1(assistant):
    answer = assistant.ask("Do I have to tell customers they're talking to a bot?")
    assert not answer.abstained
    assert answer.citations[0].ref == "Article 50(1)"
    assert "informed that they are interacting with an AI system" in answer.text
    assert "[1]" in answer.text


def test_emotion_recognition_at_work_reaches_article_5_1_f(assistant):
    answer = assistant.ask("Can we use emotion recognition on our call centre employees?")
    refs = [c.ref for c in answer.citations]
    assert "Article 5(1)(f)" in refs[:5]


@pytest.mark.parametrize("question", [
    "What is the capital of Australia?",
    "How do I reset my CRM password?",
])
def test_out_of_scope_questions_abstain(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained
    assert answer.citations == []
    assert answer.text.startswith("The indexed texts do not cover this question")
    assert answer.related  # closest passages offered, not cited


@pytest.mark.parametrize(("question", "act"), [
    ("What does the NIS2 Directive require for incident reporting?", "NIS2 Directive"),
    ("Does the Digital Services Act require us to publish transparency reports?",
     "Digital Services Act"),
    ("What are the cookie consent rules under the ePrivacy Directive?", "ePrivacy Directive"),
])
def test_questions_about_other_eu_acts_abstain_and_name_the_act(assistant, question, act):
    answer = assistant.ask(question)
    assert answer.abstained and answer.citations == []
    assert answer.message == f"asks about the {act}, which is not among the texts indexed here"


def test_a_question_relating_another_act_to_the_ai_act_is_answered(assistant):
    answer = assistant.ask("Does the Digital Services Act change the AI Act's transparency "
                           "duties for chatbots?")
    assert not answer.abstained


@pytest.mark.parametrize("question, ref", [
    ("Article 50(1)", "Article 50(1)"),
    ("What does Art. 50 (1) require?", "Article 50(1)"),
    ("art 5(1)(f)", "Article 5(1)(f)"),
    ("Article 5(1), point (f)", "Article 5(1)(f)"),
    ("Recital 132", "Recital 132"),
    ("Annex III point 5(b)", "Annex III, point 5(b)"),
    ("Explain Annex III, point 5(b) please", "Annex III, point 5(b)"),
    ("What is a deployer?", "Article 3(4)"),
])
def test_direct_lookup_returns_the_named_provision_first(assistant, question, ref):
    answer = assistant.ask(question)
    assert not answer.abstained
    assert answer.citations[0].ref == ref


def test_every_answer_sentence_is_verbatim_from_its_citation(assistant):
    for question in ["Must our chatbot tell customers it is an AI?",
                     "Which AI practices are prohibited?",
                     "When does the AI Act apply?",
                     "What is an AI system according to the Commission guidelines?"]:
        answer = assistant.ask(question)
        assert answer.sentences, question
        checks = assistant.verify_answer(answer)
        assert all(c.ok for c in checks), (question, checks)
        by_n = {c.n: c.text for c in answer.citations}
        for sentence in answer.sentences:
            assert sentence.text in by_n[sentence.n]
            assert f"{sentence.text} [{sentence.n}]" in answer.text


def test_verify_rejects_altered_and_unknown_quotes(assistant):
    official = assistant.show("Article 50(1)").text
    assert assistant.verify("Article 50(1)", official[10:120]).ok
    altered = official[10:120].replace("shall", "should")
    reason = assistant.verify("Article 50(1)", altered).reason
    assert reason == "text differs from the official wording"
    assert assistant.verify("Article 999(1)", "anything").reason == "unknown ref"


@pytest.mark.parametrize("question, message", [
    ("", "Please type a question"),
    ("   \n\t ", "Please type a question"),
    ("What\x07 is this?", "control character (U+0007)"),
])
def test_bad_questions_get_a_clear_message(assistant, question, message):
    with pytest.raises(BadQuestion, match=re.escape(message)):
        assistant.ask(question)


def test_over_long_question_is_capped_and_says_so(assistant):
    question = "Must our chatbot tell customers it is an AI? " * 100
    answer = assistant.ask(question)
    assert len(answer.question) == MAX_QUESTION_CHARS
    assert f"only the first {MAX_QUESTION_CHARS} were used" in answer.message


def test_top_k_must_be_positive(assistant):
    with pytest.raises(BadQuestion, match="top_k must be ≥ 1, got 0"):
        assistant.ask("chatbot", top_k=0)


def test_top_k_controls_number_of_ranked_citations(assistant):
    answer = assistant.ask("Which AI practices are prohibited?", top_k=8)
    assert [c.n for c in answer.citations] == list(range(1, 9))
    scores = [c.score for c in answer.citations]
    assert scores == sorted(scores, reverse=True)


def test_answer_json_has_exactly_the_documented_shape(assistant):
    data = json.loads(json.dumps(assistant.ask("Must our chatbot tell customers it is an AI?")
                                 .to_dict()))
    assert list(data) == ["question", "answer", "abstained", "citations", "obligations",
                          "as_of", "lang", "timing_ms"]
    assert list(data["citations"][0]) == CITATION_KEYS
    first = data["citations"][0]
    assert first["unit"] == "article" and first["article"] == "50" and first["paragraph"] == "1"
    assert first["url"] == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001"
    assert first["lang"] == "en"


def test_show_accepts_common_forms_and_explains_unknown_refs(assistant):
    assert assistant.show("Art. 50 (1)").ref == "Article 50(1)"
    assert assistant.show("Annex III point 5(b)").ref == "Annex III, point 5(b)"
    with pytest.raises(UnknownReference, match="No provision 'Article 50\\(9\\)'.*Article 50"):
        assistant.show("Article 50(9)")


def test_define_returns_the_article_3_definition(assistant):
    p = assistant.define("deployer")
    assert p.ref == "Article 3(4)"
    assert p.text.startswith("‘deployer’ means a natural or legal person")
    with pytest.raises(UnknownReference, match="No definition of 'banana'"):
        assistant.define("banana")


def test_cross_references_and_definitions_of_a_passage(assistant):
    library = assistant.library
    point = assistant.show("Article 6(3)")
    refs = [p.ref for p in library.cross_references(point)]
    assert "Annex III" in refs
    terms = [p.term for p in library.terms_used(assistant.show("Article 50(1)"))]
    assert "AI system" in terms


def test_as_of_must_be_a_date(assistant):
    with pytest.raises(BadQuestion, match="as-of must be a date YYYY-MM-DD, got '27/11/2026'"):
        assistant.ask("chatbot", as_of="27/11/2026")


def test_open_without_index_says_how_to_build_it(tmp_path):
    from conftest import settings_for

    with pytest.raises(kb.IndexMissing, match="python -m ingest"):
        Assistant.open(settings_for(tmp_path / "corpus", tmp_path / "data"))


# --- other languages ------------------------------------------------------------------------


def test_show_in_german_and_french_keeps_the_ref_and_links_the_language(assistant):
    german = assistant.show("Art. 50 (1)", lang="de")
    assert (german.ref, german.lang) == ("Article 50(1)", "de")
    assert german.text.startswith("(1) Die Anbieter stellen sicher, dass KI-Systeme")
    french = assistant.show("Article 3(4)", lang="fr")
    assert french.term == "déployeur"
    assert french.url == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/fra#art_3"
    assert assistant.show("Article 50(1)", lang="en").text.startswith("1. Providers shall")


def test_citation_of_a_german_wording_says_lang_and_names_the_german_act(assistant):
    citation = assistant.citation(assistant.show("Article 50(1)", lang="de"))
    data = citation.to_dict()
    assert data["lang"] == "de" and data["ref"] == "Article 50(1)"
    assert data["doc_id"] == "eu-ai-act"
    assert data["url"].endswith("/oj/deu#050.001")
    assert citation.doc_title.startswith("Verordnung (EU) 2024/1689")


def test_translation_of_a_guideline_is_english_with_a_note(assistant):
    shown = assistant.translation("Guidelines C(2026) 5054, para. 1", "fr")
    assert shown.provision.lang == "en" and not shown.translated
    assert shown.note.startswith("No French wording of ")


def test_unsupported_language_is_a_bad_question(assistant):
    with pytest.raises(BadQuestion, match="unsupported language 'it'; use one of en, de, fr"):
        assistant.show("Article 50(1)", lang="it")
    with pytest.raises(BadQuestion, match="unsupported language"):
        assistant.verify("Article 50(1)", "x", lang="es")


def test_verify_checks_a_quote_against_the_wording_in_its_language(assistant):
    german = "Diese Pflicht gilt nicht für gesetzlich zur Aufdeckung"
    assert assistant.verify("Article 50(1)", german, lang="de") == kb.Verification(
        True, "Article 50(1)", lang="de")
    refused = assistant.verify("Article 50(1)", german, lang="fr")
    assert not refused.ok
    assert refused.reason == "text differs from the official wording in French"
    assert not assistant.verify("Article 50(1)", german, lang="en").ok
    # Without a language, any official wording of the ref verifies.
    assert assistant.verify("Article 50(1)", german).lang == "de"
    assert assistant.verify("Article 50(1)", "Providers shall ensure").lang == "en"
    altered = german.replace("Pflicht", "Pflichten")
    assert not assistant.verify("Article 50(1)", altered, lang="de").ok
