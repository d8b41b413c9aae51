"""A small amending act for the fixture corpus, read by tests/test_register.py: it postpones
Chapter III for the Annex III high-risk systems to 2 December 2027 and rewords Annex III,
point 5(b) (credit scoring, by replacing point 5), in force from 13 December 2026.  A chatbot
or a spam filter is untouched by it; a credit-scoring system is affected.
"""

from __future__ import annotations

from pathlib import Path

from amending_act import item, qe, qs, quoted, sublist

from ingest.manifest import load_manifest, save_manifest
from kb.records import Document, Kind

IN_FORCE = "2026-12-13"  # published 10 December 2026, in force on the third day
NEW_5B = ("AI systems intended to be used to evaluate the creditworthiness of natural persons "
          "or establish their credit score, including for consumer credit, with the exception "
          "of AI systems used for the purpose of detecting financial fraud;")

POINT_5 = [
    ("a", "AI systems intended to be used by public authorities or on behalf of public "
          "authorities to evaluate the eligibility of natural persons for essential public "
          "assistance benefits and services, including healthcare services, as well as to "
          "grant, reduce, revoke, or reclaim such benefits and services;"),
    ("b", NEW_5B),
    ("c", "AI systems intended to be used for risk assessment and pricing in relation to "
          "natural persons in the case of life and health insurance;"),
    ("d", "AI systems intended to evaluate and classify emergency calls by natural persons or "
          "to be used to dispatch, or to establish priority in the dispatching of, emergency "
          "first response services, including by police, firefighters and medical aid, as "
          "well as of emergency healthcare patient triage systems."),
]

ITEMS = [
    item("1", "in Article 113, the third paragraph is amended as follows:", sublist(
        item("a", "the following point is added:",
             quoted(f'<LIST TYPE="alpha"><ITEM><NP><NO.P>{qs(1)}(d)</NO.P><TXT>Chapter III, as '
                    "regards the high-risk AI systems referred to in Article 6(2) and Annex III, "
                    f"shall apply from 2 December 2027.{qe(1)}</TXT></NP></ITEM></LIST>")),
    )),
    item("2", "in Annex III, point 5 is replaced by the following:",
         quoted(f'<LIST TYPE="ARAB"><ITEM><NP><NO.P>{qs(2)}5.</NO.P><TXT>Access to and '
                "enjoyment of essential private services and essential public services and "
                'benefits:</TXT><P><LIST TYPE="alpha">'
                + "".join(f"<ITEM><NP><NO.P>({label})</NO.P><TXT>{text}</TXT></NP></ITEM>"
                          for label, text in POINT_5) + f"{qe(2)}</LIST></P></NP></ITEM></LIST>")),
]


def act_xml() -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ACT><BIB.INSTANCE><DOCUMENT.REF '
        'FILE="omnibus.doc.fmx.xml"/></BIB.INSTANCE><ENACTING.TERMS><ARTICLE IDENTIFIER="001">'
        "<TI.ART>Article 1</TI.ART><ALINEA><P>Regulation (EU) 2024/1689 is amended as follows:"
        f'</P><LIST TYPE="ARAB">{"".join(ITEMS)}</LIST></ALINEA></ARTICLE>'
        '<ARTICLE IDENTIFIER="002"><TI.ART>Article 2</TI.ART><ALINEA>This Regulation shall '
        "enter into force on the third day following that of its publication in the "
        '<HT TYPE="ITALIC">Official Journal of the European Union</HT>.</ALINEA></ARTICLE>'
        "</ENACTING.TERMS></ACT>"
    )


def write_amendment(directory: Path) -> Path:
    """Write the act and its metadata file (the Official Journal date) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "omnibus.fmx.xml"
    path.write_text(act_xml(), encoding="utf-8")
    (directory / "omnibus.doc.fmx.xml").write_text(
        '<DOC><PUBLICATION.REF FILE="omnibus.toc.xml"><DATE ISO="20261210">20261210</DATE>'
        "</PUBLICATION.REF></DOC>", encoding="utf-8")
    return path


def add_to_corpus(corpus_dir: Path) -> None:
    """Put the act into ``corpus_dir`` and list it in its manifest, as a maintainer does for a
    Formex act with its metadata file (then ``python -m ingest``)."""
    write_amendment(corpus_dir / "amendments")
    manifest = corpus_dir / "manifest.toml"
    documents = load_manifest(manifest)
    save_manifest(manifest, [*documents, AMENDMENT])


AMENDMENT = Document(
    "omnibus-2026", "Regulation (EU) 2026/9999 amending Regulation (EU) 2024/1689 (test act)",
    Kind.AMENDING_REGULATION, "amendments/omnibus.fmx.xml", "formex", date="2026-12-10",
    cite_as="Regulation (EU) 2026/9999", amends="eu-ai-act",
    url="https://example.eu/omnibus", note="A test act for tests/test_register.py.",
)
