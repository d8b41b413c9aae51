"""Tests for ingest.consolidate: applying amending instructions as versions."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from amending_act import AMENDING, act_xml, item, qe, qs, quoted, sublist, write_act

from ingest.consolidate import consolidate, in_force_on, version_of
from ingest.eurlex import parse_file
from ingest.formex import (
    formex_text,
    identifier_label,
    is_pi,
    label_of,
    parse_fragment,
    pi_attributes,
)
from ingest.instructions import entry_into_force, parse_instructions
from ingest.manifest import load_manifest
from kb.config import ROOT
from kb.records import Document, Provision, Unit

CORPUS = ROOT / "corpus"
EXTRACTS = CORPUS / "amendments" / "consolidated-extracts"
IN_FORCE = "2030-03-04"
BEFORE, AFTER = "2030-01-01", "2030-06-01"
SOURCE = "Regulation (EU) 2030/1, Article 1"


# --- a small act, built the way ingest.eurlex builds provisions ----------------------------


class _Base:
    def __init__(self) -> None:
        self.provisions: list[Provision] = []

    def add(self, ref: str, text: str, **fields) -> Provision:
        p = Provision("act", ref, fields.pop("unit", Unit.ARTICLE), text,
                      order=len(self.provisions), anchor=ref, url=f"https://example.eu/oj#{ref}",
                      **fields)
        self.provisions.append(p)
        return p


def small_act() -> list[Provision]:
    b = _Base()
    ch2 = {"chapter": "Chapter II — Prohibited AI practices"}
    ch3 = {"chapter": "Chapter III — High-risk AI systems"}
    intro = "The following AI practices shall be prohibited:"
    p51 = (f"1. {intro}\n(a) first practice;\n(b) second practice;\n(c) third practice:\n"
           "(i) sub one;\n(ii) sub two.\nPoint (c) is without prejudice to other law.")
    art5 = {"article": "5", "title": "Prohibited AI practices", **ch2}
    b.add("Article 5", p51 + "\n2. Member States may authorise the use.", **art5)
    b.add("Article 5(1)", p51, parent="Article 5", paragraph="1", **art5)
    for point, text in (("a", "first practice;"), ("b", "second practice;"),
                        ("c", "third practice:\n(i) sub one;\n(ii) sub two.")):
        b.add(f"Article 5(1)({point})", text, parent="Article 5(1)", paragraph="1", point=point,
              intro=intro, **art5)
    for sub, text in (("i", "sub one;"), ("ii", "sub two.")):
        b.add(f"Article 5(1)(c)({sub})", text, parent="Article 5(1)(c)", paragraph="1",
              point="c", subpoint=sub, intro="third practice:", **art5)
    b.add("Article 5(2)", "2. Member States may authorise the use.", parent="Article 5",
          paragraph="2", **art5)
    art10 = {"article": "10", "title": "Data", **ch3}
    p105 = "5. Providers may process special data where:\n(a) it is necessary;\n(b) it is safe."
    b.add("Article 10", "1. Data sets shall meet paragraphs 2 to 5.\n" + p105 +
          "\n6. Paragraphs 2 to 5 apply.", **art10)
    b.add("Article 10(1)", "1. Data sets shall meet paragraphs 2 to 5.", parent="Article 10",
          paragraph="1", **art10)
    b.add("Article 10(5)", p105, parent="Article 10", paragraph="5", **art10)
    for point, text in (("a", "it is necessary;"), ("b", "it is safe.")):
        b.add(f"Article 10(5)({point})", text, parent="Article 10(5)", paragraph="5",
              point=point, intro="Providers may process special data where:", **art10)
    b.add("Article 10(6)", "6. Paragraphs 2 to 5 apply.", parent="Article 10", paragraph="6",
          **art10)
    art11 = {"article": "11", "title": "Technical documentation", **ch3}
    p111 = "1. The documentation shall be drawn up.\nIt shall contain the elements of Annex IV."
    b.add("Article 11", p111, **art11)
    b.add("Article 11(1)", p111, parent="Article 11", paragraph="1", **art11)
    art113 = {"article": "113", "title": "Entry into force and application",
              "chapter": "Chapter XIII — Final provisions"}
    head = ("This Regulation shall enter into force on the twentieth day.\n"
            "It shall apply from 2 August 2026.\nHowever:")
    points113 = (("a", "Chapters I and II shall apply from 2 February 2025;"),
                 ("b", "Article 6(1) and the corresponding obligations in this Regulation "
                       "shall apply from 2 August 2027."))
    b.add("Article 113", head + "".join(f"\n({k}) {t}" for k, t in points113), **art113)
    for point, text in points113:
        b.add(f"Article 113({point})", text, parent="Article 113", point=point, intro=head,
              **art113)
    annex = {"annex": "VIII", "title": "Registration", "unit": Unit.ANNEX}
    lead = "The following information:"
    items = (("1", "Name;"), ("2", "Address;"), ("3", "Status."))
    section = lead + "".join(f"\n{k}. {t}" for k, t in items)
    b.add("Annex VIII", "Section B — Providers\n" + section, **annex)
    b.add("Annex VIII, Section B", section, parent="Annex VIII", section="Section B — Providers",
          **annex)
    for point, text in items:
        b.add(f"Annex VIII, Section B, point {point}", text, parent="Annex VIII, Section B",
              point=point, intro=lead, section="Section B — Providers", **annex)
    return b.provisions


@pytest.fixture
def act(tmp_path) -> Path:
    return write_act(tmp_path)


@pytest.fixture
def result(act):
    return consolidate(small_act(), AMENDING, parse_instructions(act, AMENDING),
                       in_force=IN_FORCE)


def text_on(provisions: list[Provision], ref: str, day: str) -> str:
    version = version_of(provisions, ref, day)
    assert version is not None, f"{ref} does not exist on {day}"
    return version.text

# --- applying them ---------------------------------------------------------------------------


def test_points_are_applied_or_failed_with_a_reason(result):
    assert result.applied == ["1", "2", "3", "4", "5", "6"]
    assert result.failed[0] == ("7", "Article 99(2) does not exist")
    assert result.failed[1][0] == "8" and "unknown kind of instruction" in result.failed[1][1]


def test_inserted_point_shows_in_its_paragraph_and_article(result):
    provisions = result.provisions
    assert text_on(provisions, "Article 5(1)", AFTER) == (
        "1. The following AI practices shall be prohibited:\n(a) first practice;\n"
        "(b) second practice;\n(ba) new practice ‘deep fakes’;\n(c) third practice:\n"
        "(i) sub one;\n(ii) sub two.\nPoint (c) is without prejudice to other law.")
    assert "(ba)" not in text_on(provisions, "Article 5(1)", BEFORE)
    new = version_of(provisions, "Article 5(1)(ba)", AFTER)
    assert (new.valid_from, new.doc_id, new.intro) == (
        IN_FORCE, "act", "The following AI practices shall be prohibited:")
    # Inserted by point (1)(a), retitled by point (1)(c): "point (1)".
    assert new.version_source == f"{SOURCE}, point (1)"
    assert version_of(provisions, "Article 10(1)", AFTER).version_source == (
        f"{SOURCE}, point (2)(a)")
    assert new.url == "https://example.eu/act#art_1"
    assert version_of(provisions, "Article 5(1)(ba)", BEFORE) is None
    article = text_on(provisions, "Article 5", AFTER)
    assert "\n1a. For the purposes of paragraph 1, point (ba), consent matters.\n2. " in article


def test_changed_provision_keeps_its_old_version_until_entry_into_force(result):
    versions = [p for p in result.provisions if p.ref == "Article 5"]
    assert [(v.valid_from, v.valid_until) for v in versions] == [(None, IN_FORCE),
                                                                  (IN_FORCE, None)]
    assert versions[1].version_source == f"{SOURCE}, point (1)"
    assert versions[1].title == "Prohibited practices"
    assert version_of(result.provisions, "Article 5(2)", AFTER).title == "Prohibited practices"


def test_unchanged_provision_is_returned_as_it_was(act):
    base = small_act()
    result = consolidate(base, AMENDING, parse_instructions(act, AMENDING), in_force=IN_FORCE)
    unchanged = next(p for p in result.provisions if p.ref == "Annex VIII, Section B, point 2")
    assert unchanged is next(p for p in base if p.ref == "Annex VIII, Section B, point 2")
    assert [p.ref for p in in_force_on(result.provisions, BEFORE)] == [p.ref for p in base]
    assert [p.text for p in in_force_on(result.provisions, BEFORE)] == [p.text for p in base]


def test_deleted_paragraph_leaves_a_tombstone_and_its_article_loses_it(result):
    provisions = result.provisions
    tomb = version_of(provisions, "Article 10(5)", AFTER)
    assert tomb.deleted and tomb.valid_from == IN_FORCE
    assert tomb.text.startswith("5. Providers may process special data where:")
    assert version_of(provisions, "Article 10(5)(b)", AFTER).deleted
    assert not version_of(provisions, "Article 10(5)", BEFORE).deleted
    assert "Article 10(5)" not in {p.ref for p in in_force_on(provisions, AFTER)}
    assert text_on(provisions, "Article 10", AFTER) == (
        "1. Data sets shall meet paragraphs 2 to 4 and Article 4a.\n6. Paragraphs 2 to 5 apply.")


def test_replaced_subparagraph_keeps_the_first(result):
    assert text_on(result.provisions, "Article 11(1)", AFTER) == (
        "1. The documentation shall be drawn up.\n"
        "It shall contain the elements of Annex IV, simplified for SMEs.")
    assert text_on(result.provisions, "Article 11", AFTER) == text_on(
        result.provisions, "Article 11(1)", AFTER)


def test_inserted_article_comes_in_number_order_with_its_parts(result):
    refs = [p.ref for p in in_force_on(result.provisions, AFTER)]
    assert refs[:6] == ["Article 4a", "Article 4a(1)", "Article 4a(1)(a)", "Article 4a(1)(b)",
                        "Article 4a(2)", "Article 5"]
    article = version_of(result.provisions, "Article 4a", AFTER)
    assert article.title == "Bias detection"
    assert article.chapter == "Chapter II — Prohibited AI practices"
    assert article.text == ("1. Providers may process data where:\n(a) it is necessary;\n"
                            "(b) it is safe.\n2. No obligation arises.")
    point = version_of(result.provisions, "Article 4a(1)(b)", AFTER)
    assert (point.intro, point.title, point.parent) == (
        "Providers may process data where:", "Bias detection", "Article 4a(1)")


def test_replaced_point_brings_its_sub_points_and_added_point_follows(result):
    assert text_on(result.provisions, "Article 113", AFTER).endswith(
        "However:\n(a) Chapters I and II shall apply from 2 February 2025;\n"
        "(b) Chapter III shall apply from:\n(i) 2 December 2027 as regards Annex III; and\n"
        "(ii) 2 August 2028 as regards Annex I;\n"
        "(c) Articles 102 to 110 shall apply from 27 July 2026.")
    sub = version_of(result.provisions, "Article 113(b)(ii)", AFTER)
    assert (sub.point, sub.subpoint, sub.intro) == ("b", "ii", "Chapter III shall apply from:")


def test_deleted_annex_points_leave_the_section_and_the_annex(result):
    assert text_on(result.provisions, "Annex VIII, Section B", AFTER) == (
        "The following information:\n2. Address;")
    assert text_on(result.provisions, "Annex VIII", AFTER).endswith("information:\n2. Address;")


def test_in_force_on_gives_one_version_per_ref(result):
    for day in (BEFORE, AFTER):
        refs = [p.ref for p in in_force_on(result.provisions, day)]
        assert len(refs) == len(set(refs))


def test_failed_instruction_leaves_no_trace(act):
    items = [item("1", "Article 5 is amended as follows:", sublist(
        item("a", "in paragraph 1, the following point is inserted:",
             quoted(f'<LIST TYPE="alpha"><ITEM><NP><NO.P>{qs(1)}(d)</NO.P><TXT>more;{qe(1)}'
                    "</TXT></NP></ITEM></LIST>")),
        item("b", "in paragraph 1, point (z) is deleted;"),
    ))]
    act.write_text(act_xml(items), encoding="utf-8")
    result = consolidate(small_act(), AMENDING, parse_instructions(act, AMENDING),
                         in_force=IN_FORCE)
    assert result.applied == []
    assert result.failed == [("1(b)", "Article 5(1)(z) does not exist")]
    assert version_of(result.provisions, "Article 5(1)(d)", AFTER) is not None  # 1(a) applied


def test_change_of_words_inside_a_provision_is_reported_not_applied(act):
    items = [item("1", "in Article 5(1), the words ‘first practice’ are deleted;")]
    act.write_text(act_xml(items), encoding="utf-8")
    result = consolidate(small_act(), AMENDING, parse_instructions(act, AMENDING),
                         in_force=IN_FORCE)
    assert result.applied == []
    assert result.failed[0][0] == "1" and "cannot tell which provision" in result.failed[0][1]
    assert text_on(result.provisions, "Article 5(1)", AFTER).startswith(
        "1. The following AI practices shall be prohibited:\n(a) first practice;")

# --- the real AI Act and Regulation (EU) 2026/1744 ------------------------------------------


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    return {d.id: d for d in load_manifest(CORPUS / "manifest.toml")}


@pytest.fixture(scope="module")
def omnibus_path(documents) -> Path:
    return CORPUS / documents["ai-omnibus-2026"].file


@pytest.fixture(scope="module")
def real(documents, omnibus_path):
    act = documents["eu-ai-act"]
    base = parse_file(CORPUS / act.file, act)
    amending = documents["ai-omnibus-2026"]
    instructions = parse_instructions(omnibus_path, amending)
    return consolidate(base, amending, instructions, in_force=entry_into_force(omnibus_path))


def _extract_cases() -> list:
    """(file, ref, action, element) for each unit of each consolidated extract."""
    cases = []
    for path in sorted(EXTRACTS.glob("*.fmx.xml")):
        article = str(int(re.match(r"art_(\d+)", path.name).group(1)))
        action = ""
        for node in parse_fragment(path.read_text(encoding="utf-8")):
            if is_pi(node):
                target, attributes = pi_attributes(node)
                action = attributes.get("ACTION", "") if target == "CLG.MDFO" else ""
                continue
            if node.tag == "ARTICLE":
                ref = f"Article {identifier_label(node.get('IDENTIFIER'))}"
            elif node.tag == "PARAG":
                ref = f"Article {article}({identifier_label(node.get('IDENTIFIER'))})"
            else:
                ref = f"Article {article}({label_of(node.find('NP/NO.P'))})"
            cases.append(pytest.param(path.name, ref, action, node, id=f"{path.name}:{ref}"))
    return cases


def _normalise(text: str) -> str:
    return "\n".join(re.sub(r"[ \u00a0]+", " ", line).strip() for line in text.split("\n"))


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "ref", "action", "element"), _extract_cases())
def test_consolidated_extract_matches_our_text(real, name, ref, action, element):
    ours = version_of(real.provisions, ref, "2026-11-27")
    assert ours is not None, f"{ref} missing as of 2026-11-27"
    if action == "DELETED":
        assert ours.deleted
    else:
        assert not ours.deleted
    assert _normalise(ours.text) == _normalise(formex_text(element))


@pytest.mark.corpus
def test_all_43_points_of_the_omnibus_are_applied(real):
    assert real.failed == []
    assert real.applied == [str(n) for n in range(1, 44)]


@pytest.mark.corpus
def test_article_4_is_new_after_and_original_before(real):
    after = version_of(real.provisions, "Article 4", "2026-11-27")
    before = version_of(real.provisions, "Article 4", "2026-01-01")
    assert after.text.startswith("1. Providers and deployers of AI systems shall take measures "
                                 "to support the development of AI literacy")
    assert after.version_source == "Regulation (EU) 2026/1744, Article 1, point (5)"
    assert before.text.startswith("Providers and deployers of AI systems shall take measures to "
                                  "ensure, to their best extent, a sufficient level of AI literacy")
    assert before.valid_until == "2026-07-27"


@pytest.mark.corpus
def test_article_10_5_is_deleted_today_and_article_10_no_longer_has_it(real):
    today = date.today().isoformat()
    assert version_of(real.provisions, "Article 10(5)", today).deleted
    article = version_of(real.provisions, "Article 10", today).text
    assert "\n5. " not in article and "\n6. For the development of high-risk AI systems" in article


@pytest.mark.corpus
def test_new_prohibition_5_1_ba_exists_today_after_point_b(real):
    today = date.today().isoformat()
    point = version_of(real.provisions, "Article 5(1)(ba)", today)
    assert point.text.startswith("the placing on the market, the putting into service or the use "
                                 "of an AI system that generates or manipulates realistic images")
    paragraph = version_of(real.provisions, "Article 5(1)", today).text
    assert paragraph.index("\n(b) ") < paragraph.index("\n(ba) ") < paragraph.index(
        "\n(bb) ") < paragraph.index("\n(c) ")
