"""kb.law.library in English: versions by date, refs people write, structure, cross-references
and defined terms.  The fixture excerpts (AI Act and two guidelines), plus a few hand-built
records: an amendment applying in 2030, two GDPR articles and points of an amending act."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ingest.manifest import load_manifest
from ingest.parsers import parse_document
from kb.errors import UnknownReference
from kb.law.library import Library
from kb.records import Document, Kind, Provision, Unit

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"
ENGLISH = ("eu-ai-act", "guidelines-ai-system-definition", "guidelines-transparency-art50")
AMENDMENT = "Regulation (EU) 2030/1, Article 1, point (3)"
IN_FORCE = "2030-03-04"
BEFORE, AFTER = "2030-01-01", "2030-06-01"
NEW_50_2 = "2. Providers shall mark the outputs."
NEW_DEPLOYER = "‘deployer’ means any person using an AI system under its authority;"

GDPR = Document("gdpr", "General Data Protection Regulation", Kind.REGULATION, "gdpr.html",
                "eurlex_html", cite_as="GDPR")
OMNIBUS = Document("ai-omnibus-2026", "Regulation (EU) 2026/1744", Kind.AMENDING_REGULATION,
                   "omnibus.xml", "formex", cite_as="Regulation (EU) 2026/1744",
                   amends="eu-ai-act")


def gdpr(ref: str, text: str, parent: str = "") -> Provision:
    return Provision("gdpr", f"{ref} GDPR", Unit.ARTICLE, text, article=ref.split()[1][:2],
                     parent=parent and f"{parent} GDPR")


def omnibus(local: str, text: str, parent: str = "") -> Provision:
    prefix = "Regulation (EU) 2026/1744, "
    return Provision(OMNIBUS.id, prefix + local, Unit.ARTICLE, text, article="1",
                     parent=parent and prefix + parent)


@pytest.fixture(scope="module")
def library() -> Library:
    documents = {d.id: d for d in load_manifest(FIXTURES / "manifest.toml")}
    parsed = [p for i in ENGLISH for p in parse_document(FIXTURES, documents[i])]
    by_ref = {p.ref: p for p in parsed}
    changed = {"Article 50(2)", "Article 50(3)", "Article 3(4)"}
    original = [replace(p, valid_until=IN_FORCE) if p.ref in changed else p for p in parsed]
    later = [
        replace(by_ref["Article 50(2)"], text=NEW_50_2, valid_from=IN_FORCE,
                version_source=AMENDMENT),
        replace(by_ref["Article 50(3)"], valid_from=IN_FORCE, version_source=AMENDMENT,
                deleted=True),
        replace(by_ref["Article 3(4)"], text=NEW_DEPLOYER, valid_from=IN_FORCE,
                version_source=AMENDMENT),
        Provision("eu-ai-act", "Article 50(8)", Unit.ARTICLE, "8. A new paragraph.",
                  article="50", paragraph="8", parent="Article 50", valid_from=IN_FORCE,
                  version_source=AMENDMENT),
        Provision("eu-ai-act", "Recital 900", Unit.RECITAL, "The obligations of Article 50 "
                  "should apply to every chatbot; see also Article 5.", recital="900"),
        Provision("eu-ai-act", "Recital 901", Unit.RECITAL, "Rules based on Article 16 TFEU "
                  "apply; Articles 111 and 113 set the dates.", recital="901"),
    ]
    others = [
        gdpr("Article 5", "Principles relating to processing of personal data."),
        gdpr("Article 5(1)", "1. Personal data shall be processed lawfully.", "Article 5"),
        gdpr("Article 22", "Automated individual decision-making, including profiling."),
        gdpr("Article 22(1)", "1. The data subject shall have the right not to be subject to "
             "a decision based solely on automated processing.", "Article 22"),
        gdpr("Article 22(4)", "4. Decisions referred to in paragraph 2 shall not be based on "
             "special categories of personal data referred to in Article 9(1).", "Article 22"),
        gdpr("Article 9(1)", "1. Processing of special categories shall be prohibited."),
        omnibus("Article 1", "Regulation (EU) 2024/1689 is amended as follows:"),
        omnibus("Article 1, point (7)", "Article 50 is amended as follows:", "Article 1"),
    ]
    return Library([*documents.values(), GDPR, OMNIBUS], original + later + others)


def refs(provisions) -> list[str]:
    return [p.ref for p in provisions]


# --- versions by date -------------------------------------------------------------------------


def test_version_is_the_wording_in_force_on_the_date(library):
    assert library.version("Article 50(2)", BEFORE).text.startswith("2. Providers of AI systems")
    assert library.version("Article 50(2)", AFTER).text == NEW_50_2
    # valid_from is inclusive, valid_until exclusive.
    assert library.version("Article 50(2)", IN_FORCE).text == NEW_50_2
    assert library.version("Article 50(2)", "2030-03-03").version_source == ""
    assert [v.valid_from for v in library.versions("Article 50(2)")] == [None, IN_FORCE]


def test_a_deleted_provision_is_a_tombstone_and_an_inserted_one_starts_on_its_date(library):
    assert library.version("Article 50(3)", AFTER).deleted
    assert not library.version("Article 50(3)", BEFORE).deleted
    assert library.version("Article 50(8)", BEFORE) is None
    assert library.version("Article 50(8)", AFTER).text == "8. A new paragraph."


def test_get_an_unknown_ref_names_the_closest_existing_one(library):
    with pytest.raises(UnknownReference) as raised:
        library.get("Article 50(9)", AFTER)
    assert str(raised.value) == ("No provision 'Article 50(9)' in the knowledge base; "
                                 "did you mean 'Article 50'?")
    with pytest.raises(UnknownReference, match=r"^No provision 'Annex III, point 9' in the "
                       r"knowledge base; did you mean 'Annex III'\?$"):
        library.get("Annex III, point 9", AFTER)
    with pytest.raises(UnknownReference, match=r"^No provision 'Article 7' in the knowledge "
                       r"base\.$"):
        library.get("Article 7", AFTER)


def test_get_a_ref_not_yet_in_force_says_on_which_date_it_was_asked(library):
    with pytest.raises(UnknownReference) as raised:
        library.get("Article 50(8)", BEFORE)
    assert str(raised.value) == ("No provision 'Article 50(8)' in the knowledge base on "
                                 "2030-01-01; did you mean 'Article 50'?")


def test_in_force_lists_the_law_of_the_date_without_tombstones(library):
    before = {p.ref: p for p in library.in_force("eu-ai-act", BEFORE)}
    after = {p.ref: p for p in library.in_force("eu-ai-act", AFTER)}
    assert "Article 50(3)" in before and "Article 50(3)" not in after
    assert "Article 50(8)" in after and "Article 50(8)" not in before
    assert after["Article 50(2)"].text == NEW_50_2
    assert {p.doc_id for p in library.in_force(as_of=AFTER)} == {
        "eu-ai-act", "guidelines-ai-system-definition", "guidelines-transparency-art50",
        "gdpr", "ai-omnibus-2026"}
    refs_in_order = refs(library.in_force("eu-ai-act", AFTER))
    assert refs_in_order.index("Recital 1") < refs_in_order.index("Article 3") < \
        refs_in_order.index("Article 50(1)") < refs_in_order.index("Annex III")


# --- refs in text -----------------------------------------------------------------------------


def test_lookup_resolves_each_named_provision_once_in_order(library):
    found = library.lookup("What do Art. 50 (1), Article 50(1) and Recital 132 say, and "
                           "para. 10 of C(2026) 5054?", AFTER)
    assert [(r.asked, r.provision.ref, r.exact) for r in found] == [
        ("Article 50(1)", "Article 50(1)", True),
        ("Recital 132", "Recital 132", True),
        ("para. 10", "Guidelines C(2026) 5054, para. 10", True)]


def test_lookup_of_a_missing_point_falls_back_to_its_closest_ancestor(library):
    [found] = library.lookup("Article 50(9)", AFTER)
    assert (found.provision.ref, found.exact) == ("Article 50", False)
    [deleted] = library.lookup("Article 50(3)", AFTER)  # deleted by then: its article
    assert (deleted.provision.ref, deleted.exact) == ("Article 50", False)


def test_a_question_that_mentions_the_gdpr_means_the_gdprs_articles(library):
    [found] = library.lookup("Under the GDPR, what does Article 22(1) say?", AFTER)
    assert (found.provision.ref, found.exact) == ("Article 22(1) GDPR", True)
    both = library.lookup("Article 22 GDPR and Article 5(1)(f)", AFTER)
    assert [(r.provision.ref, r.exact) for r in both] == [("Article 22 GDPR", True),
                                                          ("Article 5(1) GDPR", False)]
    [ai_act] = library.lookup("Article 5(1)(f)", AFTER)
    assert (ai_act.provision.ref, ai_act.exact) == ("Article 5(1)(f)", True)


def test_a_point_of_the_amending_act_named_after_its_act_resolves_to_that_act(library):
    [found] = library.lookup("What does Article 1, point (7) of Regulation (EU) 2026/1744 "
                             "change?", AFTER)
    assert found.provision.doc_id == "ai-omnibus-2026"


@pytest.mark.parametrize("question", [
    "What does Article 1, point (7) of Regulation (EU) 2026/1744 change?",
    "What does Regulation (EU) 2026/1744, Article 1, point (7) change?",
    "What does Article 1(7) of Regulation (EU) 2026/1744 change?",
    "What does point (7) of Article 1 of Regulation (EU) 2026/1744 change?",
])
def test_a_point_of_the_amending_act_resolves_exactly(library, question):
    [found] = library.lookup(question, AFTER)
    assert (found.provision.ref, found.exact) == (
        "Regulation (EU) 2026/1744, Article 1, point (7)", True)


# --- structure --------------------------------------------------------------------------------


def test_children_are_the_direct_subdivisions_in_force_in_order(library):
    assert refs(library.children("Article 5(1)", AFTER)) == [
        f"Article 5(1)({x})" for x in "abcdefgh"]
    assert refs(library.children("Article 5(1)(c)", AFTER)) == [
        "Article 5(1)(c)(i)", "Article 5(1)(c)(ii)"]
    assert refs(library.children("Article 50", BEFORE)) == [
        f"Article 50({n})" for n in range(1, 8)]
    assert refs(library.children("Article 50", AFTER)) == [
        "Article 50(1)", "Article 50(2)", "Article 50(4)", "Article 50(5)", "Article 50(6)",
        "Article 50(7)", "Article 50(8)"]
    assert library.children("Article 5(1)(f)", AFTER) == []


@pytest.mark.parametrize("ref, whole", [
    ("Article 5(1)(c)(i)", "Article 5"),
    ("Article 3(4)", "Article 3"),
    ("Annex III, point 5(b)", "Annex III"),
    ("Article 113", "Article 113"),
    ("Recital 132", "Recital 132"),
    ("Guidelines C(2026) 5054, para. 10", "Guidelines C(2026) 5054, para. 10"),
])
def test_article_is_the_whole_article_or_annex_a_provision_belongs_to(library, ref, whole):
    assert library.article(library.get(ref, AFTER), AFTER).ref == whole


def test_cross_references_resolve_what_a_text_refers_to(library):
    def crossed(ref: str) -> list[str]:
        return refs(library.cross_references(library.get(ref, AFTER), AFTER))

    assert crossed("Article 6(3)") == ["Annex III"]
    # Guidance citing "Article 3(3) AI Act" means the AI Act; "Article 50(1) and (2)" names
    # both paragraphs; a ref not in the corpus ("Article 96(1)(d)") is left out.
    assert crossed("Guidelines C(2026) 5054, para. 10") == ["Article 3(3)", "Article 50(1)",
                                                            "Article 50(2)"]
    assert crossed("Guidelines C(2026) 5054, para. 3") == ["Article 50"]
    assert crossed("Guidelines C(2026) 5054, para. 9") == ["Recital 132"]
    # A GDPR text refers to the GDPR's own articles.
    assert crossed("Article 22(4) GDPR") == ["Article 9(1) GDPR"]
    assert crossed("Article 50(1)") == []


def test_related_recitals_are_those_of_the_act_citing_the_article(library):
    assert refs(library.related_recitals(library.get("Article 50(1)", AFTER), AFTER)) == [
        "Recital 900"]
    # "Article 5" in the same recital is not Article 50, and Article 50 is not Article 5.
    assert refs(library.related_recitals(library.get("Article 5(1)(f)", AFTER), AFTER)) == [
        "Recital 900"]
    assert library.related_recitals(library.get("Article 6(3)", AFTER), AFTER) == []
    assert library.related_recitals(library.get("Recital 132", AFTER), AFTER) == []


def test_related_recitals_read_lists_and_leave_out_other_acts_articles(library):
    # Recital 901: "Rules based on Article 16 TFEU apply; Articles 111 and 113 set the dates."
    assert refs(library.related_recitals(library.get("Article 113", AFTER), AFTER)) == [
        "Recital 901"]
    article_16 = Provision("eu-ai-act", "Article 16", Unit.ARTICLE, "Obligations of providers",
                           article="16")
    assert library.related_recitals(article_16, AFTER) == []


# --- defined terms ----------------------------------------------------------------------------


def test_definitions_of_an_act_by_lower_case_term(library):
    terms = library.definitions("eu-ai-act", AFTER)
    assert len(terms) == 68
    assert terms["ai system"].ref == "Article 3(1)"
    assert terms["deployer"].text == NEW_DEPLOYER
    assert library.definitions("eu-ai-act", BEFORE)["deployer"].text.startswith(
        "‘deployer’ means a natural or legal person")
    assert library.definitions("gdpr", AFTER) == {}


@pytest.mark.parametrize("asked, ref", [
    ("deployer", "Article 3(4)"),
    ("Deployer", "Article 3(4)"),
    ("‘provider’", "Article 3(3)"),
    ("deployers", "Article 3(4)"),
    ("AI systems", "Article 3(1)"),
    ("recognition", "Article 3(39)"),  # one word of a defined term
])
def test_define_finds_a_term_also_in_the_plural_or_by_one_of_its_words(library, asked, ref):
    assert library.define(asked, AFTER).ref == ref


@pytest.mark.parametrize("asked, ref", [
    ("emotion recognition", "Article 3(39)"),
    ("emotion recognition systems", "Article 3(39)"),
    ("remote biometric identification", "Article 3(41)"),
])
def test_define_finds_a_term_by_its_leading_words(library, asked, ref):
    assert library.define(asked, AFTER).ref == ref


def test_define_an_unknown_term_suggests_asking_instead(library):
    with pytest.raises(UnknownReference) as raised:
        library.define("banana", AFTER)
    assert str(raised.value) == ("No definition of 'banana'; try: python -m kb ask "
                                 "'what is banana'")


def test_terms_used_finds_defined_terms_in_their_defined_sense(library):
    article_50_1 = library.get("Article 50(1)", AFTER)
    assert "subject to appropriate safeguards" in article_50_1.text
    # "subject to" is not the defined "subject" (Article 3(58)); "providers" is "provider".
    assert [p.term for p in library.terms_used(article_50_1, AFTER)] == ["AI system",
                                                                        "provider"]
    point = library.get("Article 5(1)(h)", AFTER)
    # The longest term wins: "remote biometric identification system", not also "AI system".
    assert [p.term for p in library.terms_used(point, AFTER)] == [
        "remote biometric identification system", "publicly accessible space",
        "law enforcement"]


def test_terms_used_by_guidance_are_the_ai_acts_and_a_definition_skips_itself(library):
    para = library.get("Guidelines C(2026) 5054, para. 10", AFTER)
    assert refs(library.terms_used(para, AFTER)) == ["Article 3(1)", "Article 3(3)"]
    deployer = library.get("Article 3(4)", BEFORE)
    assert "Article 3(4)" not in refs(library.terms_used(deployer, BEFORE))
