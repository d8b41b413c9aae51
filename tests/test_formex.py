"""Tests for ingest.formex: the text rules of Formex fragments and the amending act's units."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.formex import (
    formex_text,
    is_pi,
    parse_formex,
    parse_fragment,
    pi_attributes,
)
from kb.config import ROOT
from kb.errors import BadDocument
from kb.records import Document, Kind, Unit

CORPUS = ROOT / "corpus"
OMNIBUS = Document(
    "ai-omnibus-2026", "Regulation (EU) 2026/1744", Kind.AMENDING_REGULATION,
    "amendments/L_202601744EN.000101.fmx.xml", "formex",
    url="https://eur-lex.europa.eu/eli/reg/2026/1744/oj/eng", cite_as="Regulation (EU) 2026/1744",
)
SMALL = Document("small-act", "Regulation (EU) 2030/1", Kind.AMENDING_REGULATION, "act.xml",
                 "formex", url="https://example.eu/act", cite_as="Regulation (EU) 2030/1")


def one(xml: str):
    [element] = [node for node in parse_fragment(xml) if not is_pi(node)]
    return element


# --- formex_text: the same conventions as ingest.eurlex ---------------------------------

PARAG = (
    '<PARAG IDENTIFIER="005.001"><NO.PARAG>1.</NO.PARAG><ALINEA><P>The following AI practices'
    ' shall be prohibited:</P><LIST TYPE="alpha"><ITEM><NP><NO.P>(a)</NO.P><TXT>the use of '
    '<QUOT.START CODE="2018" ID="QS1" REF.END="QE1"/>real-time<QUOT.END CODE="2019" ID="QE1" '
    'REF.START="QS1"/> systems for:</TXT><P><LIST TYPE="roman"><ITEM><NP><NO.P>(i)</NO.P>'
    "<TXT>the search for victims;</TXT></NP></ITEM><?PAGE NO='14'?><ITEM><NP><NO.P>(ii)</NO.P>"
    "<TXT>the prevention of threats.</TXT></NP></ITEM></LIST></P></NP></ITEM></LIST></ALINEA>"
    "<ALINEA>Point (a) is without prejudice to Article 9.</ALINEA></PARAG>"
)


def test_paragraph_text_starts_with_its_number_and_lists_points_and_subpoints():
    assert formex_text(one(PARAG)) == (
        "1. The following AI practices shall be prohibited:\n"
        "(a) the use of ‘real-time’ systems for:\n"
        "(i) the search for victims;\n"
        "(ii) the prevention of threats.\n"
        "Point (a) is without prejudice to Article 9."
    )


def test_point_rendered_alone_has_no_label_but_keeps_its_subpoints():
    item = one(PARAG).find("ALINEA/LIST/ITEM")
    assert formex_text(item) == (
        "the use of ‘real-time’ systems for:\n(i) the search for victims;\n"
        "(ii) the prevention of threats."
    )


def test_article_text_is_its_numbered_paragraphs_without_number_and_title():
    article = one(
        '<ARTICLE IDENTIFIER="004"><TI.ART>Article 4</TI.ART><STI.ART>AI literacy</STI.ART>'
        '<PARAG IDENTIFIER="004.001"><NO.PARAG>1.</NO.PARAG><ALINEA>Providers shall act.'
        '</ALINEA></PARAG><?PAGE NO="12"?><PARAG IDENTIFIER="004.002"><NO.PARAG>2.</NO.PARAG>'
        "<ALINEA>The Board shall help.</ALINEA></PARAG></ARTICLE>"
    )
    assert formex_text(article) == "1. Providers shall act.\n2. The Board shall help."


def test_footnotes_are_dropped_and_no_break_spaces_become_spaces():
    alinea = one(
        "<ALINEA>In accordance with Regulation (EU) No\u00a01025/2012<NOTE NOTE.ID=\"E1\">"
        "<P>OJ L 316, 14.11.2012, p. 12.</P></NOTE> and by <DATE ISO=\"20270802\">"
        "2\u00a0August\u00a02027</DATE>, the   Commission shall act.</ALINEA>"
    )
    assert formex_text(alinea) == (
        "In accordance with Regulation (EU) No 1025/2012 and by 2 August 2027, "
        "the Commission shall act."
    )


def test_quotation_marks_follow_their_code():
    p = one('<P><QUOT.START CODE="201C" ID="QS1" REF.END="QE1"/>without right'
            '<QUOT.END CODE="201D" ID="QE1" REF.START="QS1"/> and <QUOT.START CODE="2018" '
            'ID="QS2" REF.END="QE2"/>SME<QUOT.END CODE="2019" ID="QE2" REF.START="QS2"/></P>')
    assert formex_text(p) == "“without right” and ‘SME’"


def test_quoted_new_wording_loses_the_amending_acts_quotes_and_gets_single_inner_ones():
    quoted = one(
        '<QUOT.S LEVEL="1"><LIST TYPE="ARAB"><ITEM><NP><NO.P><QUOT.START CODE="2018" ID="QS1" '
        'REF.END="QE1"/>(14a)</NO.P><TXT><QUOT.START CODE="201C" ID="QS2" REF.END="QE2"/>SME'
        '<QUOT.END CODE="201D" ID="QE2" REF.START="QS2"/> means an enterprise;<QUOT.END '
        'CODE="2019" ID="QE1" REF.START="QS1"/></TXT></NP></ITEM></LIST></QUOT.S>'
    )
    item = quoted.find("LIST/ITEM")
    assert formex_text(item, quoted_in=quoted) == "‘SME’ means an enterprise;"
    assert formex_text(item) == "“SME” means an enterprise;’"


def test_fragment_keeps_amendment_markers_as_processing_instructions():
    nodes = parse_fragment(
        '<?CLG.MDFO ID="O1" IDREF="C1" ACTION="DELETED" ACTIVE.LOC="AR:1;PT:9;PT:b"?>'
        '<PARAG IDENTIFIER="010.005"><NO.PARAG>5.</NO.PARAG><ALINEA>Old text.</ALINEA></PARAG>'
        '<?CLG.MDFC ID="C1" IDREF="O1"?>'
    )
    assert [is_pi(n) for n in nodes] == [True, False, True]
    assert pi_attributes(nodes[0]) == (
        "CLG.MDFO", {"ID": "O1", "IDREF": "C1", "ACTION": "DELETED",
                     "ACTIVE.LOC": "AR:1;PT:9;PT:b"})
    assert formex_text(nodes[1]) == "5. Old text."


# --- parse_formex on a small act ---------------------------------------------------------

SMALL_ACT = """<?xml version="1.0" encoding="UTF-8"?>
<ACT><PREAMBLE><GR.CONSID><CONSID><NP><NO.P>(1)</NO.P><TXT>First recital<NOTE NOTE.ID="E1">
<P>OJ L 1.</P></NOTE> text.</TXT></NP></CONSID><CONSID><NP><NO.P>(2)</NO.P><TXT>Second.</TXT>
</NP></CONSID></GR.CONSID></PREAMBLE><ENACTING.TERMS>
<ARTICLE IDENTIFIER="001"><TI.ART>Article 1</TI.ART><STI.ART><P>Amendments</P></STI.ART>
<ALINEA><P>Regulation (EU) 2024/1689 is amended as follows:</P><LIST TYPE="ARAB">
<ITEM><NP><NO.P>(1)</NO.P><TXT>Article 5 is amended as follows:</TXT><P><LIST TYPE="alpha">
<ITEM><NP><NO.P>(a)</NO.P><TXT>paragraph 2 is deleted;</TXT></NP></ITEM>
<ITEM><NP><NO.P>(b)</NO.P><TXT>paragraph 3 is replaced by the following:</TXT><P>
<QUOT.S LEVEL="1"><PARAG IDENTIFIER="005.003"><NO.PARAG><QUOT.START CODE="2018" ID="QS1"
REF.END="QE1"/>3.</NO.PARAG><ALINEA>New text.<QUOT.END CODE="2019" ID="QE1" REF.START="QS1"/>
</ALINEA></PARAG></QUOT.S>;</P></NP></ITEM></LIST></P></NP></ITEM>
</LIST></ALINEA></ARTICLE>
<ARTICLE IDENTIFIER="002"><TI.ART>Article 2</TI.ART><STI.ART><P>Entry into force</P></STI.ART>
<ALINEA>This Regulation shall enter into force on the third day following that of its
publication.</ALINEA></ARTICLE></ENACTING.TERMS></ACT>"""


def write(tmp_path: Path, text: str, name: str = "act.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_small_act_has_recitals_articles_and_citable_points(tmp_path):
    provisions = parse_formex(write(tmp_path, SMALL_ACT), SMALL)
    by_ref = {p.ref: p for p in provisions}
    assert list(by_ref) == [
        "Regulation (EU) 2030/1, Recital 1", "Regulation (EU) 2030/1, Recital 2",
        "Regulation (EU) 2030/1, Article 1", "Regulation (EU) 2030/1, Article 1, point (1)",
        "Regulation (EU) 2030/1, Article 1, point (1)(a)",
        "Regulation (EU) 2030/1, Article 1, point (1)(b)", "Regulation (EU) 2030/1, Article 2",
    ]
    assert by_ref["Regulation (EU) 2030/1, Recital 1"].text == "First recital text."
    point = by_ref["Regulation (EU) 2030/1, Article 1, point (1)(b)"]
    assert point.text == "paragraph 3 is replaced by the following:\n‘3. New text.’;"
    assert (point.point, point.subpoint, point.parent) == (
        "1", "b", "Regulation (EU) 2030/1, Article 1, point (1)")
    assert point.intro == "Article 5 is amended as follows:"
    assert point.url == "https://example.eu/act#art_1"
    assert by_ref["Regulation (EU) 2030/1, Article 2"].title == "Entry into force"
    assert [p.order for p in provisions] == list(range(len(provisions)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("<html><body>not formex", "not well-formed XML"),
        ("<ACT><PREAMBLE/></ACT>", "no ENACTING.TERMS/ARTICLE"),
    ],
)
def test_unreadable_act_raises_bad_document(tmp_path, content, message):
    with pytest.raises(BadDocument, match=message):
        parse_formex(write(tmp_path, content), SMALL)


def test_missing_act_file_raises_bad_document(tmp_path):
    with pytest.raises(BadDocument, match="cannot read"):
        parse_formex(tmp_path / "missing.xml", SMALL)


# --- the real Regulation (EU) 2026/1744 --------------------------------------------------


@pytest.fixture(scope="module")
def omnibus():
    return parse_formex(CORPUS / OMNIBUS.file, OMNIBUS)


@pytest.mark.corpus
def test_omnibus_has_47_recitals_in_order(omnibus):
    recitals = [p for p in omnibus if p.unit is Unit.RECITAL]
    assert [p.recital for p in recitals] == [str(n) for n in range(1, 48)]
    assert recitals[11].ref == "Regulation (EU) 2026/1744, Recital 12"
    assert recitals[0].text.endswith("with all rules entering into application by 2 August 2027.")


@pytest.mark.corpus
def test_omnibus_article_1_has_points_1_to_43(omnibus):
    points = [p for p in omnibus if p.parent == "Regulation (EU) 2026/1744, Article 1"]
    assert [p.point for p in points] == [str(n) for n in range(1, 44)]
    assert points[4].ref == "Regulation (EU) 2026/1744, Article 1, point (5)"
    assert points[4].text.startswith("Article 4 is replaced by the following:\n‘Article 4\n"
                                     "AI literacy\n1. Providers and deployers of AI systems")


@pytest.mark.corpus
def test_omnibus_sub_points_carry_their_own_instruction(omnibus):
    by_ref = {p.ref: p for p in omnibus}
    point = by_ref["Regulation (EU) 2026/1744, Article 1, point (7)(a)"]
    assert point.text.startswith(
        "in paragraph 1, the first subparagraph, the following points are inserted:\n"
        "‘(ba) the placing on the market, the putting into service or the use of an AI system "
        "that generates or manipulates realistic images")
    assert point.text.endswith("except where a “without right” defence applies under "
                               "national law;’;")
    assert by_ref["Regulation (EU) 2026/1744, Article 1, point (9)(b)"].text == (
        "paragraph 5 is deleted;")
    assert by_ref["Regulation (EU) 2026/1744, Article 3, point (3)(a)"].text.startswith(
        "paragraphs 2 and 3 are replaced by the following:\n‘2. The power to adopt")


@pytest.mark.corpus
def test_omnibus_articles_2_to_4_and_annex_xiv(omnibus):
    by_ref = {p.ref: p for p in omnibus}
    assert by_ref["Regulation (EU) 2026/1744, Article 2"].title == (
        "Amendments to Regulation (EU) 2018/1139")
    assert by_ref["Regulation (EU) 2026/1744, Article 2, point (7)"].text.startswith(
        "in Article 53, the following paragraph is added:")
    assert by_ref["Regulation (EU) 2026/1744, Article 4"].text == (
        "This Regulation shall enter into force on the third day following that of its "
        "publication in the Official Journal of the European Union.")
    annex = by_ref["Regulation (EU) 2026/1744, Annex XIV"]
    assert annex.unit is Unit.ANNEX and annex.annex == "XIV"
    assert "AIH 0401 | AI systems based on other emerging AI technologies" in annex.text
    assert by_ref["Regulation (EU) 2026/1744, Annex XIV, point 4"].text.startswith(
        "Application for designation\nConformity assessment bodies shall use the lists")
