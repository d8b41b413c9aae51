"""Guideline PDF reader: numbered paragraphs from the official PDFs."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from guideline_docs import CORPUS, FIXTURES, by_number, guideline_doc

from ingest.guideline_pdf import parse_guideline_pdf
from kb.errors import BadDocument
from kb.records import Unit

PDF_EXCERPT = guideline_doc(
    "guideline-excerpt-pdf",
    "Guidelines C(2025) 5053",
    "guideline-excerpt.pdf",
    "guideline_pdf",
    "https://ec.europa.eu/newsroom/dae/redirection/document/112455",
)


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


# --------------------------------------------------------------------------- full corpus

PROHIBITED = guideline_doc(
    "guidelines-prohibited-practices",
    "Guidelines C(2025) 5052",
    "guidelines/C_2025_5052_guidelines_prohibited_AI_practices_EN.pdf",
    "guideline_pdf",
    "https://ec.europa.eu/newsroom/dae/redirection/document/112367",
)
DEFINITION = guideline_doc(
    "guidelines-ai-system-definition",
    "Guidelines C(2025) 5053",
    "guidelines/C_2025_5053_guidelines_AI_system_definition_EN.pdf",
    "guideline_pdf",
    "https://ec.europa.eu/newsroom/dae/redirection/document/112455",
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
    paras = by_number(prohibited)
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
    paras = by_number(prohibited)
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
    paras = by_number(provisions)
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


