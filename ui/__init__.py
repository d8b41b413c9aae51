"""The Streamlit app's pages (``ask``, ``browse``, ``sources``, ``obligations``, ``register``)
and shared state.

``get_assistant`` is the one cached, read-only :class:`kb.Assistant` shared by every session;
admin actions that change the index call ``get_assistant.clear()``.  Plain data a page
looks up once (the catalogue's fact questions) is ``st.cache_data``.  Pages render; the
knowledge base does the work.
"""

from __future__ import annotations

from datetime import date

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from kb import Assistant, Settings
from kb.records import LANGUAGES
from kb.register import Register

AS_OF_KEY = "as_of_date"
LANG_KEY = "language"  # the sidebar's language picker: "en", "de" or "fr"
PAGES = {
    "ask": "ui/ask.py",
    "browse": "ui/browse.py",
    "sources": "ui/sources.py",
    "obligations": "ui/obligations.py",
    "register": "ui/register.py",
}


@st.cache_resource(show_spinner="Opening the knowledge base…")
def get_assistant() -> Assistant:
    """The knowledge base of ``Settings.from_env()``; shared by all sessions, read-only."""
    return Assistant.open(Settings.from_env())


def setting_or_secret(value: str, secret: str) -> str:
    """``value`` (a setting from the environment) if set, else the Streamlit secret named
    ``secret``; "" when neither is."""
    if value:
        return value
    try:
        return str(st.secrets.get(secret, "") or "")
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return ""


def reviewer_token(settings: Settings) -> str:
    """The register's reviewer token: ``KB_REVIEWER_TOKEN``, else ``reviewer_token`` in
    Streamlit secrets ("" disables reviewer actions)."""
    return setting_or_secret(settings.reviewer_token, "reviewer_token")


def open_register() -> Register:
    """The AI system register beside the index, assessing with the shared assistant (cheap:
    each call opens its own short SQLite connections)."""
    assistant = get_assistant()
    settings = assistant.settings.with_(reviewer_token=reviewer_token(assistant.settings))
    return Register.open(settings, assistant=assistant)


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
