"""Guideline Markdown reader: numbered paragraphs from the text extracts."""

from __future__ import annotations

import pytest
from guideline_docs import CORPUS, FIXTURES, by_number, guideline_doc

from ingest.guideline_md import parse_guideline_markdown
from kb.errors import BadDocument

MD_EXCERPT = guideline_doc(
    "guideline-excerpt-md",
    "Guidelines C(2026) 5054",
    "guideline-excerpt.md",
    "guideline_md",
    "https://digital-strategy.ec.europa.eu/en/policies/regulatory-framework-ai",
)
SMALL_MD = guideline_doc("small", "Guidelines X", "small.md", "guideline_md", "https://example.eu/g")


def _md(text: str):
    return by_number(parse_guideline_markdown(text, SMALL_MD))


# --------------------------------------------------------------------------- Markdown excerpt


@pytest.fixture(scope="module")
def md_excerpt():
    text = (FIXTURES / "guideline-excerpt.md").read_text(encoding="utf-8")
    return parse_guideline_markdown(text, MD_EXCERPT)


def test_markdown_excerpt_has_paragraphs_1_to_15_with_sections(md_excerpt):
    assert [p.ref for p in md_excerpt] == [
        f"Guidelines C(2026) 5054, para. {n}" for n in range(1, 16)
    ]
    sections = {int(p.paragraph): p.section for p in md_excerpt}
    assert sections[1] == "1 BACKGROUND AND OBJECTIVES"
    assert sections[6] == "2.1 Overview of the transparency obligations in Article 50 AI Act"
    assert sections[14] == "2.3 Responsible actors under Article 50 AI Act"
    assert {p.page for p in md_excerpt} == {None}
    assert {p.url for p in md_excerpt} == {MD_EXCERPT.url}


def test_markdown_footnote_markers_and_footnote_lines_are_removed(md_excerpt):
    first = md_excerpt[0].text
    assert "entered into force on 1 August 2024. The AI Act lays down" in first
    assert "in the Union. Its aim is to promote innovation" in first
    everything = "\n".join(p.text for p in md_excerpt)
    assert "(Artificial Intelligence Act) (OJ L, 2024/1689" not in everything  # footnote (1)
    assert "Article 2(1)(c) and recital 22 AI Act." not in everything  # footnote (4)


def test_markdown_keeps_parenthesised_numbers_that_are_not_markers(md_excerpt):
    assert "comply with both Article 50(1) and (2) AI Act" in md_excerpt[7].text
    assert (
        "Exceptions 1) if the artificial origin of the interaction is obvious" in md_excerpt[5].text
    )


def test_markdown_paragraph_resumes_after_interleaved_footnotes(md_excerpt):
    eleventh = md_excerpt[10].text
    assert eleventh.startswith("Providers must ensure their interactive or generative AI systems")
    assert "\nIf a company takes an already existing generative AI system" in eleventh


def test_markdown_rejoins_the_extracts_line_end_hyphens(md_excerpt):
    assert "marked in a machine-readable format" in md_excerpt[5].text


def test_markdown_hostile_markup_is_kept_verbatim_as_text(md_excerpt):
    assert md_excerpt[14].text == (
        "Test paragraph, not official text: <script>alert(1)</script> and "
        "**[click](javascript:alert(1))** must be displayed as text, never rendered."
    )


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n", "# Title\n\nNo numbered paragraphs here.\n\n## 1 Heading\n\nJust prose.\n"],
    ids=["empty", "blank", "no-paragraphs"],
)
def test_markdown_without_paragraphs_is_a_bad_document(text):
    with pytest.raises(BadDocument, match="empty|no numbered paragraphs") as caught:
        parse_guideline_markdown(text, SMALL_MD)
    assert "small.md" in str(caught.value)


# --------------------------------------------------------------------------- defective extracts


def test_markdown_heading_wrapped_onto_the_next_line_is_joined():
    paras = _md(
        "## 4 ARTICLE 50(2) AI ACT: MARKING AND DETECTION OF AI-GENERATED OR\n\n"
        "MANIPULATED CONTENT\n\n(1) Text.\n\n## 6.2 Text for AI-\n\ngenerated text\n\n(2) More.\n"
    )
    assert paras[1].section == (
        "4 ARTICLE 50(2) AI ACT: MARKING AND DETECTION OF AI-GENERATED OR MANIPULATED CONTENT"
    )
    assert paras[2].section == "6.2 Text for AI-generated text"


def test_stacked_labels_each_get_a_provision_with_the_shared_text():
    paras = _md("## 1 A\n\n(1) One.\n\n(3) (2) Two and three.\n\n(4) Four.\n")
    assert sorted(paras) == [1, 2, 3, 4]
    assert paras[2].text == paras[3].text == "Two and three."
    assert paras[2].order < paras[3].order < paras[4].order


def test_label_without_text_shares_the_text_before_it():
    paras = _md("## 1 A\n\n(1) One.\n\n(2) Two, continued on the next page.\n\n(3)\n\n## 2 B\n")
    assert paras[3].text == paras[2].text == "Two, continued on the next page."


def test_repeated_paragraph_number_is_merged_into_the_running_paragraph():
    provisions = parse_guideline_markdown(
        "## 1 A\n\n(1) One.\n\n(2) Two.\n\n(3) Three.\n\n(2) Again two.\n\n(4) Four.\n",
        SMALL_MD,
    )
    refs = [p.ref for p in provisions]
    assert len(refs) == len(set(refs)) == 4
    assert by_number(provisions)[3].text == "Three.\n(2) Again two."


def test_label_inside_a_line_after_a_sentence_starts_the_next_paragraph():
    paras = _md("## 1 A\n\n(1) One. (2) More precisely, two.\n\n(3) Three.\n")
    assert paras[1].text == "One."
    assert paras[2].text == "More precisely, two."


def test_glued_footnote_markers_go_but_flattened_exponents_stay():
    paras = _md(
        "## 1 A\n\n(1) Regulation (‘AI Act’)1 entered into force. Models trained with more "
        "than 1025 floating-point operations, in the form of text2 or audio3).\n\n"
        "1 Regulation (EU) 2024/1689. 2 The text modality. 3 The audio modality.\n\n(2) Next.\n"
    )
    assert paras[1].text == (
        "Regulation (‘AI Act’) entered into force. Models trained with more than 1025 "
        "floating-point operations, in the form of text or audio)."
    )
    assert "modality" not in paras[2].text


def test_short_line_after_an_unfinished_footnote_continues_the_footnote():
    paras = _md(
        "## 1 A\n\n(1) Text about deep fakes (1). It goes on\n\n"
        "(1) See https://eur-lex.europa.eu/eli/dir/2005/29/oj/eng\n\n"
        "OJ L 149, 11.6.2005.\n\n(2) Next.\n"
    )
    assert paras[1].text == "Text about deep fakes. It goes on"


def test_long_line_after_an_unfinished_footnote_is_body_text():
    body = "content may not falsely appear to be authentic " + "and so on " * 20 + "end."
    paras = _md(
        "## 1 A\n\n(1) Such (1)\n\n(1) See https://eur-lex.europa.eu/eli/dir/2005/29/oj/eng\n\n"
        + body
        + "\n\n(2) Next.\n"
    )
    assert paras[1].text == "Such " + body


# --------------------------------------------------------------------------- full corpus

TRANSPARENCY = guideline_doc(
    "guidelines-transparency-art50",
    "Guidelines C(2026) 5054",
    "guidelines/C_2026_5054_guidelines_Art50_transparency_EN.text-extract.md",
    "guideline_md",
    "https://digital-strategy.ec.europa.eu/en/policies/regulatory-framework-ai",
)
GPAI = guideline_doc(
    "guidelines-gpai",
    "Guidelines C(2025) 5045",
    "guidelines/C_2025_5045_guidelines_GPAI_model_obligations_EN.text-extract.md",
    "guideline_md",
    "https://digital-strategy.ec.europa.eu/en/policies/guidelines-gpai-providers",
)


@pytest.mark.corpus
def test_transparency_extract_has_paragraphs_1_to_155_with_sections():
    text = (CORPUS / TRANSPARENCY.file).read_text(encoding="utf-8")
    provisions = parse_guideline_markdown(text, TRANSPARENCY)
    assert [p.ref for p in provisions] == [
        f"Guidelines C(2026) 5054, para. {n}" for n in range(1, 156)
    ]
    assert all(p.section for p in provisions)
    paras = by_number(provisions)
    assert paras[54].section == (
        "4 ARTICLE 50(2) AI ACT: MARKING AND DETECTION OF AI-GENERATED OR MANIPULATED CONTENT"
    )
    assert paras[155].section == "9 REVIEW AND UPDATE OF THE GUIDELINES"
    everything = "\n".join(p.text for p in provisions)
    assert "OJ L 304, 22.11.2011" not in everything  # continuation of footnote (24)
    assert "authentic or truthful even if it is, in fact" in everything  # body after footnote


@pytest.mark.corpus
def test_gpai_extract_has_all_paragraphs_1_to_144_with_unique_refs():
    text = (CORPUS / GPAI.file).read_text(encoding="utf-8")
    provisions = parse_guideline_markdown(text, GPAI)
    refs = [p.ref for p in provisions]
    assert len(refs) == len(set(refs))
    paras = by_number(provisions)
    assert sorted(paras) == list(range(1, 145))
    assert paras[3].text == paras[4].text  # "(3) (4) Given that ..." in the extract
    assert paras[3].text.startswith("Given that general-purpose AI models are often trained")
    assert "greater than 1025 floating-point operations" in paras[5].text  # 10^25, flattened
    assert "(‘AI Act’) entered into force on 1 August 2024" in paras[1].text
    assert paras[117].section == "Annex: Training compute of general-purpose AI models"
    assert paras[118].section == "A.1. What should be estimated?"
    assert paras[144].section == (
        "A.3. Training compute of models with approximately one billion parameters"
    )
