"""Tests for ingest.instructions: reading the amending instructions of an act."""

from __future__ import annotations

from pathlib import Path

import pytest
from amending_act import AMENDING, write_act

from ingest.instructions import Operation, entry_into_force, parse_instructions
from ingest.manifest import find, load_manifest
from kb.config import ROOT
from kb.errors import BadAmendment

CORPUS = ROOT / "corpus"


@pytest.fixture
def act(tmp_path) -> Path:
    return write_act(tmp_path)


def test_each_sub_point_is_its_own_instruction_with_targets_in_our_scheme(act):
    read = {i.point: i for i in parse_instructions(act, AMENDING)}
    assert list(read) == ["1(a)", "1(b)", "1(c)", "2(a)", "2(b)", "3", "4", "5(a)", "5(b)",
                          "6", "7", "8"]
    assert (read["1(a)"].operation, read["1(a)"].targets, read["1(a)"].container) == (
        Operation.INSERT, ("Article 5(1)(ba)",), "Article 5(1)")
    assert read["1(a)"].new[0].text == "new practice ‘deep fakes’;"
    assert (read["2(b)"].operation, read["2(b)"].targets) == (Operation.DELETE,
                                                               ("Article 10(5)",))
    assert (read["3"].targets, read["3"].part) == (("Article 11(1)",), "subparagraph 2")
    assert (read["1(c)"].part, read["1(c)"].new[0].title) == ("heading", "Prohibited practices")
    assert [p.ref for p in read["4"].new] == [
        "Article 4a", "Article 4a(1)", "Article 4a(1)(a)", "Article 4a(1)(b)", "Article 4a(2)"]
    assert [p.ref for p in read["5(a)"].new] == [
        "Article 113(b)", "Article 113(b)(i)", "Article 113(b)(ii)"]
    assert read["6"].targets == ("Annex VIII, Section B, point 1",
                                 "Annex VIII, Section B, point 3")
    assert read["5(b)"].source == "Regulation (EU) 2030/1, Article 1, point (5)(b)"
    assert read["5(b)"].url == "https://example.eu/act#art_1"


def test_unreadable_instruction_is_kept_with_its_error(act):
    [bad] = [i for i in parse_instructions(act, AMENDING) if i.point == "8"]
    assert bad.operation is None
    assert "unknown kind of instruction" in bad.error


def test_act_that_amends_nothing_is_refused(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text("<ACT><ENACTING.TERMS><ARTICLE><ALINEA>It applies.</ALINEA></ARTICLE>"
                    "</ENACTING.TERMS></ACT>", encoding="utf-8")
    with pytest.raises(BadAmendment, match="is amended as follows"):
        parse_instructions(path, AMENDING)


def test_entry_into_force_counts_days_from_the_journal_date(act):
    assert entry_into_force(act) == "2030-03-04"


# --- Regulation (EU) 2026/1744 ----------------------------------------------------------------


@pytest.fixture(scope="module")
def omnibus_path() -> Path:
    return CORPUS / find(load_manifest(CORPUS / "manifest.toml"), "ai-omnibus-2026").file


@pytest.mark.corpus
def test_omnibus_enters_into_force_on_27_july_2026(omnibus_path):
    assert entry_into_force(omnibus_path) == "2026-07-27"

