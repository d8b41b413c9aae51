"""The exceptions of the knowledge base: one base class, one line of what and what to do.

The CLIs turn a :class:`KbError` into an exit code 1 with its message; the app shows it
with ``st.error``.  Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class KbError(Exception):
    """Base class: the message says what went wrong and what to do."""


class IndexMissing(KbError):
    """No index has been built yet."""


class StoreUnavailable(KbError):
    """The vector store cannot be reached or read (a Chroma server down, a broken directory)."""


class BadSetting(KbError):
    """An environment variable has a value that cannot be used; the message names it."""


class UnknownReference(KbError):
    """A citation ref that names no provision in the knowledge base."""


class UnknownDocument(KbError):
    """A document id that is not in the manifest."""


class BadDocument(KbError):
    """A source file that cannot be read: missing, empty, corrupt, wrong encoding or format."""


class DuplicateId(KbError):
    """A document id that is already in the manifest."""


class BadQuestion(KbError):
    """A question that cannot be answered as asked: empty, too long, control characters."""


class BadAmendment(KbError):
    """An amending instruction that cannot be parsed or applied."""


class CatalogueError(KbError):
    """A data file of kb/obligations is malformed; the message names the file, entry and value."""


class UnknownChoice(BadQuestion):
    """A role, system, fact or other closed-vocabulary value that is not one of the valid ones."""


class BadInput(KbError, ValueError):
    """A typed field that is empty, too long or holds control characters; the message names
    the field and the limit.  Also a ValueError, so callers that caught those still do."""


class TokenRefused(KbError):
    """A wrong reviewer or admin token, or a check refused while the back-off delay runs."""


class UnknownSystem(KbError):
    """A register id that names no AI system."""


class BadTransition(KbError):
    """A review-workflow action that the system's status does not allow."""


class Conflict(KbError):
    """Someone else changed the record since it was read (optimistic version check)."""


class RegisterError(KbError):
    """The register file cannot be used: written by a newer version, or not a register."""
