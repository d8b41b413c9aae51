"""What the HTTP API and the MCP server share: one Assistant per process and its JSON shapes.

:class:`AssistantHolder` opens the index and warms the model once, and while the index is
missing retries on each request, so a server started before ``python -m ingest`` comes up
without a restart.  The ``*_json`` functions build the documented shapes from the
Assistant's records; they decide nothing.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import os
import sys
import threading

from kb import records
from kb.assistant import WARM_UP_QUESTION, Assistant
from kb.config import Settings
from kb.errors import KbError
from kb.records import Document, Provision

log = logging.getLogger(__name__)


class AssistantHolder:
    """The one :class:`Assistant` a server shares across threads (it is read-only)."""

    def __init__(self, settings: Settings, *, assistant: Assistant | None = None):
        self.settings = settings
        self._assistant = assistant
        self._error: KbError | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._assistant is not None

    @property
    def error(self) -> str:
        """Why the index could not be opened ("" once it is loaded)."""
        return "" if self._assistant is not None else str(self._error or "not loaded yet")

    def load(self) -> None:
        """Open the index and warm the model; remember a :class:`KbError` instead of raising."""
        try:
            self.get()
        except KbError as error:
            log.warning("knowledge base not available: %s", error)

    def get(self) -> Assistant:
        """The loaded Assistant; raises the :class:`KbError` that keeps it from opening."""
        assistant = self._assistant
        if assistant is not None:
            return assistant
        with self._lock:
            if self._assistant is None:
                try:
                    opened = Assistant.open(self.settings)
                    # The question the app warms up with; the assessment combiner is left
                    # to the first /assess, so the first answer comes sooner after start.
                    opened.ask(WARM_UP_QUESTION)
                except KbError as error:
                    self._error = error
                    raise
                self._assistant, self._error = opened, None
                log.info("knowledge base loaded: corpus version %s", opened.corpus_version)
            return self._assistant


def passive_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spin, in a server process (call before torch
    is imported; an explicit OMP_WAIT_POLICY wins).

    torch's OpenMP workers spin after each forward pass.  In a server, where each request
    embeds on a pool thread, that spinning took the cores from the next request: on this
    2-core machine sequential /ask calls ran 3-5 answers/s instead of 20 until a burst of
    concurrent requests made OpenMP throttle its spinning (measured with ``python -m eval.bench
    api`` while other processes also used the machine).
    """
    if "torch" in sys.modules:
        log.warning("torch is already imported; OMP_WAIT_POLICY can no longer be set")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def provision_json(assistant: Assistant, p: Provision, note: str = "") -> dict:
    """A provision in the shape of ``python -m kb show --json`` (``note`` only when set)."""
    return records.provision_json(assistant.citation(p), p, note)


def shown_json(assistant: Assistant, ref: str, as_of: str | None, lang: str | None) -> dict:
    """The provision ``ref`` names as in force on ``as_of``; with ``lang``, its official
    wording in that language or the English text and the note saying why."""
    if not lang:
        return provision_json(assistant, assistant.show(ref, as_of=as_of))
    rendition = assistant.translation(ref, lang, as_of=as_of)
    return provision_json(assistant, rendition.provision, rendition.note)


def document_json(doc: Document) -> dict:
    """A manifest entry as JSON (``kind`` as its string value)."""
    data = dataclasses.asdict(doc)
    data["kind"] = doc.kind.value
    data.pop("file")
    data.pop("parser")
    return data


def verification_json(assistant: Assistant, ref: str, quote: str,
                      lang: str | None = None) -> dict:
    """``Assistant.verify`` (in ``lang`` only, if given) plus the official wording of ``ref``
    in force on the default date, in ``lang`` where there is one (null when ``ref`` is not a
    canonical ref in force then)."""
    result = assistant.verify(ref, quote, lang)
    try:
        official = assistant.show(ref, as_of=assistant.default_as_of(), lang=lang)
    except KbError:
        official = None
    if official is not None and official.ref != ref:  # show() also reads "Art. 50 (1)"
        official = None
    return {"ok": result.ok, "reason": result.reason, "ref": result.ref,
            "official_text": official.text if official else None,
            "url": official.url if official else None,
            "lang": official.lang if official else None}


def token_ok(given: bytes, expected: str) -> bool:
    """Whether the bearer token bytes of a request match ``expected`` (KB_API_TOKEN, as
    UTF-8), in constant time; any token passes when none is set."""
    return not expected or hmac.compare_digest(given, expected.encode("utf-8"))


def one_line(message: object) -> str:
    """An error message on one line, for clients.

    >>> one_line("No index in data.\\n  Build it with: python -m ingest")
    'No index in data. Build it with: python -m ingest'
    """
    return " ".join(str(message).split())
