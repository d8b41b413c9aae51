"""A small amending act in Formex, read by tests/test_instructions.py and applied by
tests/test_consolidate.py: its points, the XML builders that write them, and the file on disk.
"""

from __future__ import annotations

from pathlib import Path

from kb.records import Document, Kind

AMENDING = Document(
    "amending", "Regulation (EU) 2030/1 amending Regulation (EU) 2024/1689",
    Kind.AMENDING_REGULATION, "act.xml", "formex", url="https://example.eu/act",
    cite_as="Regulation (EU) 2030/1", amends="act",
)


def quoted(inner: str) -> str:
    return f'<P><QUOT.S LEVEL="1">{inner}</QUOT.S>;</P>'


def qs(n: int) -> str:
    return f'<QUOT.START CODE="2018" ID="QS{n}" REF.END="QE{n}"/>'


def qe(n: int) -> str:
    return f'<QUOT.END CODE="2019" ID="QE{n}" REF.START="QS{n}"/>'


def item(label: str, words: str, body: str = "") -> str:
    return f"<ITEM><NP><NO.P>({label})</NO.P><TXT>{words}</TXT>{body}</NP></ITEM>"


def sublist(*items: str) -> str:
    return f'<P><LIST TYPE="alpha">{"".join(items)}</LIST></P>'


ITEMS = [
    item("1", "Article 5 is amended as follows:", sublist(
        item("a", "in paragraph 1, the first subparagraph, the following point is inserted:",
             quoted(f'<LIST TYPE="alpha"><ITEM><NP><NO.P>{qs(1)}(ba)</NO.P><TXT>new practice '
                    '<QUOT.START CODE="201C" ID="QS11" REF.END="QE11"/>deep fakes<QUOT.END '
                    f'CODE="201D" ID="QE11" REF.START="QS11"/>;{qe(1)}</TXT></NP></ITEM></LIST>')),
        item("b", "the following paragraph is inserted:",
             quoted(f'<PARAG IDENTIFIER="005.001A"><NO.PARAG>{qs(2)}1a.</NO.PARAG><ALINEA>For '
                    f"the purposes of paragraph 1, point (ba), consent matters.{qe(2)}</ALINEA>"
                    "</PARAG>")),
        item("c", "the heading is replaced by the following:",
             quoted(f"<STI.ART><P>{qs(3)}Prohibited practices{qe(3)}</P></STI.ART>")),
    )),
    item("2", "Article 10 is amended as follows:", sublist(
        item("a", "paragraph 1 is replaced by the following:",
             quoted(f'<PARAG IDENTIFIER="010.001"><NO.PARAG>{qs(4)}1.</NO.PARAG><ALINEA>Data '
                    f"sets shall meet paragraphs 2 to 4 and Article 4a.{qe(4)}</ALINEA></PARAG>")),
        item("b", "paragraph 5 is deleted;"),
    )),
    item("3", "in Article 11(1), the second subparagraph is replaced by the following:",
         quoted(f"<ALINEA>{qs(5)}It shall contain the elements of Annex IV, simplified for "
                f"SMEs.{qe(5)}</ALINEA>")),
    item("4", "the following Article is inserted:",
         quoted(f'<ARTICLE IDENTIFIER="004A"><TI.ART>{qs(6)}Article 4a</TI.ART><STI.ART><P>Bias '
                'detection</P></STI.ART><PARAG IDENTIFIER="004A.001"><NO.PARAG>1.</NO.PARAG>'
                '<ALINEA><P>Providers may process data where:</P><LIST TYPE="alpha">'
                '<ITEM><NP><NO.P>(a)</NO.P><TXT>it is necessary;</TXT></NP></ITEM>'
                '<ITEM><NP><NO.P>(b)</NO.P><TXT>it is safe.</TXT></NP></ITEM></LIST></ALINEA>'
                '</PARAG><PARAG IDENTIFIER="004A.002"><NO.PARAG>2.</NO.PARAG><ALINEA>No '
                f"obligation arises.{qe(6)}</ALINEA></PARAG></ARTICLE>")),
    item("5", "in Article 113, the third paragraph is amended as follows:", sublist(
        item("a", "point (b) is replaced by the following:",
             quoted(f'<LIST TYPE="alpha"><ITEM><NP><NO.P>{qs(7)}(b)</NO.P><TXT>Chapter III '
                    'shall apply from:</TXT><P><LIST TYPE="roman"><ITEM><NP><NO.P>(i)</NO.P>'
                    "<TXT>2 December 2027 as regards Annex III; and</TXT></NP></ITEM><ITEM><NP>"
                    "<NO.P>(ii)</NO.P><TXT>2 August 2028 as regards Annex I;"
                    f"{qe(7)}</TXT></NP></ITEM></LIST></P></NP></ITEM></LIST>")),
        item("b", "the following point is added:",
             quoted(f'<LIST TYPE="alpha"><ITEM><NP><NO.P>{qs(8)}(c)</NO.P><TXT>Articles 102 to '
                    f"110 shall apply from 27 July 2026.{qe(8)}</TXT></NP></ITEM></LIST>")),
    )),
    item("6", "in Annex VIII, section B, points 1 and 3 are deleted;"),
    item("7", "in Article 99, paragraph 2 is replaced by the following:",
         quoted(f'<PARAG IDENTIFIER="099.002"><NO.PARAG>{qs(9)}2.</NO.PARAG><ALINEA>Fines.'
                f"{qe(9)}</ALINEA></PARAG>")),
    item("8", "Article 7 is renumbered as Article 8;"),
]


def act_xml(items: list[str], *, days: str = "third") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ACT><BIB.INSTANCE><DOCUMENT.REF '
        'FILE="act.doc.xml"/></BIB.INSTANCE><ENACTING.TERMS><ARTICLE IDENTIFIER="001">'
        "<TI.ART>Article 1</TI.ART><ALINEA><P>Regulation (EU) 2024/1689 is amended as follows:"
        f'</P><LIST TYPE="ARAB">{"".join(items)}</LIST></ALINEA></ARTICLE>'
        '<ARTICLE IDENTIFIER="002"><TI.ART>Article 2</TI.ART><ALINEA>This Regulation shall '
        f"enter into force on the {days} day following that of its publication in the "
        "<HT TYPE=\"ITALIC\">Official Journal of the European Union</HT>.</ALINEA></ARTICLE>"
        "</ENACTING.TERMS></ACT>"
    )


def write_act(directory: Path) -> Path:
    """Write the act (and the metadata file with its Official Journal date) into ``directory``."""
    path = directory / "act.xml"
    path.write_text(act_xml(ITEMS), encoding="utf-8")
    (directory / "act.doc.xml").write_text(
        '<DOC><PUBLICATION.REF FILE="act.toc.xml"><DATE ISO="20300301">20300301</DATE>'
        "</PUBLICATION.REF></DOC>", encoding="utf-8")
    return path
