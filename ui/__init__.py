"""The Streamlit app's pages (``ask``, ``browse``, ``sources``, ``obligations``) and shared state.

``get_assistant`` is the one cached, read-only :class:`kb.Assistant` shared by every session;
admin actions that change the index call ``get_assistant.clear()``.  Pages render; the
knowledge base does the work.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from kb import Assistant, Settings
from kb.records import LANGUAGES

AS_OF_KEY = "as_of_date"
LANG_KEY = "language"  # the sidebar's language picker: "en", "de" or "fr"
PAGES = {
    "ask": "ui/ask.py",
    "browse": "ui/browse.py",
    "sources": "ui/sources.py",
    "obligations": "ui/obligations.py",
}


@st.cache_resource(show_spinner="Opening the knowledge base…")
def get_assistant() -> Assistant:
    """The knowledge base of ``Settings.from_env()``; shared by all sessions, read-only."""
    return Assistant.open(Settings.from_env())


def init_session() -> None:
    """Session defaults, set once per browser session."""
    defaults = {"history": [], "answer": None, "browse_ref": "", LANG_KEY: "en"}
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def language() -> str:
    """The language chosen in the sidebar for the official texts ("en" by default)."""
    chosen = st.session_state.get(LANG_KEY)
    return chosen if chosen in LANGUAGES else "en"


def as_of() -> str:
    """The "law as of" date chosen in the sidebar, ISO (today before the sidebar exists)."""
    chosen = st.session_state.get(AS_OF_KEY)
    return chosen.isoformat() if isinstance(chosen, date) else date.today().isoformat()
