"""Feedback on answers ("challenge this answer"), kept in a small SQLite file.

In: a rating, citations marked wrong, refs said to be missing and a comment on an
:class:`kb.records.Answer`; out: stored :class:`Feedback` records, a CSV export for
maintainers and eval questions in the ``eval/questions.jsonl`` format.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from kb.answers.export import used_refs
from kb.errors import BadInput
from kb.records import Answer
from kb.safety import check_field, csv_text

RATINGS = {1: "up", -1: "down", 0: ""}
CSV_COLUMNS = (
    "id", "created_at", "question", "answer", "citations", "as_of", "corpus_version",
    "rating", "wrong", "missing", "comment",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, citations TEXT NOT NULL, as_of TEXT, corpus_version TEXT,
    rating INTEGER NOT NULL, wrong TEXT NOT NULL, missing TEXT NOT NULL, comment TEXT NOT NULL,
    cited TEXT NOT NULL
)
"""
# Limits on what a user types into "Challenge this answer" (one-line error beyond them).
MAX_COMMENT_CHARS = 5000  # the comment
MAX_MISSING_REFS = 20  # refs named as missing
MAX_REF_CHARS = 200  # each ref named as missing


@dataclass(frozen=True, slots=True)
class Feedback:
    """One challenge of an answer, with everything needed to replay it."""

    question: str
    answer: str  # the answer text with its [n] markers
    citations: tuple[dict, ...]  # Citation.to_dict() of every citation shown
    cited: tuple[str, ...]  # the refs the answer quotes (its gold refs before correction)
    as_of: str
    corpus_version: str
    rating: int = 0  # 1 thumbs up, -1 thumbs down, 0 none
    wrong: tuple[str, ...] = ()  # cited refs the user marked wrong
    missing: tuple[str, ...] = ()  # refs the user says should have been cited
    comment: str = ""
    created_at: str = ""  # ISO timestamp, UTC
    id: int | None = None

    @property
    def challenged(self) -> bool:
        """Whether the user disputes the answer (not just a thumbs up)."""
        return self.rating < 0 or bool(self.wrong or self.missing)

    def to_row(self) -> dict[str, str]:
        """The CSV row: lists as "; "-joined refs, citations as JSON."""
        return {
            "id": "" if self.id is None else str(self.id),
            "created_at": self.created_at,
            "question": self.question,
            "answer": self.answer,
            "citations": json.dumps(list(self.citations), ensure_ascii=False),
            "as_of": self.as_of,
            "corpus_version": self.corpus_version,
            "rating": RATINGS.get(self.rating, ""),
            "wrong": "; ".join(self.wrong),
            "missing": "; ".join(self.missing),
            "comment": self.comment,
        }


def feedback_for(
    answer: Answer,
    *,
    corpus_version: str,
    rating: int = 0,
    wrong: list[str] | tuple[str, ...] = (),
    missing: list[str] | tuple[str, ...] = (),
    comment: str = "",
) -> Feedback:
    """A feedback record for ``answer`` (not stored yet); ValueError names a bad value
    (:class:`kb.errors.BadInput`, a ValueError, for a field over its limit)."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be 1, -1 or 0, got {rating!r}")
    shown = answer.related if answer.abstained else answer.citations
    known = {c.ref for c in shown}
    unknown = [ref for ref in wrong if ref not in known]
    if unknown:
        raise ValueError(f"only cited refs can be marked wrong, got {unknown!r}")
    missing = [check_field("missing citation", ref, MAX_REF_CHARS) for ref in missing]
    missing = list(dict.fromkeys(ref for ref in missing if ref))
    if len(missing) > MAX_MISSING_REFS:
        raise BadInput(f"missing citations name {len(missing)} refs; the limit is "
                       f"{MAX_MISSING_REFS}")
    comment = check_field("comment", comment, MAX_COMMENT_CHARS, multiline=True)
    return Feedback(
        question=answer.question,
        answer=answer.text,
        citations=tuple(c.to_dict() for c in shown),
        cited=() if answer.abstained else tuple(used_refs(answer)),
        as_of=answer.as_of,
        corpus_version=corpus_version,
        rating=rating,
        wrong=tuple(dict.fromkeys(wrong)),
        missing=tuple(missing),
        comment=comment,
    )


def split_refs(text: str) -> list[str]:
    """Refs typed by a user, one per line or separated by semicolons.

    Commas are not separators: refs contain them ("Annex III, point 5").

    >>> split_refs("Article 50(1); Annex III, point 5\\nRecital 132 ")
    ['Article 50(1)', 'Annex III, point 5', 'Recital 132']
    """
    return [part.strip() for line in text.splitlines() for part in line.split(";")
            if part.strip()]


def eval_record(feedback: Feedback) -> dict:
    """The challenged answer as an eval question (``eval/QUESTIONS.md`` format).

    Gold: the refs the answer quoted, minus those marked wrong, plus those named missing.
    """
    gold = [ref for ref in feedback.cited if ref not in feedback.wrong]
    gold += [ref for ref in feedback.missing if ref not in gold]
    parts = [f"Challenged in the app on {feedback.created_at[:10] or 'an unknown date'}"
             f" (corpus {feedback.corpus_version or 'unknown'}, law as of {feedback.as_of})."]
    if feedback.rating < 0:
        parts.append("Rated not helpful.")
    if feedback.wrong:
        parts.append(f"Marked wrong: {', '.join(feedback.wrong)}.")
    if feedback.missing:
        parts.append(f"Said to be missing: {', '.join(feedback.missing)}.")
    if feedback.comment:
        parts.append(f"Comment: {feedback.comment}")
    return {
        "id": f"challenged-{feedback.id if feedback.id is not None else 0:03d}",
        "category": "challenged",
        "question": feedback.question,
        "gold": gold,
        "needs_all": False,
        "note": " ".join(parts),
    }


def eval_jsonl(records: list[Feedback]) -> str:
    """The challenged records as eval JSONL, one question per line."""
    return "".join(
        json.dumps(eval_record(r), ensure_ascii=False) + "\n" for r in records if r.challenged
    )


def to_csv(records: list[Feedback]) -> str:
    """Feedback records as CSV with :data:`CSV_COLUMNS`, newest last; a cell that a
    spreadsheet would read as a formula is neutralised (:func:`kb.safety.csv_cell`)."""
    rows = ([record.to_row()[column] for column in CSV_COLUMNS] for record in records)
    return csv_text(CSV_COLUMNS, rows)


class FeedbackStore:
    """Feedback records in a SQLite file, created on first write."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(_SCHEMA)
        return db

    def add(self, feedback: Feedback, *, now: datetime | None = None) -> Feedback:
        """Store ``feedback``; returns it with its id and timestamp."""
        created = feedback.created_at or (now or datetime.now(UTC)).isoformat(timespec="seconds")
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO feedback (created_at, question, answer, citations, as_of,"
                " corpus_version, rating, wrong, missing, comment, cited)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (created, feedback.question, feedback.answer,
                 json.dumps(list(feedback.citations), ensure_ascii=False), feedback.as_of,
                 feedback.corpus_version, feedback.rating, json.dumps(list(feedback.wrong)),
                 json.dumps(list(feedback.missing)), feedback.comment,
                 json.dumps(list(feedback.cited))),
            )
            new_id = cursor.lastrowid
        return replace(feedback, id=new_id, created_at=created)

    def all(self) -> list[Feedback]:
        """Every record, oldest first (empty when nothing was stored yet)."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT id, created_at, question, answer, citations, as_of, corpus_version,"
                " rating, wrong, missing, comment, cited FROM feedback ORDER BY id"
            ).fetchall()
        return [_from_row(row) for row in rows]

    def citing(self, ref: str) -> list[Feedback]:
        """Records whose answer cited ``ref`` or named it as missing."""
        return [
            r for r in self.all()
            if ref in r.missing or any(c.get("ref") == ref for c in r.citations)
        ]


def _from_row(row: tuple) -> Feedback:
    (id_, created, question, answer, citations, as_of, version, rating, wrong, missing,
     comment, cited) = row
    return Feedback(
        id=id_, created_at=created, question=question, answer=answer,
        citations=tuple(json.loads(citations)), cited=tuple(json.loads(cited)),
        as_of=as_of or "", corpus_version=version or "", rating=rating,
        wrong=tuple(json.loads(wrong)), missing=tuple(json.loads(missing)), comment=comment,
    )
