"""EU AI Act knowledge base: grounded answers with pinpoint citations.

    from kb import Assistant
    assistant = Assistant.open()
    answer = assistant.ask("Must our chatbot tell customers it is an AI?")
"""

from kb.assistant import Assistant, Verification
from kb.config import Settings
from kb.errors import (
    BadDocument,
    BadQuestion,
    DuplicateId,
    IndexMissing,
    KbError,
    UnknownDocument,
    UnknownReference,
)
from kb.law.library import Rendition
from kb.obligations.assess import Assessment
from kb.records import Answer, Citation, Document, Kind, Provision, Unit
from kb.register import Register

__all__ = [
    "Answer",
    "Assessment",
    "Assistant",
    "BadDocument",
    "BadQuestion",
    "Citation",
    "Document",
    "DuplicateId",
    "IndexMissing",
    "KbError",
    "Kind",
    "Provision",
    "Register",
    "Rendition",
    "Settings",
    "Unit",
    "UnknownDocument",
    "UnknownReference",
    "Verification",
]
