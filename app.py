"""The Streamlit app: ask the EU AI Act, verify the citations, browse the texts.

Run with ``streamlit run app.py`` (or ``make run``) after building the index with
``python -m ingest``.  This file sets up the page, the shared sidebar and the navigation;
the pages live in ``ui/`` and the work is done by ``kb``.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from datetime import date

import streamlit as st

from kb import Assistant, IndexMissing, KbError, Settings
from kb.records import LANGUAGES
from ui import AS_OF_KEY, LANG_KEY, PAGES, get_assistant, init_session
from ui.widgets import escape_markdown

log = logging.getLogger(__name__)

BUILD_COMMAND = "python -m ingest    # or: make run"


def _configure_logging() -> None:
    level = Settings.from_env().log_level
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _warm(assistant: Assistant) -> None:
    try:
        assistant.warm_up()
    except Exception:  # the first question will report it properly
        log.exception("warm-up failed")


@st.cache_resource(show_spinner=False)
def warm_start(_assistant: Assistant) -> threading.Thread:
    """Load the model and the index once per server process, in the background, so the
    page is usable at once and the first question is as fast as the next ones."""
    thread = threading.Thread(target=_warm, args=(_assistant,), name="warm-up", daemon=True)
    thread.start()
    return thread


@asynccontextmanager
async def _lifespan(_app):
    """At server start (``streamlit run app.py`` serves :data:`app`), open the knowledge
    base and warm it up in the background, before any browser connects."""

    def start() -> None:
        try:
            warm_start(get_assistant())
        except KbError as error:  # no index yet: the first page says how to build it
            log.warning("not warmed up: %s", error)

    threading.Thread(target=start, name="open-kb", daemon=True).start()
    yield


if __name__ != "__main__":
    # Imported by `streamlit run app.py` to serve the page with a start-up hook (the page
    # itself runs this file as __main__, where main() below renders it).
    app = st.App(__file__, lifespan=_lifespan)


def _sidebar(corpus_version: str, default_as_of: str, documents: int) -> None:
    with st.sidebar:
        st.date_input(
            "Law as of", value=date.fromisoformat(default_as_of), key=AS_OF_KEY,
            min_value=date(2024, 1, 1), max_value=date(2035, 12, 31), format="YYYY-MM-DD",
            help="Answers and texts use the wording in force on this date "
                 "(amendments apply from their own dates).",
        )
        st.radio(
            "Language of the official texts", list(LANGUAGES), key=LANG_KEY, horizontal=True,
            format_func=str.upper,
            help="Ask sets it to the language of your question and answers in it; switch it "
                 "to answer the same question in another language. Browse shows each "
                 "provision's official wording in this language. Where an amendment exists in "
                 "English only, the English text in force is shown, with a note.",
        )
        st.caption(f"Corpus version `{corpus_version or 'unknown'}` · {documents} documents")
        st.caption("Quotes official texts verbatim. Not legal advice.")


def main() -> None:
    st.set_page_config(page_title="EU AI Act Assistant", page_icon=":material/gavel:",
                       layout="wide", initial_sidebar_state="expanded")
    _configure_logging()
    init_session()
    try:
        assistant = get_assistant()
    except IndexMissing as error:
        st.title("EU AI Act Assistant")
        st.info(f"The knowledge base has not been built yet. {escape_markdown(str(error))}")
        st.markdown("Build the index from `corpus/`, then reload this page:")
        st.code(BUILD_COMMAND, language="bash")
        st.stop()
    except KbError as error:
        st.title("EU AI Act Assistant")
        st.error(escape_markdown(str(error)))
        st.stop()
    warm_start(assistant)
    _sidebar(assistant.corpus_version, assistant.default_as_of(), len(assistant.library.documents))
    pages = [
        st.Page(PAGES["ask"], title="Ask", icon=":material/forum:", default=True),
        st.Page(PAGES["browse"], title="Browse", icon=":material/menu_book:"),
        st.Page(PAGES["obligations"], title="Obligations", icon=":material/checklist:"),
        st.Page(PAGES["register"], title="Register", icon=":material/assignment:"),
        st.Page(PAGES["sources"], title="Sources", icon=":material/library_books:"),
    ]
    try:
        st.navigation(pages).run()
    except KbError as error:  # the store went away mid-page: one line, the next run recovers
        st.error(escape_markdown(str(error)))


if __name__ == "__main__":
    main()
