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


@pytest.mark.xfail(strict=True, reason="bug: a point letter without brackets is dropped, so "
                   "'Art. 5 (1) f' is read as Article 5(1) instead of Article 5(1)(f)")
def test_a_point_letter_written_without_brackets_is_kept():
    assert locals_in("Is Art. 5 (1) f about the workplace?") == ["Article 5(1)(f)"]


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


@pytest.mark.xfail(strict=True, reason="bug: 'Article 16 TFEU' (as in the AI Act's recitals) "
                   "is read as the AI Act's own Article 16; only 'of the TFEU' is recognised")
def test_a_treaty_article_named_by_its_suffix_is_not_an_ai_act_article():
    assert find_refs("such use, which is based on Article 16 TFEU, should") == []


@pytest.mark.xfail(strict=True, reason="bug: the AI Act named by its number (\"Article 50(1) "
                   "of Regulation (EU) 2024/1689\") counts as another act, so the ref is lost")
def test_the_ai_act_named_by_its_number_is_the_main_act():
    mention = only("What does Article 50(1) of Regulation (EU) 2024/1689 require?")
    assert (mention.local, mention.act) == ("Article 50(1)", "")


def test_an_amending_act_named_after_the_article_is_marked_amending():
    mention = only("Article 1, point (7) of Regulation (EU) 2026/1744")
    assert (mention.local, mention.act) == ("Article 1(7)", "amending")


@pytest.mark.xfail(strict=True, reason="bug: an act named before the article (the form the "
                   "knowledge base itself cites amendments in) is ignored: act '' (AI Act)")
def test_an_amending_act_named_before_the_article_is_marked_amending():
    mention = only("Regulation (EU) 2026/1744, Article 1, point (7)")
    assert mention.act == "amending"


@pytest.mark.xfail(strict=True, reason="bug: qualify gives 'Regulation (EU) 2026/1744, Article "
                   "1(7)' but the Formex parser stores 'Regulation (EU) 2026/1744, Article 1, "
                   "point (7)', so a point of the amending act never resolves exactly")
@pytest.mark.parametrize("written", [
    "Article 1, point (7) of Regulation (EU) 2026/1744",
    "Regulation (EU) 2026/1744, Article 1, point (7)",
])
def test_a_point_of_the_amending_act_qualifies_to_its_stored_ref(written):
    stored_ref = "Regulation (EU) 2026/1744, Article 1, point (7)"
    assert qualify(only(written).local, OMNIBUS) == stored_ref


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
])
def test_parents_run_from_the_ref_to_its_outermost_ancestor(local, chain):
    assert parents(local) == chain
