"""Tests for kb.law.dates: the application table read from Articles 113 and 111 as in force."""

from __future__ import annotations

import pytest

from kb.config import ROOT
from kb.law.dates import (
    ApplicationRule,
    application_table,
    applies_from,
    chapter_resolver,
    parse_refs,
)
from kb.records import Provision, Unit

CORPUS = ROOT / "corpus"
CHANGE = "2026-07-27"
OLD, NEW = "2026-01-01", "2026-11-27"


class _Act:
    """A few AI Act provisions with chapters, and Articles 111 and 113 in two versions."""

    def __init__(self) -> None:
        self.provisions: list[Provision] = []

    def add(self, ref: str, text: str, *, until: str | None = None, since: str | None = None,
            **fields) -> None:
        self.provisions.append(Provision(
            "eu-ai-act", ref, Unit.ARTICLE, text, order=len(self.provisions),
            valid_until=until, valid_from=since, **fields))


CHAPTERS = {
    "1": ("Chapter I — General provisions", ""),
    "5": ("Chapter II — Prohibited AI practices", ""),
    "6": ("Chapter III — High-risk AI systems", "Section 1 — Classification"),
    "9": ("Chapter III — High-risk AI systems", "Section 2 — Requirements"),
    "26": ("Chapter III — High-risk AI systems", "Section 3 — Obligations"),
    "28": ("Chapter III — High-risk AI systems", "Section 4 — Notified bodies"),
    "43": ("Chapter III — High-risk AI systems", "Section 5 — Conformity assessment"),
    "50": ("Chapter IV — Transparency obligations", ""),
    "53": ("Chapter V — General-purpose AI models", "Section 2 — Obligations"),
    "78": ("Chapter IX — Post-market monitoring", "Section 3 — Enforcement"),
    "99": ("Chapter XII — Penalties", ""),
    "101": ("Chapter XII — Penalties", ""),
    "103": ("Chapter XIII — Final provisions", ""),
    "111": ("Chapter XIII — Final provisions", ""),
    "113": ("Chapter XIII — Final provisions", ""),
}
HEAD = ("This Regulation shall enter into force on the twentieth day following that of its "
        "publication in the Official Journal of the European Union.\n"
        "It shall apply from 2 August 2026.\nHowever:")
OLD_113 = {
    "a": "Chapters I and II shall apply from 2 February 2025;",
    "b": "Chapter III Section 4, Chapter V, Chapter VII and Chapter XII and Article 78 shall "
         "apply from 2 August 2025, with the exception of Article 101;",
    "c": "Article 6(1) and the corresponding obligations in this Regulation shall apply from "
         "2 August 2027.",
}
NEW_113 = {
    "a": "Chapters I and II shall apply from 2 February 2025, with the exception of Article "
         "5(1), first subparagraph, points (ba) and (bb), and Article 5(1a) and (1b) which "
         "shall apply from 2 December 2026;",
    "b": OLD_113["b"],
    "c": "Chapter III, Sections 1, 2, and 3, with the exception of Article 6(5), shall apply "
         "from:",
    "d": "Articles 102 to 110 shall apply from 27 July 2026.",
}
NEW_113_C = {
    "i": "2 December 2027 as regards AI systems classified as high-risk pursuant to Article "
         "6(2) and Annex III; and",
    "ii": "2 August 2028 as regards AI systems classified as high-risk pursuant to Article 6(1) "
          "and Annex I;",
}
ART_111 = {
    "2": "2. Without prejudice to the application of Article 5 as referred to in Article 113, "
         "third paragraph, point (a), this Regulation shall apply to operators of high-risk AI "
         "systems only if subject to significant changes. In any case, the providers and "
         "deployers of high-risk AI systems intended to be used by public authorities shall "
         "take the necessary steps to comply by 2 August 2030.",
    "4": "4. Providers of AI systems generating synthetic content that have been placed on the "
         "market before 2 August 2026 shall take the necessary steps in order to comply with "
         "Article 50(2) by 2 December 2026.",
}


def small_act() -> list[Provision]:
    act = _Act()
    for number, (chapter, section) in CHAPTERS.items():
        if number not in ("111", "113"):
            act.add(f"Article {number}", f"Article {number} text.", article=number,
                    chapter=chapter, section=section)
    meta = {"article": "113", "chapter": CHAPTERS["113"][0]}
    old = HEAD + "".join(f"\n({k}) {t}" for k, t in OLD_113.items())
    act.add("Article 113", old, until=CHANGE, **meta)
    for k, t in OLD_113.items():
        act.add(f"Article 113({k})", t, until=CHANGE, parent="Article 113", point=k, **meta)
    sub = "".join(f"\n({k}) {t}" for k, t in NEW_113_C.items())
    new = HEAD + "".join(f"\n({k}) {t}" + (sub if k == "c" else "") for k, t in NEW_113.items())
    act.add("Article 113", new, since=CHANGE, **meta)
    for k, t in NEW_113.items():
        act.add(f"Article 113({k})", t + (sub if k == "c" else ""), since=CHANGE,
                parent="Article 113", point=k, **meta)
        if k == "c":
            for s, st in NEW_113_C.items():
                act.add(f"Article 113(c)({s})", st, since=CHANGE, parent="Article 113(c)",
                        point="c", subpoint=s, **meta)
    meta = {"article": "111", "chapter": CHAPTERS["111"][0]}
    act.add("Article 111", "\n".join(ART_111.values()), **meta)
    act.add("Article 111(2)", ART_111["2"], parent="Article 111", paragraph="2", **meta)
    act.add("Article 111(4)", ART_111["4"], since=CHANGE, parent="Article 111", paragraph="4",
            **meta)
    return act.provisions


@pytest.fixture(scope="module")
def small() -> list[Provision]:
    return small_act()


def rows(table: list[ApplicationRule]) -> dict[str, tuple[str, str, str]]:
    return {r.key: (r.applies_from, r.scope, r.legal_basis) for r in table}


def test_refs_named_in_article_113_are_canonical():
    assert parse_refs("Chapter III, Sections 1, 2, and 3") == [
        "Chapter III, Section 1", "Chapter III, Section 2", "Chapter III, Section 3"]
    assert parse_refs("Article 6(1) and the corresponding obligations") == ["Article 6(1)"]


def test_amended_table_dates_each_point_of_article_113(small):
    assert rows(application_table(small, NEW)) == {
        "article_113_general": ("2026-08-02", "all_ai_systems", "Article 113, second paragraph"),
        "article_113_a": ("2025-02-02", "all_ai_systems", "Article 113(a)"),
        "article_113_a_exception": ("2026-12-02", "prohibited_practice", "Article 113(a)"),
        "article_113_b": ("2025-08-02", "all_ai_systems", "Article 113(b)"),
        "article_113_b_exception": ("2026-08-02", "all_ai_systems",
                                    "Article 113, second paragraph"),
        "article_113_c_i": ("2027-12-02", "high_risk_annex_iii", "Article 113(c)(i)"),
        "article_113_c_ii": ("2028-08-02", "high_risk_annex_i", "Article 113(c)(ii)"),
        "article_113_c_exception": ("2026-08-02", "all_ai_systems",
                                    "Article 113, second paragraph"),
        "article_113_d": ("2026-07-27", "all_ai_systems", "Article 113(d)"),
        "article_111_2": ("2030-08-02", "public_authority_legacy", "Article 111(2)"),
        "article_111_4": ("2026-12-02", "legacy_generative_system", "Article 111(4)"),
    }


def test_rule_lists_the_articles_of_the_chapters_it_names(small):
    table = {r.key: r for r in application_table(small, NEW)}
    assert table["article_113_a"].refs == ("Chapter I", "Chapter II", "Article 1", "Article 5")
    assert table["article_113_c_i"].refs == (
        "Chapter III, Section 1", "Chapter III, Section 2", "Chapter III, Section 3",
        "Article 6", "Article 9", "Article 26")
    assert "Article 101" not in table["article_113_b"].refs  # "with the exception of"
    assert table["article_113_d"].description == NEW_113["d"]


def test_original_table_gives_the_2024_dates(small):
    table = application_table(small, OLD)
    assert applies_from(table, "Article 26(1)", scope="high_risk_annex_iii").applies_from == (
        "2026-08-02")
    rule = applies_from(table, "Article 26(1)", scope="high_risk_annex_i")
    assert (rule.applies_from, rule.legal_basis) == ("2027-08-02", "Article 113(c)")
    assert applies_from(table, "Article 28", scope="high_risk_annex_i").applies_from == (
        "2025-08-02")  # Chapter III Section 4 keeps its own date
    assert "article_111_4" not in rows(table)


@pytest.mark.parametrize(
    ("ref", "scope", "expected", "basis"),
    [
        ("Article 5(1)(ba)", None, "2026-12-02", "Article 113(a)"),
        ("Article 5(1)(a)", "prohibited_practice", "2025-02-02", "Article 113(a)"),
        ("Article 9(2)", None, "2027-12-02", "Article 113(c)(i)"),
        ("Article 26(1)(a)", "high_risk_annex_i", "2028-08-02", "Article 113(c)(ii)"),
        ("Article 6(5)", "high_risk_annex_iii", "2026-08-02", "Article 113, second paragraph"),
        ("Article 43", "high_risk_annex_iii", "2026-08-02", "Article 113, second paragraph"),
        ("Annex IV", "high_risk_annex_iii", "2027-12-02", "Article 113(c)(i)"),
        ("Article 53(1)", "gpai_model", "2025-08-02", "Article 113(b)"),
        ("Article 101", None, "2026-08-02", "Article 113, second paragraph"),
        ("Article 103", None, "2026-07-27", "Article 113(d)"),
        ("Article 50(2)", "transparency", "2026-08-02", "Article 113, second paragraph"),
        ("Article 50(2)", "legacy_generative_system", "2026-12-02", "Article 111(4)"),
        ("Article 26", "public_authority_legacy", "2030-08-02", "Article 111(2)"),
        ("Article 5(1)", "public_authority_legacy", "2025-02-02", "Article 113(a)"),
    ],
)
def test_applies_from_picks_the_narrowest_rule(small, ref, scope, expected, basis):
    rule = applies_from(application_table(small, NEW), ref, scope=scope)
    assert (rule.applies_from, rule.legal_basis) == (expected, basis)


def test_chapter_of_dates_articles_the_table_does_not_list(small):
    table = application_table(small, NEW)
    assert applies_from(table, "Article 55").applies_from == "2026-08-02"
    rule = applies_from(table, "Article 55", chapter_of=lambda ref: "Chapter V — GPAI, Section 3")
    assert rule.legal_basis == "Article 113(b)"
    chapter_of = chapter_resolver(small)
    assert chapter_of("Article 9(2)") == (
        "Chapter III — High-risk AI systems, Section 2 — Requirements")


def test_unknown_scope_and_missing_article_113_are_errors(small):
    table = application_table(small, NEW)
    with pytest.raises(ValueError, match="unknown scope 'robots'; valid: all_ai_systems"):
        applies_from(table, "Article 5", scope="robots")
    with pytest.raises(ValueError, match="Article 113"):
        application_table([p for p in small if not p.ref.startswith("Article 113")], NEW)


# --- from the corpus: AI Act consolidated with Regulation (EU) 2026/1744 ------------------


@pytest.fixture(scope="module")
def consolidated() -> list[Provision]:
    from ingest.consolidate import consolidate
    from ingest.eurlex import parse_file
    from ingest.instructions import entry_into_force, parse_instructions
    from ingest.manifest import load_manifest

    documents = {d.id: d for d in load_manifest(CORPUS / "manifest.toml")}
    act, amending = documents["eu-ai-act"], documents["ai-omnibus-2026"]
    path = CORPUS / amending.file
    result = consolidate(parse_file(CORPUS / act.file, act), amending,
                         parse_instructions(path, amending), in_force=entry_into_force(path))
    return result.provisions


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("ref", "scope", "expected", "basis"),
    [
        ("Article 1", None, "2025-02-02", "Article 113(a)"),
        ("Article 4", None, "2025-02-02", "Article 113(a)"),
        ("Article 5(1)(a)", "prohibited_practice", "2025-02-02", "Article 113(a)"),
        ("Article 5(1)(ba)", "prohibited_practice", "2026-12-02", "Article 113(a)"),
        ("Article 5(1b)", None, "2026-12-02", "Article 113(a)"),
        ("Article 30", None, "2025-08-02", "Article 113(b)"),
        ("Article 53(1)", "gpai_model", "2025-08-02", "Article 113(b)"),
        ("Article 78", None, "2025-08-02", "Article 113(b)"),
        ("Article 99(6a)", None, "2025-08-02", "Article 113(b)"),
        ("Article 101", None, "2026-08-02", "Article 113, second paragraph"),
        ("Article 9", "high_risk_annex_iii", "2027-12-02", "Article 113(c)(i)"),
        ("Article 26(1)", "high_risk_annex_i", "2028-08-02", "Article 113(c)(ii)"),
        ("Article 105", None, "2026-07-27", "Article 113(d)"),
        ("Article 50(2)", "legacy_generative_system", "2026-12-02", "Article 111(4)"),
        ("Article 16", "public_authority_legacy", "2030-08-02", "Article 111(2)"),
        ("Article 50(1)", "transparency", "2026-08-02", "Article 113, second paragraph"),
    ],
)
def test_corpus_table_after_the_omnibus(consolidated, ref, scope, expected, basis):
    rule = applies_from(application_table(consolidated, NEW), ref, scope=scope)
    assert (rule.applies_from, rule.legal_basis) == (expected, basis)


@pytest.mark.corpus
def test_corpus_general_date_is_article_113_second_paragraph(consolidated):
    general = application_table(consolidated, NEW)[0]
    assert (general.applies_from, general.legal_basis, general.description) == (
        "2026-08-02", "Article 113, second paragraph", "It shall apply from 2 August 2026.")


@pytest.mark.corpus
def test_corpus_table_before_the_omnibus_has_the_2024_dates(consolidated):
    table = application_table(consolidated, OLD)
    assert applies_from(table, "Article 9", scope="high_risk_annex_iii").applies_from == (
        "2026-08-02")
    assert applies_from(table, "Article 9", scope="high_risk_annex_i").applies_from == (
        "2027-08-02")
    assert applies_from(table, "Article 5(1)(a)").applies_from == "2025-02-02"
    assert applies_from(table, "Article 50(2)", scope="legacy_generative_system").legal_basis == (
        "Article 113, second paragraph")  # no Article 111(4) yet


@pytest.mark.corpus
def test_new_prohibition_applies_from_2_december_2026(consolidated):
    rule = applies_from(application_table(consolidated, NEW), "Article 5(1)(ba)")
    assert rule.applies_from == "2026-12-02"
    assert "Article 5(1)(ba)" in rule.refs and "Article 5(1a)" in rule.refs
