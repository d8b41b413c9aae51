"""Guideline parsers: numbered paragraphs from the official PDFs and the Markdown text extracts."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest

from ingest.guidelines import parse_guideline_markdown, parse_guideline_pdf
from kb.errors import BadDocument
from kb.records import Document, Kind, Unit

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "corpus"
CORPUS = ROOT / "corpus"


def _doc(doc_id: str, cite_as: str, file: str, parser: str, url: str) -> Document:
    return Document(
        id=doc_id,
        title=f"Commission Guidelines {cite_as}",
        kind=Kind.GUIDELINE,
        file=file,
        parser=parser,
        url=url,
        cite_as=cite_as,
    )


PDF_EXCERPT = _doc(
    "guideline-excerpt-pdf",
    "Guidelines C(2025) 5053",
    "guideline-excerpt.pdf",
    "guideline_pdf",
    "https://ec.europa.eu/newsroom/dae/redirection/document/112455",
)
MD_EXCERPT = _doc(
    "guideline-excerpt-md",
    "Guidelines C(2026) 5054",
    "guideline-excerpt.md",
    "guideline_md",
    "https://digital-strategy.ec.europa.eu/en/policies/regulatory-framework-ai",
)
SMALL_MD = _doc("small", "Guidelines X", "small.md", "guideline_md", "https://example.eu/g")


def _by_number(provisions) -> dict[int, object]:
    return {int(p.paragraph): p for p in provisions if p.paragraph}


def _md(text: str):
    return _by_number(parse_guideline_markdown(text, SMALL_MD))


# --------------------------------------------------------------------------- PDF excerpt


@pytest.fixture(scope="module")
def pdf_excerpt():
    return parse_guideline_pdf((FIXTURES / "guideline-excerpt.pdf").read_bytes(), PDF_EXCERPT)


def test_pdf_excerpt_has_paragraphs_1_to_20_in_order_with_refs(pdf_excerpt):
    assert [p.ref for p in pdf_excerpt] == [
        f"Guidelines C(2025) 5053, para. {n}" for n in range(1, 21)
    ]
    assert [p.order for p in pdf_excerpt] == list(range(20))
    assert {p.unit for p in pdf_excerpt} == {Unit.SECTION}
    assert {p.doc_id for p in pdf_excerpt} == {"guideline-excerpt-pdf"}


def test_pdf_excerpt_page_is_where_the_paragraph_starts(pdf_excerpt):
    pages = {int(p.paragraph): p.page for p in pdf_excerpt}
    assert [pages[n] for n in (1, 8, 9, 13, 14, 20)] == [2, 2, 3, 3, 4, 4]
    assert pdf_excerpt[8].url == PDF_EXCERPT.url + "#page=3"


def test_pdf_paragraph_text_starts_after_its_label_and_drops_footnote_markers(pdf_excerpt):
    assert pdf_excerpt[0].text == (
        "Regulation (EU) 2024/1689 of the European Parliament and of the Council (‘the AI Act’) "
        "entered into force on 1 August 2024. The AI Act lays down harmonised rules for the "
        "development, placing on the market, putting into service, and use of artificial "
        "intelligence (‘AI’) in the Union. Its aim is to promote innovation in and the uptake "
        "of AI, while ensuring a high level of protection of health, safety, and fundamental "
        "rights in the Union, including democracy and the rule of law."
    )
    # "2 February 2025³, together": the marker goes, the year's digits stay.
    assert "entered into application on 2 February 2025, together with" in pdf_excerpt[3].text


def test_pdf_footnote_text_and_page_furniture_are_not_content(pdf_excerpt):
    everything = "\n".join(p.text for p in pdf_excerpt)
    assert "Article 113, third paragraph, point (a)" not in everything  # footnote 3
    assert "OECD Artificial Intelligence Papers" not in everything  # footnote 4
    assert "C(2025) 5053 final" not in everything  # cover page
    assert not re.search(r"(?m)^(\d+|EN)$", everything)  # page numbers, "EN" banner


def test_pdf_paragraph_continues_across_a_page_break_and_its_footnotes(pdf_excerpt):
    assert pdf_excerpt[12].text.endswith(
        "despite their unique operational principes and use of quantum-mechanical phenomena, "
        "as do biological or organic systems so long as they provide computational capacity."
    )


def test_pdf_keeps_compound_hyphens_at_line_ends(pdf_excerpt):
    assert "the post-deployment or ‘use’ phase of the system." in pdf_excerpt[9].text
    assert "predictive modelling and large-scale automated decision making" in pdf_excerpt[11].text


def test_pdf_quotation_after_a_colon_starts_a_new_line(pdf_excerpt):
    first, quote = pdf_excerpt[7].text.split("\n")
    assert first == "Article 3 (1) of the AI Act defines an AI system as follows:"
    assert quote.startswith("“‘AI system’ means a machine-based system")


def test_pdf_section_is_the_numbered_heading_above_the_paragraph(pdf_excerpt):
    sections = {int(p.paragraph): (p.section, p.title) for p in pdf_excerpt}
    assert sections[1] == ("I. Purpose of the Guidelines", "I. Purpose of the Guidelines")
    assert sections[8][0] == "II. Objective and main elements of the AI system definition"
    assert sections[11][0] == "1. Machine-based system"
    assert sections[20][0] == "2. Autonomy"


def test_pdf_without_numbered_paragraphs_is_a_bad_document():
    reader = pypdf.PdfReader(FIXTURES / "guideline-excerpt.pdf")
    writer = pypdf.PdfWriter()
    writer.add_page(reader.pages[0])  # the cover page only
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(BadDocument, match="no numbered paragraphs"):
        parse_guideline_pdf(buffer.getvalue(), PDF_EXCERPT)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 8, "not a PDF"),
        (b"(1) A text file renamed to .pdf.\n", "not a PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "unreadable PDF|no pages"),
    ],
    ids=["empty", "random-bytes", "text-file", "broken-structure"],
)
def test_unreadable_pdf_is_a_bad_document_with_a_clear_message(data, message):
    with pytest.raises(BadDocument, match=message) as caught:
        parse_guideline_pdf(data, PDF_EXCERPT)
    assert "guideline-excerpt.pdf" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_truncated_pdf_is_a_bad_document():
    data = (FIXTURES / "guideline-excerpt.pdf").read_bytes()
    with pytest.raises(BadDocument, match="unreadable PDF"):
        parse_guideline_pdf(data[: len(data) // 2], PDF_EXCERPT)


def test_encrypted_pdf_is_a_bad_document():
    writer = pypdf.PdfWriter()
    writer.add_page(pypdf.PdfReader(FIXTURES / "guideline-excerpt.pdf").pages[1])
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(BadDocument, match="encrypted"):
        parse_guideline_pdf(buffer.getvalue(), PDF_EXCERPT)


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
    assert _by_number(provisions)[3].text == "Three.\n(2) Again two."


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

GUIDELINES = CORPUS / "guidelines"
PROHIBITED = _doc(
    "guidelines-prohibited-practices",
    "Guidelines C(2025) 5052",
    "guidelines/C_2025_5052_guidelines_prohibited_AI_practices_EN.pdf",
    "guideline_pdf",
    "https://ec.europa.eu/newsroom/dae/redirection/document/112367",
)
DEFINITION = _doc(
    "guidelines-ai-system-definition",
    "Guidelines C(2025) 5053",
    "guidelines/C_2025_5053_guidelines_AI_system_definition_EN.pdf",
    "guideline_pdf",
    "https://ec.europa.eu/newsroom/dae/redirection/document/112455",
)
TRANSPARENCY = _doc(
    "guidelines-transparency-art50",
    "Guidelines C(2026) 5054",
    "guidelines/C_2026_5054_guidelines_Art50_transparency_EN.text-extract.md",
    "guideline_md",
    "https://digital-strategy.ec.europa.eu/en/policies/regulatory-framework-ai",
)
GPAI = _doc(
    "guidelines-gpai",
    "Guidelines C(2025) 5045",
    "guidelines/C_2025_5045_guidelines_GPAI_model_obligations_EN.text-extract.md",
    "guideline_md",
    "https://digital-strategy.ec.europa.eu/en/policies/guidelines-gpai-providers",
)


@pytest.fixture(scope="module")
def prohibited():
    return parse_guideline_pdf((CORPUS / PROHIBITED.file).read_bytes(), PROHIBITED)


@pytest.mark.corpus
def test_prohibited_practices_has_exactly_paragraphs_1_to_433_with_pages(prohibited):
    paras = [p for p in prohibited if p.paragraph]
    assert [int(p.paragraph) for p in paras] == list(range(1, 434))
    pages = [p.page for p in paras]
    assert pages == sorted(pages)
    assert all(1 <= page <= 134 for page in pages)
    assert (pages[0], pages[-1]) == (6, 134)
    assert all(p.url.endswith(f"#page={p.page}") for p in paras)
    refs = [p.ref for p in prohibited]
    assert len(refs) == len(set(refs))


@pytest.mark.corpus
def test_prohibited_practices_spot_checked_paragraphs_are_verbatim(prohibited):
    paras = _by_number(prohibited)
    assert paras[1].text.startswith(
        "Regulation (EU) 2024/1689 of the European Parliament and the Council of 13 June 2024 "
        "laying down harmonised rules on artificial intelligence and amending certain "
        "regulations (‘the AI Act’) entered into force on 1 August 2024."
    )
    assert paras[5].text == (
        "These Guidelines are non-binding. Any authoritative interpretation of the AI Act may "
        "ultimately only be given by the Court of Justice of the European Union (‘CJEU’)."
    )
    assert paras[2].text.split("\n") == [
        "The AI Act follows a risk-based approach, classifying AI systems into four different "
        "risk categories:",
        "(i) Unacceptable risk: AI systems posing unacceptable risks to fundamental rights and "
        "Union values are prohibited under Article 5 AI Act.",
        "(ii) High risk: AI systems posing high risks to health, safety and fundamental rights "
        "are subject to a set of requirements and obligations. These systems are classified as "
        "‘high-risk’ in accordance with Article 6 AI Act in conjunction with Annexes I and III "
        "AI Act.",
        "(iii) Transparency risk: AI systems posing limited transparency risk are subject to "
        "transparency obligations under Article 50 AI Act.",
        "(iv) Minimal to no risk: AI systems posing minimal to no risk are not regulated, but "
        "providers and deployers may voluntarily adhere to voluntary codes of conduct.",
    ]
    assert paras[433].page == 134
    assert paras[433].text.startswith(
        "The Commission will review these Guidelines as soon as this is necessary in view of "
        "practical experience gained in the implementation of the prohibitions"
    )
    assert paras[433].text.endswith("by responding to future calls for public consultation.")


@pytest.mark.corpus
def test_prohibited_practices_has_no_header_footer_or_footnote_residue(prohibited):
    everything = "\n".join(p.text for p in prohibited)
    assert not re.search(r"(?m)^(\d{1,3}|[IVX]{1,4}|EN)$", everything)  # page numbers, banner
    # footnote 1, and the last footnote (244), are small print at the page bottom
    assert "(Artificial Intelligence Act) (OJ L, 2024/1689, 12.7.2024)" not in everything
    assert "grandfathering clause is without prejudice" not in everything
    assert "‘the AI Act’)1" not in everything and "(‘the AI Act’) entered" in everything
    assert "CONTENTS" not in everything and "........" not in everything


@pytest.mark.corpus
def test_prohibited_practices_sections_and_sub_headings_are_set(prohibited):
    assert all(p.section and p.title for p in prohibited)
    paras = _by_number(prohibited)
    assert paras[8].section == "2. OVERVIEW OF PROHIBITED AI PRACTICES"
    assert paras[60].section == (
        "3.2. Main components of the prohibition in Article 5(1)(a) AI Act – harmful manipulation"
    )
    assert (
        paras[66].section == "3.2.1. Subliminal, purposefully manipulative or deceptive techniques"
    )
    assert paras[66].title == "a) Subliminal techniques"
    assert paras[433].section == "12. REVIEW AND UPDATE OF THE COMMISSION GUIDELINES"


@pytest.mark.corpus
def test_prohibited_practices_text_outside_paragraphs_is_one_provision_per_section(prohibited):
    blocks = {p.ref: p for p in prohibited if p.paragraph is None}
    examples = blocks["Guidelines C(2025) 5052, section 10.8"]
    assert examples.section == "10.8. Examples of uses"
    assert examples.page == 131
    assert "a shopping mall is using real-time RBI to find shoplifters" in examples.text
    assert blocks["Guidelines C(2025) 5052, section 3.2"].text.startswith(
        "Article 5(1)(a) AI Act provides:"
    )


@pytest.mark.corpus
def test_ai_system_definition_has_paragraphs_1_to_64_with_pages():
    provisions = parse_guideline_pdf((CORPUS / DEFINITION.file).read_bytes(), DEFINITION)
    assert [p.ref for p in provisions] == [
        f"Guidelines C(2025) 5053, para. {n}" for n in range(1, 65)
    ]
    pages = [p.page for p in provisions]
    assert pages == sorted(pages) and (pages[0], pages[-1]) == (2, 13)
    paras = _by_number(provisions)
    assert paras[44].section == "5.2. Systems outside the scope of the AI system definition"
    assert paras[44].title in {
        "Systems for improving mathematical optimization",
        "Basic data processing",
        "Systems based on classical heuristics",
        "Simple prediction systems",
    }
    assert paras[64].text == (
        "The AI Act also applies to general-purpose AI models, which are regulated in Chapter V "
        "of the AI Act. The analysis on the differences between AI systems and general-purpose "
        "AI models is outside the scope of these Guidelines."
    )


@pytest.mark.corpus
def test_transparency_extract_has_paragraphs_1_to_155_with_sections():
    text = (CORPUS / TRANSPARENCY.file).read_text(encoding="utf-8")
    provisions = parse_guideline_markdown(text, TRANSPARENCY)
    assert [p.ref for p in provisions] == [
        f"Guidelines C(2026) 5054, para. {n}" for n in range(1, 156)
    ]
    assert all(p.section for p in provisions)
    paras = _by_number(provisions)
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
    paras = _by_number(provisions)
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
