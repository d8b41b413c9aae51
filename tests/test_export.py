"""An answer as Markdown for a governance ticket."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from kb.answers.export import answer_markdown, citation_line, escape_markdown, used_refs
from kb.records import Answer, Citation, Unit

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
QUESTION = "Do I have to tell customers they're talking to a bot?"


def test_markdown_has_question_refs_verbatim_text_and_corpus_version(assistant):
    answer = assistant.ask(QUESTION, as_of="2026-11-27")
    text = answer_markdown(answer, corpus_version=assistant.corpus_version, generated_at=NOW)
    assert text.startswith("# EU AI Act knowledge base: answer\n")
    assert f"**Question:** {escape_markdown(QUESTION)}" in text
    assert "**Law as of:** 2026-11-27" in text
    assert "### \\[1\\] Article 50(1)\n" in text
    for c in answer.citations[1:]:  # every citation gets its numbered heading
        assert f"### \\[{c.n}\\] {c.ref}\n" in text
    # Each citation's verbatim text, as a blockquote.
    assert ("> 1\\. Providers shall ensure that AI systems intended to interact directly with "
            "natural persons are designed and developed") in text
    assert "- Link: <https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001>" in text
    assert "- Version: original text" in text
    assert f"Corpus version `{assistant.corpus_version}`, generated 2026-11-27 09:30 UTC." in text
    # The answer's sentences keep their markers.
    first = answer.sentences[0]
    assert f"- {escape_markdown(first.text)} \\[{first.n}\\]" in text


def test_abstention_lists_passages_to_read(assistant):
    answer = assistant.ask("What is the capital of Australia?")
    text = answer_markdown(answer, corpus_version="abc", generated_at=NOW)
    assert "*The indexed texts do not cover this question." in text
    assert "## Passages you may want to read" in text
    assert "## Sources" not in text


def test_amended_wording_names_its_source():
    citation = Citation(1, "Article 4", "eu-ai-act", Unit.ARTICLE, "Providers and deployers ...",
                        valid_from="2026-07-27",
                        version_source="Regulation (EU) 2026/1744, Article 1, point (3)")
    answer = Answer(question="AI literacy?", text="Providers and deployers ... [1]",
                    abstained=False, citations=[citation])
    text = answer_markdown(answer, corpus_version="abc", generated_at=NOW)
    assert ("- Version: As amended by Regulation (EU) 2026/1744, Article 1, point (3), "
            "in force from 2026-07-27") in text
    assert used_refs(answer) == ["Article 4"]


def test_hostile_text_is_escaped():
    hostile = "Test: <script>alert(1)</script> and **[click](javascript:alert(1))**"
    citation = Citation(1, "Guidelines C(2026) 5054, para. 15", "g", Unit.SECTION, hostile,
                        url="https://example.org/guidelines")
    answer = Answer(question="<b>bold</b> question", text=f"{hostile} [1]", abstained=False,
                    citations=[citation])
    text = answer_markdown(answer, corpus_version="abc", generated_at=NOW)
    assert not re.search(r"(?<!\\)<(script|b>)", text)
    assert not re.search(r"(?<!\\)\[click\]", text)
    assert "> Test: \\<script\\>alert(1)\\</script\\> and \\*\\*\\[click\\]" in text


def test_citation_line_names_the_document_once():
    act = Citation(1, "Article 50(1)", "eu-ai-act", Unit.ARTICLE, "...",
                   url="https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001",
                   doc_title="Regulation (EU) 2024/1689 (Artificial Intelligence Act)")
    assert citation_line(act) == (
        "Article 50(1), Regulation (EU) 2024/1689 (Artificial Intelligence Act) — "
        "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001")
    guideline = Citation(2, "Guidelines C(2026) 5054, para. 11", "g", Unit.SECTION, "...",
                         url="https://example.org/g", doc_title="Commission Guidelines ...")
    assert citation_line(guideline) == "Guidelines C(2026) 5054, para. 11 — https://example.org/g"
    gdpr = Citation(3, "Article 22(1) GDPR", "gdpr", Unit.ARTICLE, "...", doc_title="GDPR")
    assert citation_line(gdpr) == "Article 22(1) GDPR"
