"""`python -m kb`: ask (single and batch), show, define, obligations, and their errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from kb.cli import cli


def run(settings, *args, input: str | None = None):
    env = {"KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
           "CHROMA_HOST": "", "KB_COLLECTION": "kb", "KB_AS_OF": ""}
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def test_ask_json_prints_the_documented_object(small_kb):
    result = run(small_kb, "ask", "Must our chatbot tell customers it is an AI?", "--json",
                 "--top-k", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["question", "answer", "abstained", "citations", "obligations",
                          "as_of", "lang", "timing_ms"]
    assert [c["n"] for c in data["citations"]] == [1, 2, 3]
    assert data["citations"][0]["ref"] == "Article 50(1)"
    assert data["obligations"][0]["id"] == "transparency-chatbot-disclosure"


def test_ask_text_shows_summary_answer_and_sources(small_kb):
    result = run(small_kb, "ask", "Must our chatbot tell customers it is an AI?")
    assert result.exit_code == 0
    assert "Our summary (plain language, not the legal text):" in result.output
    assert "[1] Article 50(1) — https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001" \
        in result.output


def test_batch_prints_one_json_object_per_line_and_survives_bad_lines(small_kb):
    questions = "What is a deployer?\n\nWhat\x07 is this?\nWhat is the capital of Australia?\n"
    result = run(small_kb, "ask", "--batch", "-", "--json", input=questions)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["question"] for line in lines] == [
        "What is a deployer?", "What\x07 is this?", "What is the capital of Australia?"]
    assert lines[0]["citations"][0]["ref"] == "Article 3(4)"
    assert "control character (U+0007)" in lines[1]["error"]
    assert lines[2]["abstained"] is True


def test_ask_in_german_quotes_the_german_wording_and_says_so(small_kb):
    result = run(small_kb, "ask", "Muss unser Chatbot den Kunden sagen, dass er eine KI ist?",
                 "--top-k", "3")
    assert result.exit_code == 0, result.output
    assert "Die Anbieter stellen sicher" in result.output
    assert "[1] Article 50(1) — https://eur-lex.europa.eu/eli/reg/2024/1689/oj/deu#050.001" \
        in result.output
    assert "question read as German" in result.output.splitlines()[-1]


def test_ask_lang_overrides_detection_in_json_and_batch(small_kb, assistant):
    question = "Notre chatbot doit-il dire aux clients qu'il est une IA ?"
    result = run(small_kb, "ask", question, "--lang", "en", "--json", "--top-k", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lang"] == "en"
    expected = assistant.ask(question, top_k=2, lang="en").to_dict()
    assert {**data, "timing_ms": 0} == {**expected, "timing_ms": 0}
    assert assistant.ask(question, top_k=2).to_dict()["lang"] == "fr"
    batch = run(small_kb, "ask", "--batch", "-", "--json", input="Was ist ein Betreiber?\n"
                "Qu'est-ce qu'un déployeur ?\nWhat is a deployer?\n")
    assert batch.exit_code == 0, batch.output
    answers = [json.loads(line) for line in batch.output.splitlines()]
    assert [(a["lang"], a["citations"][0]["ref"], a["citations"][0]["lang"]) for a in answers] \
        == [("de", "Article 3(4)", "de"), ("fr", "Article 3(4)", "fr"),
            ("en", "Article 3(4)", "en")]


def test_ask_unsupported_language_exits_2_with_one_error_line(small_kb):
    result = run(small_kb, "ask", "Was ist ein Betreiber?", "--lang", "xx")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: Invalid value for '--lang': 'xx' is not one of 'en', 'de', 'fr'."]


def test_ask_needs_a_question_or_a_batch(small_kb):
    result = run(small_kb, "ask")
    assert result.exit_code == 2
    assert "give either a QUESTION or --batch FILE" in result.output


def test_empty_question_exits_1_with_message(small_kb):
    result = run(small_kb, "ask", "   ")
    assert result.exit_code == 1
    assert "Error: Please type a question" in result.output


def test_show_prints_verbatim_provision_with_title_and_link(small_kb):
    result = run(small_kb, "show", "Art. 5(1)(f)")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Article 5(1)(f) — Prohibited AI practices"
    assert lines[3].startswith("the placing on the market, the putting into service for this "
                               "specific purpose, or the use of AI systems to infer emotions")
    assert lines[-1] == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#005.001"


def test_show_in_german_prints_the_german_wording_and_link(small_kb):
    result = run(small_kb, "show", "Article 50(1)", "--lang", "de")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("Article 50(1) — Transparenzpflichten für Anbieter und Betreiber "
                        "bestimmter KI-Systeme")
    assert lines[1].startswith("Verordnung (EU) 2024/1689")
    assert lines[3].startswith("(1) Die Anbieter stellen sicher")
    assert lines[-1] == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/deu#050.001"


def test_show_json_in_french_has_lang_and_the_french_text(small_kb):
    result = run(small_kb, "show", "Article 3(4)", "--lang", "fr", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["ref"], data["lang"], data["term"]) == ("Article 3(4)", "fr", "déployeur")
    assert data["text"].startswith("«déployeur», une personne physique ou morale")
    assert "note" not in data


def test_show_in_german_of_an_english_only_text_prints_the_note(small_kb):
    result = run(small_kb, "show", "Guidelines C(2026) 5054, para. 1", "--lang", "de", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["lang"] == "en"
    assert data["note"].startswith("No German wording of ")


def test_show_unsupported_language_exits_2_with_one_error_line(small_kb):
    result = run(small_kb, "show", "Article 50(1)", "--lang", "it")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == ["Error: Invalid value for '--lang': 'it' is not one of 'en', 'de', 'fr'."]


def test_show_unknown_ref_exits_1_with_message(small_kb):
    result = run(small_kb, "show", "Article 50(9)")
    assert result.exit_code == 1
    assert "No provision 'Article 50(9)' in the knowledge base; did you mean 'Article 50'?" \
        in result.output


def test_define_json(small_kb):
    result = run(small_kb, "define", "emotion recognition system", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ref"] == "Article 3(39)" and data["term"] == "emotion recognition system"


def test_obligations_json_for_a_chatbot_provider(small_kb):
    result = run(small_kb, "obligations", "--role", "provider", "--system",
                 "customer_service_chatbot", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    refs = [ref for item in data["items"] for ref in item["refs"]]
    assert "Article 50(1)" in refs
    assert set(data["items"][0]) == {"id", "title", "summary", "roles", "refs",
                                     "applies_from", "status"}


def test_obligations_unknown_system_lists_the_valid_ones(small_kb):
    result = run(small_kb, "obligations", "--role", "deployer", "--system", "toaster")
    assert result.exit_code == 2
    assert "'toaster' is not one of 'customer_service_chatbot', 'voice_bot'" in result.output


ASSESS_KEYS = ["description", "role", "role_assumed", "risk_level", "tiers", "reasons",
               "exceptions_considered", "questions", "obligations", "as_of", "timing_ms"]


def test_assess_json_prints_the_documented_object(small_kb):
    result = run(small_kb, "assess", "Our bank uses a model to decide who gets a loan.",
                 "--json", "--as-of", "2026-12-15")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ASSESS_KEYS
    assert data["risk_level"] == "high_risk"
    assert data["reasons"][0]["ref"] == "Annex III, point 5(b)"


def test_assess_text_shows_our_summary_and_the_quoted_provision(small_kb):
    result = run(small_kb, "assess", "We use a chatbot to answer customer questions.",
                 "--fact", "interacts_with_people=yes")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Risk level: Transparency duties only (limited risk)\n")
    assert "Our summary (plain language, not the legal text):" in result.output
    assert "Article 50(1) — People interact directly with the AI system" in result.output


def test_assess_batch_reads_text_and_json_lines_and_reports_bad_lines(small_kb):
    lines = ("Spam filter on our mail gateway\n"
             '{"description": "We sell an app that reads anger in callers\' voices", '
             '"role": "provider"}\n'
             '{"description": "chatbot", "role": "king"}\n'
             "{not json\n")
    result = run(small_kb, "assess", "--batch", "-", "--json", input=lines)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r.get("risk_level") for r in rows] == ["minimal", "high_risk", None, None]
    assert list(rows[0]) == ASSESS_KEYS
    assert rows[1]["role"] == "provider" and rows[1]["role_assumed"] is False
    assert rows[2] == {"description": "chatbot", "error": "unknown role 'king'; valid: provider, "
                       "deployer, importer, distributor, authorised_representative, "
                       "product_manufacturer, gpai_model_provider"}
    assert rows[3]["error"].startswith("invalid JSON:")


def test_assess_bad_input_exits_1_naming_the_value(small_kb):
    empty = run(small_kb, "assess", "   ")
    assert empty.exit_code == 1 and "Please describe the AI system" in empty.output
    role = run(small_kb, "assess", "A chatbot", "--role", "king")
    assert role.exit_code == 1 and "unknown role 'king'" in role.output
    fact = run(small_kb, "assess", "A chatbot", "--fact", "colour=yes")
    assert fact.exit_code == 1 and "unknown fact 'colour'" in fact.output
    value = run(small_kb, "assess", "A chatbot", "--fact", "text_only=perhaps")
    assert value.exit_code == 1 and "fact 'text_only' must be yes or no, got 'perhaps'" in \
        value.output
    long = run(small_kb, "assess", "x" * 5001)
    assert long.exit_code == 1 and "5001 characters long" in long.output


def test_ask_about_a_described_system_prints_our_summary_first(small_kb):
    result = run(small_kb, "ask", "We use AI to screen CVs and rank candidates for our "
                 "contact-centre jobs. Is that high-risk?", "--as-of", "2026-12-15")
    assert result.exit_code == 0, result.output
    assert "Our summary (plain language, not the legal text): High-risk." in result.output
    assert "[1] Annex III, point 4(a)" in result.output
