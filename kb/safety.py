"""Defences shared by every interface: safe CSV cells, limits on typed fields, token checks.

``csv_cell``/``csv_text`` neutralise spreadsheet formulas in every CSV export (feedback,
checklists, the register); ``check_field`` gives one-line errors naming a field and its
limit; ``TokenGate`` compares admin and reviewer tokens in constant time and slows down
guessing.  Callers own the records and the session state; this module only checks.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kb.errors import BadInput, TokenRefused

log = logging.getLogger(__name__)

# OWASP "CSV Injection": a cell starting with one of these is read as a formula by Excel,
# LibreOffice and Google Sheets; a leading apostrophe makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def csv_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet evaluates.

    >>> csv_cell("=1+1"), csv_cell("-2+3"), csv_cell("Article 50(1)"), csv_cell(None)
    ("'=1+1", "'-2+3", 'Article 50(1)', '')
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV of a header and rows, every cell through :func:`csv_cell`.

    Lines end in CRLF (RFC 4180): the csv module then quotes every cell holding a CR or an
    LF, so a value such as ``"x\\r=1+1"`` stays one cell instead of starting a new row
    with a formula.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


def control_character(text: str, *, multiline: bool = True) -> str:
    """The first control character of ``text`` as "U+000B", or "" when there is none; tabs
    and line breaks count only when not ``multiline``.

    >>> control_character("a\\x0bb"), control_character("a\\nb")
    ('U+000B', '')
    >>> control_character("a\\tb", multiline=False)
    'U+0009'
    """
    bad = (_CONTROL if multiline else _CONTROL_ONE_LINE).search(text)
    return f"U+{ord(bad.group(0)):04X}" if bad else ""


def check_field(name: str, value: object, limit: int, *, required: bool = False,
                multiline: bool = False) -> str:
    """``value`` stripped, or BadInput naming ``name``: not text, empty when required,
    control characters (newlines and tabs allowed when ``multiline``), over ``limit``.

    >>> check_field("name", "  Claims bot ", 200)
    'Claims bot'
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadInput(f"{name} must be text, got {type(value).__name__}")
    text = value.replace("\r\n", "\n").strip()
    bad = control_character(text, multiline=multiline)
    if bad:
        raise BadInput(f"{name} contains a control character ({bad}); remove it")
    if required and not text:
        raise BadInput(f"{name} must not be empty")
    if len(text) > limit:
        raise BadInput(f"{name} is {len(text):,} characters long; the limit is {limit:,}")
    return text


# --- tokens ---------------------------------------------------------------------------------

FREE_ATTEMPTS = 5  # wrong tokens a session may try before the delay starts
FIRST_DELAY = 2.0  # seconds before the check after the 5th wrong token; doubles each time
MAX_DELAY = 300.0


@dataclass(slots=True)
class Attempts:
    """One session's record of token checks (kept in the caller's session state)."""

    failures: int = 0
    locked_until: float = 0.0  # clock value before which no token is checked
    last: bytes = b""  # digest of the last value checked, so a re-run does not count twice
    last_ok: bool = False


class TokenGate:
    """Checks a configured token in constant time; after :data:`FREE_ATTEMPTS` wrong tokens
    in a session, each further check waits for a delay that doubles (2 s, 4 s, … 5 min).

    Failed attempts are logged with their count, never with the token typed.  ``clock`` is
    injectable so tests need no sleeping.
    """

    def __init__(self, token: str, *, name: str = "token",
                 clock: Callable[[], float] = time.monotonic,
                 free_attempts: int = FREE_ATTEMPTS, first_delay: float = FIRST_DELAY,
                 max_delay: float = MAX_DELAY):
        self._token = token.encode()
        self._salt = hashlib.sha256(self._token).digest()
        self.name = name
        self.clock = clock
        self.free_attempts = free_attempts
        self.first_delay = first_delay
        self.max_delay = max_delay

    @property
    def configured(self) -> bool:
        return bool(self._token)

    def delay_after(self, failures: int) -> float:
        """Seconds to wait after ``failures`` wrong tokens (0 while they are free)."""
        if failures < self.free_attempts:
            return 0.0
        return min(self.max_delay, self.first_delay * 2 ** (failures - self.free_attempts))

    def wait_left(self, attempts: Attempts) -> float:
        return max(0.0, attempts.locked_until - self.clock())

    def check(self, entered: str, attempts: Attempts) -> bool:
        """Whether ``entered`` is the token.  A value already checked returns its result
        again without counting; while a delay runs, TokenRefused says how long to wait."""
        if not self._token:
            raise TokenRefused(f"no {self.name} is configured")
        digest = hashlib.sha256(self._salt + entered.encode()).digest()
        if attempts.last and hmac.compare_digest(digest, attempts.last):
            return attempts.last_ok
        left = self.wait_left(attempts)
        if left > 0:
            raise TokenRefused(f"too many wrong {self.name}s in this session; try again in "
                               f"{left:.0f} s")
        ok = hmac.compare_digest(entered.encode(), self._token)
        attempts.last, attempts.last_ok = digest, ok
        if ok:
            attempts.failures, attempts.locked_until = 0, 0.0
            return True
        attempts.failures += 1
        attempts.locked_until = self.clock() + self.delay_after(attempts.failures)
        log.warning("wrong %s entered (%d wrong in this session)", self.name, attempts.failures)
        return False
