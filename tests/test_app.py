"""The Streamlit app, page by page, with ``AppTest`` on the indexed fixture corpus."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.maintain import status
from kb.answers.feedback import CSV_COLUMNS, FeedbackStore, to_csv
from ui import get_assistant
from ui.widgets import answer_body, escape_markdown, highlight

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CORPUS = ROOT / "tests" / "fixtures" / "corpus"
APP = str(ROOT / "app.py")
BOT_QUESTION = "Do I have to tell customers they're talking to a bot?"
HOSTILE_REF = "Guidelines C(2026) 5054, para. 15"
TOKEN = "test-admin-token"


@pytest.fixture()
def use_kb(monkeypatch):
    """Point the app's environment at an index; the shared assistant is reopened."""

    def use(settings, *, token: str = "", **env: str) -> None:
        values = {
            "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
            "KB_COLLECTION": "kb", "CHROMA_HOST": "", "KB_AS_OF": "", "KB_ADMIN_TOKEN": token,
            **env,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_assistant.clear()

    yield use
    get_assistant.clear()


def open_app(page: str = "", **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    if page:
        at.switch_page(page)
    at.run(timeout=120)
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.text_area(key="question").input(question)
    button(at, "Ask").click()
    return at.run(timeout=120)


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r} in {[b.label for b in at.button]}"
    return found[0]


def texts(at: AppTest) -> list[str]:
    """Every Markdown body and label the app sent, as the browser receives them."""
    bodies = [e.value for kind in ("markdown", "caption", "title", "header", "subheader",
                                   "warning", "info", "error", "success", "code")
              for e in at.get(kind)]
    bodies += [b.label for b in at.button] + [e.label for e in at.expander]
    return [str(b) for b in bodies]


# --- pure helpers --------------------------------------------------------------------------


def test_escape_markdown_shows_hostile_markup_as_text():
    escaped = escape_markdown("<script>alert(1)</script> **[click](javascript:alert(1))**")
    assert escaped == (
        "\\<script\\>alert(1)\\</script\\> \\*\\*\\[click\\](javascript:alert(1))\\*\\*"
    )
    assert not re.search(r"(?<!\\)[<\[*]", escaped)


def test_escape_markdown_keeps_points_on_their_own_lines_without_lists():
    text = "as follows:\n1. first\n- second\n# third\n(a) fourth"
    assert escape_markdown(text) == (
        "as follows:  \n1\\. first  \n\\- second  \n\\# third  \n(a) fourth"
    )


def test_highlight_bolds_quoted_sentences_and_escapes_the_rest():
    text = "1. Providers shall *inform*. This shall not apply <here>.\n(a) point"
    marked = highlight(text, ["This shall not apply <here>."])
    assert marked == (
        "1\\. Providers shall \\*inform\\*. **This shall not apply \\<here\\>.**  \n(a) point"
    )


def test_answer_body_links_each_marker_to_its_card(assistant):
    answer = assistant.ask(BOT_QUESTION)
    body = answer_body(answer)
    assert "[\\[1\\]](#cite-1)" in body
    assert body.startswith("Providers shall ensure that AI systems intended to interact")


def test_table_of_contents_groups_articles_by_chapter(assistant):
    library = assistant.library
    toc = library.table_of_contents("eu-ai-act")
    titles = [g.title for g in toc]
    assert titles[0] == "Recitals"
    assert "Chapter II — Prohibited AI practices" in titles
    assert titles[-1] == "Annexes"
    chapter_iv = next(g for g in toc if g.title.startswith("Chapter IV"))
    assert chapter_iv.entries == [
        ("Article 50", "Article 50 — Transparency obligations for providers and deployers of "
                       "certain AI systems")
    ]
    chapter_iii = next(g for g in toc if g.title.startswith("Chapter III"))
    assert chapter_iii.groups[0].title == "Section 1 — Classification of AI systems as high-risk"


# --- Ask ------------------------------------------------------------------------------------


def test_ask_shows_answer_and_citation_cards(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app()
    assert not at.exception
    assert at.title[0].value == "Ask the EU AI Act"
    ask(at, BOT_QUESTION)
    assert not at.exception
    headings = [s.value for s in at.subheader]
    assert headings[1] == "\\[1\\] Article 50(1)"
    assert any("Providers shall ensure that AI systems intended to interact directly" in t
               for t in texts(at))
    assert any(c.value.startswith("Article 50(1), Regulation (EU) 2024/1689") for c in at.code)
    assert "Whole article: Article 50" in [e.label for e in at.expander]
    assert "Download as Markdown" in [b.label for b in at.get("download_button")]
    assert "Challenge this answer" in [e.label for e in at.expander]
    # The session history offers the question again.
    assert any(b.label == escape_markdown(BOT_QUESTION) for b in at.sidebar.button)
    # The matching obligation opens the answer, labelled as the product's own summary.
    assert any(c.value.startswith("Our summary in plain language") for c in at.caption)
    assert any("Tell people they are talking to an AI" in t and "Article 50(1)" in t
               for t in texts(at))


def test_ask_uses_the_law_as_of_the_sidebar_date(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app()
    at.date_input(key="as_of_date").set_value(date(2025, 3, 1))
    at = ask(at, BOT_QUESTION)
    assert not at.exception
    assert any(c.value.startswith("Law as of 2025-03-01 · answered in") for c in at.caption)
    assert at.session_state["answer"].as_of == "2025-03-01"


def test_ask_empty_question_gets_a_friendly_message(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), "   ")
    assert not at.exception
    assert at.warning[0].value.startswith("Please type a question")
    assert len(at.subheader) == 0


def test_ask_out_of_scope_question_abstains_and_offers_reading(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), "What is the capital of Australia?")
    assert not at.exception
    assert at.warning[0].value.startswith("**The indexed texts don't cover this.**")
    assert "#### You may want to read" in [m.value for m in at.markdown]
    assert not any(s.value.startswith("\\[1\\]") for s in at.subheader)


def test_example_button_asks_its_question(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app()
    button(at, escape_markdown(BOT_QUESTION)).click()
    at.run(timeout=120)
    assert not at.exception
    assert at.text_area(key="question").value == BOT_QUESTION
    assert at.subheader[1].value == "\\[1\\] Article 50(1)"


GERMAN_QUESTION = "Muss unser Chatbot den Kunden sagen, dass er eine KI ist?"


def test_a_german_question_sets_the_picker_and_is_answered_in_german(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), GERMAN_QUESTION)
    assert not at.exception
    assert at.sidebar.radio(key="language").value == "de"  # the detected language
    assert at.subheader[1].value == "\\[1\\] Article 50(1)"
    assert any(c.value.startswith("Question read as German") for c in at.caption)
    assert any("Die Anbieter stellen sicher, dass KI-Systeme" in t for t in texts(at))
    assert any(c.value.startswith("Article 50(1), Verordnung (EU) 2024/1689") and
               c.value.endswith("/oj/deu#050.001") for c in at.code)
    # An English question sets it back.
    at = ask(at, BOT_QUESTION)
    assert at.sidebar.radio(key="language").value == "en"
    assert at.session_state["answer"].lang == "en"


def test_switching_the_picker_answers_the_same_question_in_that_language(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), BOT_QUESTION)
    at.sidebar.radio(key="language").set_value("de")
    at.run(timeout=120)
    assert not at.exception
    answer = at.session_state["answer"]
    assert (answer.question, answer.lang) == (BOT_QUESTION, "de")
    assert (answer.citations[0].ref, answer.citations[0].lang) == ("Article 50(1)", "de")
    assert any("Die Anbieter stellen sicher, dass KI-Systeme" in t for t in texts(at))


def test_each_citation_card_switches_its_language(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), BOT_QUESTION)
    answer = at.session_state["answer"]
    card = at.radio(key="card-lang-1-1")
    assert list(card.options) == ["EN", "DE", "FR"] and card.value == "en"
    card.set_value("de")
    at.run(timeout=120)
    assert not at.exception
    assert any(m.value.startswith("(1) Die Anbieter stellen sicher") for m in at.markdown)
    assert any(c.value.endswith("/oj/deu#050.001") for c in at.code)
    # The answer itself and the other cards stay as they were.
    assert at.session_state["answer"] == answer
    assert at.radio(key="card-lang-1-2").value == "en"
    guideline = next(c for c in answer.citations if c.doc_id.startswith("guidelines"))
    at.radio(key=f"card-lang-1-{guideline.n}").set_value("fr")
    at.run(timeout=120)
    assert any(i.value.startswith("No French wording of Commission Guidelines")
               for i in at.info)


def test_challenge_is_stored_with_answer_and_exported(fresh_kb, use_kb):
    use_kb(fresh_kb)
    at = ask(open_app(), BOT_QUESTION)
    at.radio(key="rating-1").set_value("👎 Not right")
    at.multiselect(key="wrong-1").set_value(["Recital 132"])
    at.text_input(key="missing-1").input("Art. 50(2); Article 999")
    at.text_area(key="comment-1").input("Should mention labelling too.")
    button(at, "Send feedback").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.success[0].value.startswith("Thank you, recorded as #1.")
    assert "Article 999" in at.warning[0].value  # unknown refs are kept, with a warning
    assert "Download as eval question (JSONL)" in [b.label for b in at.get("download_button")]
    (record,) = FeedbackStore(fresh_kb.feedback_path).all()
    assert record.question == BOT_QUESTION
    assert record.rating == -1
    assert record.wrong == ("Recital 132",)
    assert record.missing == ("Article 50(2)", "Article 999")
    assert record.cited == ("Article 50(1)", "Recital 132")
    assert record.citations[0]["ref"] == "Article 50(1)"
    assert record.corpus_version == status(fresh_kb)["corpus_version"]
    header = to_csv([record]).splitlines()[0]
    assert header.split(",") == list(CSV_COLUMNS)
    # Maintainers see it on the Sources page.
    at = open_app("ui/sources.py")
    assert not at.exception
    assert "Maintainer actions are disabled" in at.info[0].value
    use_kb(fresh_kb, token=TOKEN)
    at = open_app("ui/sources.py")
    at.text_input(key="admin_token").input(TOKEN)
    at.run(timeout=120)
    assert not at.exception
    table = at.dataframe[1].value
    assert list(table["question"]) == [BOT_QUESTION]
    assert list(table["wrong"]) == ["Recital 132"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Export CSV", "Export challenged answers as eval JSONL"]


# --- Browse ---------------------------------------------------------------------------------


def test_browse_renders_hostile_guideline_paragraph_as_text(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/browse.py", ref=HOSTILE_REF)
    assert not at.exception
    assert at.subheader[0].value == escape_markdown(HOSTILE_REF)
    bodies = texts(at)
    shown = [b for b in bodies if "script" in b]
    assert shown, "the hostile paragraph is not shown"
    assert any("\\<script\\>alert(1)\\</script\\>" in b for b in shown)
    assert any("\\*\\*\\[click\\](javascript:alert(1))\\*\\*" in b for b in shown)
    for body in bodies:
        assert not re.search(r"(?<!\\)<script", body), body
        assert not re.search(r"(?<!\\)\[click\]", body), body


def test_ask_never_sends_unescaped_corpus_markup(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), "Which test paragraph must be displayed as text, never rendered?")
    assert not at.exception
    for body in texts(at):
        assert not re.search(r"(?<!\\)<script", body), body
        assert "](javascript" not in body.replace("\\](javascript", "")


def test_browse_deep_link_shows_provision_with_context(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/browse.py", ref="Article 50(1)")
    assert not at.exception
    assert at.subheader[0].value == "Article 50(1)"
    assert at.code[0].value.startswith("Article 50(1), Regulation (EU) 2024/1689")
    assert "↑ Part of Article 50" in [b.label for b in at.button]
    tabs = [t.label for t in at.tabs]
    # 'AI system' and 'provider'; not 'subject' (Article 3(58)) from "subject to ...".
    assert tabs[:3] == ["Versions (1)", "Cross-references (0)", "Definitions used (2)"]
    assert any(m.value.startswith("**Article 3(1)** — Definitions (‘AI system’)")
               for m in at.markdown)
    assert not any("(‘subject’)" in m.value for m in at.markdown)
    # The table of contents opens another provision.
    button(at, "Article 5 — Prohibited AI practices").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.subheader[0].value == "Article 5"
    assert at.query_params["ref"] == ["Article 5"] or at.query_params["ref"] == "Article 5"


def test_browse_lists_answers_of_this_session_that_cite_it(small_kb, use_kb):
    use_kb(small_kb)
    at = ask(open_app(), BOT_QUESTION)
    at.switch_page("ui/browse.py")
    at.query_params["ref"] = "Article 50"
    at.run(timeout=120)
    assert not at.exception
    assert at.subheader[0].value == "Article 50"
    assert "**Asked this session**" in [m.value for m in at.markdown]
    assert any(m.value.startswith("- " + escape_markdown(BOT_QUESTION)) for m in at.markdown)


def test_sidebar_language_picker_offers_the_official_languages(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app()
    assert not at.exception
    picker = at.sidebar.radio(key="language")
    assert list(picker.options) == ["EN", "DE", "FR"] and picker.value == "en"


def test_browse_in_german_shows_the_german_wording_and_link(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/browse.py", ref="Article 50(1)")
    at.sidebar.radio(key="language").set_value("de")
    at.run(timeout=120)
    assert not at.exception
    assert at.subheader[0].value == "Article 50(1)"
    assert "Transparenzpflichten für Anbieter und Betreiber" in at.caption[1].value
    assert any(m.value.startswith("(1) Die Anbieter stellen sicher") for m in at.markdown)
    assert at.code[0].value.startswith("Article 50(1), Verordnung (EU) 2024/1689")
    assert at.code[0].value.endswith("https://eur-lex.europa.eu/eli/reg/2024/1689/oj/deu#050.001")
    assert not at.info  # German wording in force: no note
    at.sidebar.radio(key="language").set_value("fr")
    at.run(timeout=120)
    assert any(m.value.startswith("1\\. Les fournisseurs veillent") for m in at.markdown)


def test_browse_in_french_of_an_english_only_guideline_says_so(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/browse.py", ref="Guidelines C(2026) 5054, para. 1")
    at.sidebar.radio(key="language").set_value("fr")
    at.run(timeout=120)
    assert not at.exception
    assert at.info[0].value.startswith("No French wording of Commission Guidelines")


def test_browse_unknown_ref_warns(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/browse.py", ref="Article 999")
    assert not at.exception
    assert "No provision 'Article 999'" in at.warning[0].value


# --- Sources and maintainers ----------------------------------------------------------------


def test_sources_lists_documents_and_corpus_version(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/sources.py")
    assert not at.exception
    info = status(small_kb)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "3"
    assert metrics["Corpus version"] == info["corpus_version"]
    table = at.dataframe[0].value
    assert list(table["Id"]) == [d["id"] for d in info["documents"]]
    languages = dict(zip(table["Id"], table["Language"], strict=True))
    assert languages["eu-ai-act"] == "en"
    assert languages["eu-ai-act-de"] == "de (version of eu-ai-act; catalog only)"
    assert "Maintainer actions are disabled" in at.info[0].value
    assert not at.file_uploader


def test_admin_actions_refused_with_wrong_token(small_kb, use_kb):
    use_kb(small_kb, token=TOKEN)
    at = open_app("ui/sources.py")
    at.text_input(key="admin_token").input("not-the-token")
    at.run(timeout=120)
    assert not at.exception
    assert at.error[0].value == "Wrong admin token: maintainer actions refused."
    assert not at.file_uploader
    assert not at.tabs


def test_admin_token_may_come_from_streamlit_secrets(small_kb, use_kb):
    use_kb(small_kb)
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["admin_token"] = TOKEN
    at.switch_page("ui/sources.py")
    at.run(timeout=120)
    at.text_input(key="admin_token").input(TOKEN)
    at.run(timeout=120)
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Add a document", "Re-index", "Remove a document",
                                          "Feedback"]
    assert "No feedback yet." in [c.value for c in at.caption]


def test_admin_uploads_then_removes_a_document(fresh_kb, use_kb):
    use_kb(fresh_kb, token=TOKEN)
    at = open_app("ui/sources.py")
    at.text_input(key="admin_token").input(TOKEN)
    at.run(timeout=120)
    data = (fresh_kb.corpus_dir / "guideline-excerpt.md").read_bytes()
    at.file_uploader(key="add_file").set_value(("transparency-copy.md", data, "text/markdown"))
    at.text_input(key="add_id").input("transparency-copy")
    at.text_input(key="add_title").input("Copy of the Article 50 guidelines excerpt")
    at.text_input(key="add_date").input("2026-07-20")
    at.text_input(key="add_identifier").input("C(2026) 9999")
    button(at, "Add and index").click()
    at.run(timeout=300)
    assert not at.exception
    assert at.success[0].value.startswith(
        "Added transparency-copy. Index updated (added: transparency-copy). 18 chunks embedded")
    assert "transparency-copy" in [d["id"] for d in status(fresh_kb)["documents"]]
    assert get_assistant().library.version("Guidelines C(2026) 9999, para. 3") is not None

    at.selectbox(key="remove_id").set_value("transparency-copy")
    at.checkbox(key="remove_sure").check()
    button(at, "Remove").click()
    at.run(timeout=300)
    assert not at.exception
    assert at.success[0].value.startswith("Removed transparency-copy. Index updated (removed: ")
    assert "transparency-copy" not in [d["id"] for d in status(fresh_kb)["documents"]]
    assert not (fresh_kb.corpus_dir / "guidelines" / "transparency-copy.md").exists()


def test_admin_bad_upload_changes_nothing(fresh_kb, use_kb):
    use_kb(fresh_kb, token=TOKEN)
    manifest = fresh_kb.manifest_path.read_text(encoding="utf-8")
    at = open_app("ui/sources.py")
    at.text_input(key="admin_token").input(TOKEN)
    at.run(timeout=120)
    at.file_uploader(key="add_file").set_value(("empty.md", b"", "text/markdown"))
    at.text_input(key="add_id").input("empty-doc")
    at.text_input(key="add_title").input("Empty")
    button(at, "Add and index").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.error[0].value.startswith("Not added:")
    assert fresh_kb.manifest_path.read_text(encoding="utf-8") == manifest


# --- no index -------------------------------------------------------------------------------


def test_app_follows_ingest_add_and_remove_from_a_shell(fresh_kb, use_kb, tmp_path):
    """The README's maintainer commands, run while the app is up: no restart, no traceback."""
    import os
    import subprocess
    import sys

    use_kb(fresh_kb)
    at = open_app()
    ask(at, BOT_QUESTION)
    assert not at.exception
    assert "· 3 documents" in " ".join(c.value for c in at.sidebar.caption)
    env = {**os.environ, "KB_CORPUS_DIR": str(fresh_kb.corpus_dir),
           "KB_DATA_DIR": str(fresh_kb.data_dir), "CHROMA_HOST": "", "KB_COLLECTION": "kb"}
    source = tmp_path / "nl.md"
    source.write_text((FIXTURE_CORPUS / "guideline-excerpt.md").read_text(encoding="utf-8"),
                      encoding="utf-8")
    for command in (["add", str(source), "--id", "nl-guidance", "--title", "Dutch guidance",
                     "--kind", "national_guidance"], ["remove", "nl-guidance"]):
        done = subprocess.run([sys.executable, "-m", "ingest", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        ask(at, BOT_QUESTION)
        assert not at.exception
        assert not at.error, [e.value for e in at.error]
        assert "\\[1\\] Article 50(1)" in [s.value for s in at.subheader]
        count = 4 if command[0] == "add" else 3
        assert f"· {count} documents" in " ".join(c.value for c in at.sidebar.caption)


def test_missing_index_shows_the_build_command(small_kb, use_kb, tmp_path):
    use_kb(small_kb, KB_DATA_DIR=str(tmp_path / "no-index"))
    at = open_app()
    assert not at.exception
    assert at.info[0].value.startswith("The knowledge base has not been built yet.")
    assert "python -m ingest" in at.code[0].value
    assert not at.text_area


# --- Obligations ----------------------------------------------------------------------------


def test_obligations_checklist_follows_the_answers(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/obligations.py")
    assert not at.exception
    assert at.title[0].value == "Your obligations"
    assert at.selectbox(key="ob_role").value == "deployer"
    assert at.selectbox(key="ob_system").value == "customer_service_chatbot"
    titles = list(at.dataframe[0].value["Obligation"])
    assert "Give AI notices clearly, at first contact, accessibly" in titles
    assert "No harmful manipulation or deception" in titles
    assert {m.label: m.value for m in at.metric}["Depends on"] != "0"
    # Answering "no" to the manipulation question drops the prohibitions it decides.
    at.segmented_control(key="fact-manipulative").set_value("No")
    at.run(timeout=120)
    assert not at.exception
    titles = list(at.dataframe[0].value["Obligation"])
    assert "No harmful manipulation or deception" not in titles
    assert "Give AI notices clearly, at first contact, accessibly" in titles
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download Markdown", "Download CSV"]
    assert at.get("vega_lite_chart"), "no timeline chart"


# --- full corpus ----------------------------------------------------------------------------


@pytest.mark.corpus
def test_browse_amended_article_shows_both_versions(full_kb, use_kb):
    use_kb(full_kb)
    at = open_app("ui/browse.py", ref="Article 4")
    assert not at.exception
    assert at.subheader[0].value == "Article 4"
    assert any(c.value.startswith("As amended by Regulation (EU) 2026/1744") for c in at.caption)
    assert at.tabs[0].label == "Versions (2)"
    assert "**Original text, until 2026-07-27**" in [m.value for m in at.markdown]
    # Before the amendment applied, the original wording is the law.
    at.date_input(key="as_of_date").set_value(date(2026, 1, 1))
    at.run(timeout=120)
    assert not at.exception
    assert any(m.value.startswith("Providers and deployers of AI systems shall take measures "
                                  "to ensure, to their best extent") for m in at.markdown)


@pytest.mark.corpus
def test_browse_amended_article_in_german_shows_english_with_the_note(full_kb, use_kb):
    use_kb(full_kb)
    at = open_app("ui/browse.py", ref="Article 4")
    at.sidebar.radio(key="language").set_value("de")
    at.run(timeout=120)
    assert not at.exception
    assert [i.value for i in at.info] == [
        "German wording of this amended provision not yet in the knowledge base; the English "
        "text is shown."]
    assert "/oj/deu" not in at.code[0].value
    # Before the amendment applied, the German 2024 wording is the law.
    at.date_input(key="as_of_date").set_value(date(2026, 1, 1))
    at.run(timeout=120)
    assert not at.exception and not at.info
    assert any(m.value.startswith("Die Anbieter und Betreiber von KI-Systemen ergreifen")
               for m in at.markdown)


@pytest.mark.corpus
def test_sources_shows_the_amendment_impact(full_kb, use_kb):
    use_kb(full_kb)
    at = open_app("ui/sources.py")
    assert not at.exception
    assert "Amendment impact" in [s.value for s in at.subheader]
    changed = next(e for e in at.expander if e.label.startswith("Provisions changed"))
    refs = list(changed.dataframe[0].value["Provision"])
    assert {"Article 4", "Article 4a", "Article 5(1)(ba)", "Article 113"} <= set(refs)
    dates = next(e for e in at.expander if e.label.startswith("Obligations whose dates"))
    table = dates.dataframe[0].value
    credit = table[table["Obligation"] == "Credit scoring of individuals is high-risk"]
    assert list(credit["Before"]) == ["2026-08-02"] and list(credit["After"]) == ["2027-12-02"]


def test_describe_your_system_shows_tier_reasons_and_updates_with_a_toggle(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/obligations.py")
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download Markdown", "Download CSV"]
    at.button(key="as-example-credit_scoring").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.text_area(key="as_text").value.startswith("Our bank uses a machine-learning model")
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert badges[0] == ":orange-badge[:material/gavel: High-risk]"
    assert any(m.value.startswith("**Annex III, point 5(b)**") for m in at.markdown)
    assert any("AI systems intended to be used to evaluate the creditworthiness" in m.value
               for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert labels[0] == "Download assessment (Markdown)"
    # Answering the fraud-only question takes the system out of Annex III, point 5(b).
    at.segmented_control(key="as-fact-fraud_detection_only").set_value("Yes")
    at.run(timeout=120)
    assert not at.exception
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert badges[0].startswith(":green-badge[:material/gavel: No specific duties")
    assert any("excludes AI systems used to detect financial fraud" in m.value
               for m in at.markdown)


def test_describe_your_system_with_a_control_character_shows_the_error(small_kb, use_kb):
    use_kb(small_kb)
    at = open_app("ui/obligations.py")
    at.text_area(key="as_text").set_value("chatbot\x07")
    at.run(timeout=120)
    assert not at.exception
    assert "control character" in at.error[0].value


def test_the_app_answer_is_the_answer_of_kb_ask(small_kb, use_kb):
    """Same question, same answer in the app and on the command line (timings aside)."""
    import json

    from click.testing import CliRunner

    from kb.cli import cli

    use_kb(small_kb)
    at = ask(open_app(), BOT_QUESTION)
    shown = at.session_state["answer"].to_dict()
    env = {"KB_CORPUS_DIR": str(small_kb.corpus_dir), "KB_DATA_DIR": str(small_kb.data_dir),
           "CHROMA_HOST": "", "KB_COLLECTION": "kb", "KB_AS_OF": ""}
    top_k = at.slider(key="top_k").value
    result = CliRunner().invoke(cli, ["ask", BOT_QUESTION, "--json", "--top-k", str(top_k)],
                                env=env, catch_exceptions=False)
    printed = json.loads(result.output)
    shown.pop("timing_ms"), printed.pop("timing_ms")
    assert shown == printed
    assert printed["citations"][0]["ref"] == "Article 50(1)"
