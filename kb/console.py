"""What the command-line tools (``python -m kb``, ``ingest``, ``eval``) share: log set-up,
the no-op progress callback, and the ``--as-of``/``--date`` option type.

Library code never configures logging or draws progress; the CLIs do, through these.
"""

from __future__ import annotations

import logging
from datetime import date

import click

LEVELS = ("WARNING", "INFO", "DEBUG")


def no_progress(*_report: object) -> None:
    """Report nothing: the callback used when no CLI shows progress."""


def configure_logging(verbose: int, default: str = "WARNING") -> None:
    """Log to stderr at ``default`` (KB_LOG_LEVEL), or INFO/DEBUG for -v/-vv."""
    level = LEVELS[min(verbose, 2)] if verbose else default
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


verbose_option = click.option("-v", "--verbose", count=True,
                              help="-v for INFO logs, -vv for DEBUG.")


class IsoDate(click.ParamType):
    """A calendar date written YYYY-MM-DD, passed on as that ISO string."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> str:
        if isinstance(value, date):
            return value.isoformat()
        if value is None or value == "":
            return value  # no date given
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


ISO_DATE = IsoDate()
