"""Answers on the full corpus: CX questions, law in force on a date, obligations, grounding."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.corpus

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"


def refs(answer) -> list[str]:
    return [c.ref for c in answer.citations]


def test_plain_language_chatbot_question_reaches_article_50_1(full_assistant):
    answer = full_assistant.ask("Do I have to tell customers they're talking to a bot?")
    assert not answer.abstained
    assert refs(answer)[0] == "Article 50(1)"
    assert "informed that they are interacting with an AI system" in answer.text
    assert answer.obligations[0]["refs"] == ["Article 50(1)"]


def test_emotion_recognition_at_work_reaches_article_5_1_f(full_assistant):
    answer = full_assistant.ask("Can we use emotion recognition on our call centre employees?")
    assert "Article 5(1)(f)" in refs(answer)[:3]


def test_credit_scoring_deadline_is_2_december_2027_as_amended(full_assistant):
    answer = full_assistant.ask("When do the high-risk obligations for credit scoring apply?")
    first = answer.citations[0]
    assert first.ref == "Article 113(c)(i)"
    assert first.version_source == "Regulation (EU) 2026/1744, Article 1, point (40)(b)"
    assert first.valid_from == "2026-07-27"
    assert "2 December 2027" in answer.text


def test_before_the_amendment_the_2024_deadline_applies(full_assistant):
    answer = full_assistant.ask("When do the high-risk obligations for credit scoring apply?",
                                as_of="2026-01-01")
    assert "2 December 2027" not in answer.text
    article_113 = [c for c in answer.citations if c.ref.startswith("Article 113")]
    assert article_113 and all(c.version_source == "" for c in article_113)
    assert "2 August 2026" in " ".join(c.text for c in article_113)


def test_non_consensual_intimate_images_cite_article_5_1_ba(full_assistant):
    answer = full_assistant.ask(
        "Is AI that creates non-consensual intimate images of real people prohibited?")
    assert refs(answer)[0] == "Article 5(1)(ba)"
    assert answer.citations[0].version_source.startswith("Regulation (EU) 2026/1744")


def test_article_4_today_is_the_new_text_and_in_january_2026_the_original(full_assistant):
    today = full_assistant.show("Article 4(1)")
    assert today.text.startswith("1. Providers and deployers of AI systems shall take measures "
                                 "to support the development of AI literacy")
    original = full_assistant.show("Article 4", as_of="2026-01-01")
    assert "ensure, to their best extent, a sufficient level of AI literacy" in original.text


def test_deleted_article_10_5_is_never_cited_as_current_law(full_assistant):
    deleted = full_assistant.library.version("Article 10(5)", "2026-11-27")
    assert deleted.deleted
    answer = full_assistant.ask("Article 10(5)")
    assert "Article 10(5)" not in refs(answer)
    before = full_assistant.ask("Article 10(5)", as_of="2026-01-01")
    assert refs(before)[0] == "Article 10(5)"


def test_article_22_gdpr_lookup(full_assistant):
    answer = full_assistant.ask("What does Article 22 GDPR say about automated decisions?")
    assert refs(answer)[0].endswith("GDPR") and refs(answer)[0].startswith("Article 22")


def test_guideline_paragraph_lookup(full_assistant):
    answer = full_assistant.ask("Guidelines C(2025) 5052, para. 123")
    assert refs(answer)[0] == "Guidelines C(2025) 5052, para. 123"
    assert answer.citations[0].page is not None


def test_every_citation_of_every_eval_answer_passes_verification(full_assistant):
    failures = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        answer = full_assistant.ask(question)
        for check in full_assistant.verify_answer(answer):
            if not check.ok:
                failures.append((question, check))
        for citation in answer.citations:
            if not full_assistant.library.versions(citation.ref):
                failures.append((question, citation.ref))
    assert failures == []


def test_out_of_scope_questions_abstain_on_the_full_corpus(full_assistant):
    for question in ["What is the capital of Australia?", "How do I reset my CRM password?"]:
        assert full_assistant.ask(question).abstained, question


@pytest.mark.parametrize(("question", "lead"), [
    ("What fines could we face if our chatbot does not disclose that it is an AI?",
     "Article 99(4)(g)"),
    ("How much is the penalty for using a banned AI practice like emotion recognition at work?",
     "Article 99(3)"),
])
def test_a_fines_question_leads_with_the_penalty_its_subject_calls_for(full_assistant, question,
                                                                       lead):
    answer = full_assistant.ask(question, as_of="2026-11-27")
    assert refs(answer)[0] == lead
    assert re.findall(r"\[(\d+)\]", answer.text)[0] == "1"  # the text quotes it first


@pytest.mark.parametrize(("question", "lead"), [
    ("When do the transparency duties for chatbots start to apply?", "Article 113"),
    ("From when must high-risk credit scoring systems comply?", "Article 113(c)(i)"),
    # Article 111 dates systems and models already on the market apart.
    ("Our text generator was already on the market before August 2026. By when must its "
     "outputs be marked as AI-generated?", "Article 111(4)"),
    ("Our GPAI model has been on the market since 2024. By when must it comply?",
     "Article 111(3)"),
    # A time limit the provision itself sets is not an application date.
    ("What is the deadline for notifying a serious incident to the market surveillance "
     "authority?", "Article 73(2)"),
])
def test_a_date_question_leads_with_the_date_provision(full_assistant, question, lead):
    answer = full_assistant.ask(question, as_of="2026-11-27")
    assert refs(answer)[0] == lead


@pytest.mark.parametrize(("question", "lead"), [
    ("What is a deployer?", "Article 3(4)"),
    ("What does 'emotion recognition system' mean?", "Article 3(39)"),
    ("What counts as a general-purpose AI model?", "Article 3(63)"),
    ("How is an importer defined in the AI Act?", "Article 3(6)"),
    ("What exactly is a 'deployer'?", "Article 3(4)"),
    ("What precisely does 'emotion recognition system' mean?", "Article 3(39)"),
])
def test_a_definition_question_leads_with_its_article_3_point(full_assistant, question, lead):
    answer = full_assistant.ask(question, as_of="2026-11-27")
    assert refs(answer)[0] == lead
    assert answer.text.startswith("‘")  # the definition itself, quoted


@pytest.mark.parametrize(("question", "lead"), [
    ("Muss unser Chatbot den Kunden sagen, dass er eine KI ist?", "Article 50(1)"),
    ("Notre chatbot doit-il dire aux clients qu'il est une IA ?", "Article 50(1)"),
])
def test_a_german_or_french_question_leads_with_the_law_in_its_language(full_assistant,
                                                                        question, lead):
    # The guidelines exist in English only; the law among the first three leads instead.
    answer = full_assistant.ask(question, as_of="2026-11-27")
    assert refs(answer)[0] == lead
    assert answer.citations[0].lang in ("de", "fr")
