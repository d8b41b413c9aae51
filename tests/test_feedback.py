"""Feedback on answers: stored in SQLite, exported as CSV and as eval questions."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from kb.answers.feedback import (
    CSV_COLUMNS,
    FeedbackStore,
    eval_jsonl,
    eval_record,
    feedback_for,
    split_refs,
    to_csv,
)
from kb.records import Answer, Citation, Sentence, Unit

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def bot_answer() -> Answer:
    """An answer quoting Article 50(1) and Recital 132, also showing Article 50(5)."""
    citations = [
        Citation(1, "Article 50(1)", "eu-ai-act", Unit.ARTICLE, "1. Providers shall ensure ...",
                 url="https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001"),
        Citation(2, "Recital 132", "eu-ai-act", Unit.RECITAL, "Certain AI systems ..."),
        Citation(3, "Article 50(5)", "eu-ai-act", Unit.ARTICLE, "5. The information ..."),
    ]
    return Answer(
        question="Do I have to tell customers they're talking to a bot?",
        text="Providers shall ensure ... [1] Certain AI systems ... [2]",
        abstained=False, citations=citations, as_of="2026-11-27",
        sentences=[Sentence("Providers shall ensure ...", 1),
                   Sentence("Certain AI systems ...", 2)],
    )


def test_store_round_trips_a_challenge(tmp_path):
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite")
    assert store.all() == []
    record = feedback_for(bot_answer(), corpus_version="0ee535bc96da", rating=-1,
                          wrong=["Recital 132"], missing=["Article 50(2)"],
                          comment="  Labelling is missing.  ")
    saved = store.add(record, now=NOW)
    assert saved.id == 1
    assert saved.created_at == "2026-11-27T09:30:00+00:00"
    (loaded,) = store.all()
    assert loaded == saved
    assert loaded.cited == ("Article 50(1)", "Recital 132")
    assert [c["ref"] for c in loaded.citations] == ["Article 50(1)", "Recital 132",
                                                    "Article 50(5)"]
    assert loaded.comment == "Labelling is missing."
    assert loaded.challenged


def test_citing_finds_records_by_cited_or_missing_ref(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    store.add(feedback_for(bot_answer(), corpus_version="v", rating=1), now=NOW)
    store.add(feedback_for(bot_answer(), corpus_version="v", missing=["Article 50(2)"]), now=NOW)
    assert [r.id for r in store.citing("Article 50(5)")] == [1, 2]
    assert [r.id for r in store.citing("Article 50(2)")] == [2]
    assert store.citing("Article 4") == []


def test_only_cited_refs_can_be_marked_wrong():
    with pytest.raises(ValueError, match="only cited refs can be marked wrong.*Article 4"):
        feedback_for(bot_answer(), corpus_version="v", wrong=["Article 4"])
    with pytest.raises(ValueError, match="rating must be 1, -1 or 0, got 5"):
        feedback_for(bot_answer(), corpus_version="v", rating=5)


def test_csv_has_one_row_per_record_with_documented_columns(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    store.add(feedback_for(bot_answer(), corpus_version="0ee535bc96da", rating=-1,
                           wrong=["Recital 132"], missing=["Article 50(2)", "Recital 133"],
                           comment='Says "bot", not chatbot'), now=NOW)
    rows = list(csv.DictReader(io.StringIO(to_csv(store.all()))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    row = rows[0]
    assert row["question"] == "Do I have to tell customers they're talking to a bot?"
    assert row["rating"] == "down"
    assert row["wrong"] == "Recital 132"
    assert row["missing"] == "Article 50(2); Recital 133"
    assert row["as_of"] == "2026-11-27"
    assert row["corpus_version"] == "0ee535bc96da"
    assert row["comment"] == 'Says "bot", not chatbot'
    assert json.loads(row["citations"])[0]["url"].endswith("#050.001")


def test_eval_record_corrects_the_gold_refs(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    saved = store.add(feedback_for(bot_answer(), corpus_version="0ee535bc96da", rating=-1,
                                   wrong=["Recital 132"], missing=["Article 50(2)"],
                                   comment="Labelling too."), now=NOW)
    record = eval_record(saved)
    assert record == {
        "id": "challenged-001",
        "category": "challenged",
        "question": "Do I have to tell customers they're talking to a bot?",
        "gold": ["Article 50(1)", "Article 50(2)"],
        "needs_all": False,
        "note": "Challenged in the app on 2026-11-27 (corpus 0ee535bc96da, law as of "
                "2026-11-27). Rated not helpful. Marked wrong: Recital 132. Said to be "
                "missing: Article 50(2). Comment: Labelling too.",
    }


def test_eval_jsonl_skips_answers_that_were_only_approved(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    store.add(feedback_for(bot_answer(), corpus_version="v", rating=1), now=NOW)
    store.add(feedback_for(bot_answer(), corpus_version="v", missing=["Article 50(2)"]), now=NOW)
    lines = eval_jsonl(store.all()).splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["challenged-002"]


def test_abstention_feedback_has_no_cited_refs():
    answer = Answer(question="What is the capital of Australia?", text="The indexed texts ...",
                    abstained=True, as_of="2026-11-27",
                    related=[Citation(1, "Recital 1", "eu-ai-act", Unit.RECITAL, "The purpose")])
    record = feedback_for(answer, corpus_version="v", rating=-1, wrong=["Recital 1"])
    assert record.cited == ()
    assert eval_record(record)["gold"] == []


def test_split_refs_keeps_commas_inside_refs():
    assert split_refs("Annex III, point 5(b); Article 50(2)\n\nRecital 133;") == [
        "Annex III, point 5(b)", "Article 50(2)", "Recital 133"]
