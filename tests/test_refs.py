"""kb.law.refs: refs written by people and by the official texts, read into canonical local
labels with their act and half-open offsets; qualifying a label for its document; ancestors."""

from __future__ import annotations

import pytest

from kb.law.refs import RefMention, find_refs, parents, qualify
from kb.records import Document, Kind

AI_ACT = Document("eu-ai-act", "AI Act", Kind.REGULATION, "act.html", "eurlex_html")
GDPR = Document("gdpr", "GDPR", Kind.REGULATION, "gdpr.html", "eurlex_html", cite_as="GDPR")
GUIDELINES = Document("guidelines", "Guidelines", Kind.GUIDELINE, "g.pdf", "guideline_pdf",
                      cite_as="Guidelines C(2025) 5052")
OMNIBUS = Document("ai-omnibus-2026", "Regulation (EU) 2026/1744", Kind.AMENDING_REGULATION,
                   "omnibus.xml", "formex", cite_as="Regulation (EU) 2026/1744",
                   amends="eu-ai-act")


def locals_in(text: str) -> list[str]:
    return [m.local for m in find_refs(text)]


def only(text: str) -> RefMention:
    found = find_refs(text)
    assert len(found) == 1, found
    return found[0]


# --- forms people type ------------------------------------------------------------------------


@pytest.mark.parametrize("written, local", [
    ("Article 5(1)(f)", "Article 5(1)(f)"),
    ("art 5(1)(f)", "Article 5(1)(f)"),
    ("Art. 5 (1) (f)", "Article 5(1)(f)"),
    ("ARTICLE 50(1)", "Article 50(1)"),
    ("Article 3 (1) of the AI Act", "Article 3(1)"),
    ("Article 5(1), point (f)", "Article 5(1)(f)"),
    ("Article 6(1), first subparagraph, point (a)", "Article 6(1)(a)"),
    ("point (f) of Article 5(1)", "Article 5(1)(f)"),
    ("paragraph 3 of Article 6", "Article 6(3)"),
    ("Article 4a", "Article 4a"),
    ("Article 5(1)(ba)", "Article 5(1)(ba)"),
    ("Article 3(61)(a)(iii)", "Article 3(61)(a)(iii)"),
    ("Recital 132", "Recital 132"),
    ("recital (132)", "Recital 132"),
    ("Annex III point 5(b)", "Annex III, point 5(b)"),
    ("Annex III, point 5 (b)", "Annex III, point 5(b)"),
    ("Annex III 5(b)", "Annex III, point 5(b)"),
    ("Annex III", "Annex III"),
    ("Annex III, Section A, point 2", "Annex III, Section A, point 2"),
])
def test_forms_people_write_become_the_canonical_label_of_the_main_act(written, local):
    mention = only(written)
    assert (mention.local, mention.act) == (local, "")


def test_a_point_letter_written_without_brackets_is_kept():
    assert locals_in("Is Art. 5 (1) f about the workplace?") == ["Article 5(1)(f)"]


@pytest.mark.parametrize("written, local", [
    ("Art. 5(1) lit. f", "Article 5(1)(f)"),
    ("Article 5(1) point f applies", "Article 5(1)(f)"),
    ("under Article 3(45) b) AI Act, any", "Article 3(45)(b)"),  # as Guidelines 5052 write it
    ("Art. 5 (1) ba?", "Article 5(1)(ba)"),
    ("What is Art. 5(1) a?", "Article 5(1)(a)"),
])
def test_other_unbracketed_point_forms_are_kept(written, local):
    assert locals_in(written) == [local]


@pytest.mark.parametrize("written, local", [
    ("Art. 5(1) a ban", "Article 5(1)"),  # "a" before a word is the English article
    ("Art 5(1) i think", "Article 5(1)"),
    ("Article 5(1) e.g. for emotions", "Article 5(1)"),
    ("Article 50(1) of the AI Act", "Article 50(1)"),
    ("Article 6(3) is an exception", "Article 6(3)"),
    ("Article 5(1)(f) a ban", "Article 5(1)(f)"),
])
def test_a_word_after_a_ref_is_not_read_as_a_point(written, local):
    assert locals_in(written) == [local]


@pytest.mark.parametrize("written, local", [
    ("Art 50 paragraph 1", "Article 50(1)"),
    ("Art. 50, para. 1", "Article 50(1)"),
    # How an amending act names the paragraph it replaces.
    ("in Article 17, paragraph 2 is replaced by the following", "Article 17(2)"),
])
def test_a_paragraph_written_as_a_word_is_a_paragraph(written, local):
    assert locals_in(written) == [local]


# --- lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, listed", [
    ("Articles 113 and 111", ["Article 113", "Article 111"]),
    ("Article 50(1) and (2)", ["Article 50(1)", "Article 50(2)"]),
    ("Article 6(6) or (7)", ["Article 6(6)", "Article 6(7)"]),
    ("Article 50(1) and/or (2) AI Act", ["Article 50(1)", "Article 50(2)"]),
    ("Article 31(4), (5), (10) and (11)",
     ["Article 31(4)", "Article 31(5)", "Article 31(10)", "Article 31(11)"]),
    ("Articles 5, 6, and 7", ["Article 5", "Article 6", "Article 7"]),
    ("Articles 2 and 2a", ["Article 2", "Article 2a"]),
    ("Article 5(1), points (a) and (b)", ["Article 5(1)(a)", "Article 5(1)(b)"]),
    ("Article 5(1)(c)(i) and (ii)", ["Article 5(1)(c)(i)", "Article 5(1)(c)(ii)"]),
    ("Article 5(1), first subparagraph, points (ba) and (bb), and Article 5(1a) and (1b)",
     ["Article 5(1)(ba)", "Article 5(1)(bb)", "Article 5(1a)", "Article 5(1b)"]),
])
def test_a_list_gives_every_ref_it_names(written, listed):
    assert locals_in(written) == listed


def test_each_item_of_a_list_has_its_own_offsets():
    text = "See Articles 113 and 111, then Article 50(1) and (2)."
    found = find_refs(text)
    assert [text[m.start:m.end] for m in found] == ["Articles 113", "111", "Article 50(1)", "(2)"]


def test_a_list_belongs_to_the_act_named_after_its_last_item():
    found = find_refs("Articles 5, 6 and 7 GDPR")
    assert [(m.local, m.act) for m in found] == [
        ("Article 5", "gdpr"), ("Article 6", "gdpr"), ("Article 7", "gdpr")]
    assert find_refs("in accordance with Article 42(1) and (2) of Regulation (EU) 2018/1725") == []
    assert find_refs("Articles 4, 7, 8, 21, 23 and 24 of the Charter") == []


def test_a_number_after_a_list_is_not_another_article():
    assert locals_in("Articles 5 and 6, 2 August 2026 applies") == ["Article 5", "Article 6"]
    assert locals_in("Article 5 and 6 months later") == ["Article 5"]  # singular: no list


def test_a_subparagraph_is_cited_by_its_paragraph():
    mention = only("Article 50(1), second subparagraph")
    assert mention.local == "Article 50(1)"


# --- which act --------------------------------------------------------------------------------


@pytest.mark.parametrize("written, local", [
    ("Article 22 GDPR", "Article 22"),
    ("Art. 22 of the GDPR", "Article 22"),
    ("GDPR Article 22", "Article 22"),
    ("Article 6(1)(a) of Regulation (EU) 2016/679", "Article 6(1)(a)"),
])
def test_gdpr_articles_are_marked_as_gdpr_whether_named_before_or_after(written, local):
    mention = only(written)
    assert (mention.local, mention.act) == (local, "gdpr")


@pytest.mark.parametrize("written", [
    "Article 4 of Directive (EU) 2019/882",
    "Article 16 of the Charter",
    "Article 114 of the Treaty",
    "Article 10 of Regulation (EC) No 765/2008",
])
def test_provisions_of_acts_outside_the_corpus_are_not_refs(written):
    assert find_refs(written) == []


def test_a_treaty_article_named_by_its_suffix_is_not_an_ai_act_article():
    assert find_refs("such use, which is based on Article 16 TFEU, should") == []


@pytest.mark.parametrize("written", [
    "pursuant to Article 6 TEU, the Charter",
    "Article 16(2) TFEU mandates",
    "data protection (Article 8 Charter)",
    "Article 34(2) DSA and Article 35(1)(k) DSA",
    "Article 27 LED",
    "Article 39 EUDPR",
    "Article 6(1) ECHR",
    "Article 2, points (c) and (e), of Directive 2011/93/EU",
    "In accordance with Article 6a of Protocol No 21",
    "Article 2 of the Annex to Recommendation 2003/361/EC",
    "Article 3 of Council Framework Decision 2002/584/JHA",
])
def test_other_acts_named_by_short_name_or_old_numbering_are_not_refs(written):
    assert find_refs(written) == []


@pytest.mark.parametrize("text, act", [
    ("amending Regulation (EU) 2024/1689. Article 43(3) of that Regulation should", ""),
    ("Regulation (EU) 2019/1020. In accordance with Article 33 of that Regulation", None),
    ("Regulation (EU) 2016/679 applies; Article 33 of that Regulation requires", "gdpr"),
    ("it is necessary to amend Article 5 of that Regulation", ""),  # none named: the main act
])
def test_that_regulation_is_the_regulation_named_last_before(text, act):
    found = find_refs(text)
    assert [m.act for m in found] == ([] if act is None else [act])


def test_the_ai_act_named_by_its_number_is_the_main_act():
    mention = only("What does Article 50(1) of Regulation (EU) 2024/1689 require?")
    assert (mention.local, mention.act) == ("Article 50(1)", "")


def test_an_amending_act_named_after_the_article_is_marked_amending():
    # The amending act's points keep its own citation form, the one its provisions are
    # stored under ("Regulation (EU) 2026/1744, Article 1, point (7)").
    mention = only("Article 1, point (7) of Regulation (EU) 2026/1744")
    assert (mention.local, mention.act) == ("Article 1, point (7)", "amending")


def test_an_amending_act_named_before_the_article_is_marked_amending():
    mention = only("Regulation (EU) 2026/1744, Article 1, point (7)")
    assert mention.act == "amending"


@pytest.mark.parametrize("written", [
    "Article 1, point (7) of Regulation (EU) 2026/1744",
    "Regulation (EU) 2026/1744, Article 1, point (7)",
    "point (7) of Article 1 of Regulation (EU) 2026/1744",
])
def test_a_point_of_the_amending_act_qualifies_to_its_stored_ref(written):
    stored_ref = "Regulation (EU) 2026/1744, Article 1, point (7)"
    assert qualify(only(written).local, OMNIBUS) == stored_ref


def test_a_sub_point_and_a_paragraphs_point_of_the_amending_act_keep_its_form():
    assert only("Article 1, point (7)(a) of Regulation (EU) 2026/1744").local == (
        "Article 1, point (7)(a)")
    assert only("Article 2(1), point (3) of Regulation (EU) 2026/1744").local == (
        "Article 2(1), point (3)")
    # The AI Act's own points keep the bracket form.
    assert only("Article 5(1), point (f) of Regulation (EU) 2024/1689").local == "Article 5(1)(f)"


# --- guideline paragraphs ---------------------------------------------------------------------


@pytest.mark.parametrize("written, para", [
    ("para. 123 of C(2025) 5052", "para. 123"),
    ("Guidelines C(2025) 5052, para. 123", "para. 123"),
    ("Guidelines C(2025) 5052 para 123", "para. 123"),
    ("paragraph 12 of the Guidelines C(2025) 5052", "para. 12"),
    ("C(2025) 5052 paragraph 12", "para. 12"),
])
def test_guideline_paragraphs_carry_the_c_number_as_their_act(written, para):
    mention = only(written)
    assert (mention.local, mention.act) == (para, "C(2025) 5052")


def test_a_guideline_paragraph_is_not_also_read_as_another_ref():
    # "C(2025) 5052" holds no article or annex, and the paragraph number is no recital.
    assert locals_in("See para. 12 of C(2025) 5052 and Recital 12") == ["para. 12", "Recital 12"]


# --- offsets and order ------------------------------------------------------------------------


def test_offsets_are_half_open_and_slice_the_mention_out_of_the_text():
    text = "See Art. 50 (1) and Recital 132; compare Annex III point 5(b)."
    found = find_refs(text)
    assert [text[m.start:m.end] for m in found] == [
        "Art. 50 (1)", "Recital 132", "Annex III point 5(b)"]
    assert [m.local for m in found] == ["Article 50(1)", "Recital 132", "Annex III, point 5(b)"]


def test_mentions_come_in_order_of_appearance_whatever_their_kind():
    text = "Recital 71, then para. 4 of C(2025) 5053, then Article 22 GDPR, then Annex I"
    found = find_refs(text)
    assert [m.local for m in found] == ["Recital 71", "para. 4", "Article 22", "Annex I"]
    assert [m.start for m in found] == sorted(m.start for m in found)


def test_overlapping_forms_give_one_mention_for_the_longest_reading():
    found = find_refs("point (f) of Article 5(1) applies")
    assert [(m.local, m.start, m.end) for m in found] == [("Article 5(1)(f)", 0, 25)]


def test_text_without_refs_gives_nothing():
    assert find_refs("Must our chatbot tell customers it is an AI?") == []
    assert find_refs("") == []


def test_cross_references_in_official_wording_are_found():
    text = ("an AI system referred to in Annex III shall not be considered to be high-risk; "
            "by derogation from paragraph 2 and Article 6(2)")
    assert locals_in(text) == ["Annex III", "Article 6(2)"]


# --- qualify and parents ----------------------------------------------------------------------


def test_qualify_leaves_main_act_labels_and_suffixes_or_prefixes_other_documents():
    assert qualify("Article 50(1)", AI_ACT) == "Article 50(1)"
    assert qualify("Article 22(1)", GDPR) == "Article 22(1) GDPR"
    assert qualify("para. 123", GUIDELINES) == "Guidelines C(2025) 5052, para. 123"
    assert qualify("Recital 3", OMNIBUS) == "Regulation (EU) 2026/1744, Recital 3"


@pytest.mark.parametrize("local, chain", [
    ("Article 3(61)(a)(iii)", ["Article 3(61)(a)(iii)", "Article 3(61)(a)", "Article 3(61)",
                               "Article 3"]),
    ("Article 4a", ["Article 4a"]),
    ("Annex III, point 5(b)", ["Annex III, point 5(b)", "Annex III, point 5", "Annex III"]),
    ("Annex III, Section A, point 2", ["Annex III, Section A, point 2", "Annex III, Section A",
                                       "Annex III"]),
    ("Recital 132", ["Recital 132"]),
    ("para. 12", ["para. 12"]),
    ("Article 1, point (7)(a)", ["Article 1, point (7)(a)", "Article 1, point (7)", "Article 1"]),
    ("Article 2(1), point (3)", ["Article 2(1), point (3)", "Article 2(1)", "Article 2"]),
])
def test_parents_run_from_the_ref_to_its_outermost_ancestor(local, chain):
    assert parents(local) == chain
