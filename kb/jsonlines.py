"""Read JSON-lines files of records: eval questions, labelled systems, assessment examples.

In: a path (or its lines) and a function that builds one record from a decoded line; out: the
records with their line numbers.  A file that cannot be read, a line that is not JSON, or one
that lacks a field gives a one-line :class:`KbError` naming the file and the line; checks of
values (known categories, tiers) stay with the caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from kb.errors import KbError

T = TypeVar("T")


def read_lines(path: Path | str, what: str) -> list[str]:
    """The lines of ``path``, or KbError "cannot read {what} {path}: {reason}"."""
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise KbError(f"cannot read {what} {path}: {error.strerror}") from None


def parse_lines(lines: Iterable[str], build: Callable[[dict], T], *, source: str, what: str,
                hint: str = "") -> Iterator[tuple[int, T]]:
    """``(line number, build(row))`` for every non-blank line; KbError "{source}, line N: not
    {what} (why){hint}" for a line that is not JSON or that ``build`` cannot read.

    >>> list(parse_lines(['{"a": 1}', "", '{"a": 2}'], lambda row: row["a"], source="x",
    ...                  what="a record"))
    [(1, 1), (3, 2)]
    >>> list(parse_lines(['{"b": 1}'], lambda row: row["a"], source="x.jsonl", what="a record",
    ...                  hint="; see X.md"))
    Traceback (most recent call last):
    kb.errors.KbError: x.jsonl, line 1: not a record ('a'); see X.md
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = build(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise KbError(f"{source}, line {number}: not {what} ({error}){hint}") from None
        yield number, record
