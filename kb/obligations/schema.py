"""Pydantic validation of the obligations data files, with one-line errors.

In: parsed YAML and a pydantic model; out: the validated model, or a
:class:`kb.errors.CatalogueError` that names the file, the entry and the bad value.
The models themselves live next to the code that reads each file.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kb.errors import CatalogueError

M = TypeVar("M", bound=BaseModel)

# Dates belong to kb/law/dates.py; a date in the data text would silently go stale.
DATE_IN_TEXT = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b(?:19|20)\d{2}\b|\b\d{1,2} (?:January|February|March|April|May|"
    r"June|July|August|September|October|November|December)\b"
)


def check_no_date(text: str) -> str:
    """``text`` unchanged, or ValueError naming the date written in it."""
    found = DATE_IN_TEXT.search(text)
    if found:
        raise ValueError(f"date {found.group()!r} in text; dates come from kb.law.dates")
    return text


def one_line(value: object) -> str:
    """Non-empty text with its whitespace collapsed (YAML folded scalars)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be non-empty text, got {value!r}")
    return " ".join(value.split())


def validate(model: type[M], data: object, *, source: str, where: str,
             context: dict | None = None) -> M:
    """``model`` validated from ``data``; CatalogueError "<source>: <where>: <field>: <why>"."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise CatalogueError(f"{source}: {where}: {describe(exc)}") from None


def describe(exc: ValidationError) -> str:
    """The first error of ``exc`` in one line: the field, the reason, the bad value."""
    error = exc.errors()[0]
    loc = ".".join(str(part) for part in error["loc"])
    msg = error["msg"].removeprefix("Value error, ")
    bad = error.get("input")
    shown = "" if repr(bad) in msg or isinstance(bad, dict) else f" (got {bad!r})"
    return f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}"
