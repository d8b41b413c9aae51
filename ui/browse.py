"""Browse page: a document's table of contents and one provision at a time, with its
versions, cross-references, definitions, recitals and the answers that cite it.

Deep links: ``?ref=Article 50(1)`` opens a provision (the citation cards link here).
The open ref lives in ``st.session_state["browse_ref"]`` and is mirrored in the URL.  The
provision's text is shown in the sidebar's language where that wording is in force.
"""

from __future__ import annotations

import streamlit as st

from kb import Assistant, KbError, Provision, Unit
from kb.answers.export import citation_line
from kb.answers.feedback import FeedbackStore
from kb.law.library import Library
from kb.law.refs import local_label
from ui import as_of, get_assistant, language
from ui.widgets import (
    badge_markdown,
    escape_markdown,
    provision_block,
    safe_url,
    version_label,
)


def _open(ref: str) -> None:
    st.session_state["browse_ref"] = ref
    st.query_params["ref"] = ref


def _jumped() -> None:
    ref = st.session_state.get("browse_jump")
    if ref:
        _open(ref)


def _document_changed() -> None:
    st.session_state["browse_doc_id"] = st.session_state["browse_doc"]
    st.session_state["browse_ref"] = ""
    st.query_params.pop("ref", None)


def _find(assistant: Assistant, ref: str, day: str) -> Provision | None:
    """The provision ``ref`` names on ``day``, else its latest version, else None."""
    versions = assistant.library.versions(ref)
    if versions:
        return assistant.library.version(ref, day) or versions[-1]
    try:
        return assistant.show(ref, as_of=day)  # "Art. 50(1)" typed into the URL
    except KbError:
        return None


def _ancestors(library: Library, ref: str) -> list[str]:
    """``ref`` and the refs that contain it ("Article 50(1)" → "Article 50")."""
    chain = [ref]
    versions = library.versions(ref)
    while versions and versions[-1].parent and versions[-1].parent not in chain:
        chain.append(versions[-1].parent)
        versions = library.versions(chain[-1])
    return chain


def _button(ref: str, label: str, *, key: str) -> None:
    st.button(escape_markdown(label), key=key, type="tertiary", on_click=_open, args=(ref,))


def _contents(assistant: Assistant, doc_id: str, day: str, current: Provision | None) -> None:
    library = assistant.library
    provisions = library.in_force(doc_id, day)
    doc = library.documents[doc_id]
    refs = [p.ref for p in provisions]
    if current is not None and current.ref in refs:
        st.session_state["browse_jump"] = current.ref
    else:
        st.session_state["browse_jump"] = None
    st.selectbox(
        "Go to provision", refs, index=None, key="browse_jump", on_change=_jumped,
        placeholder="Type a ref, e.g. Article 50(1)",
        format_func=lambda ref: local_label(ref, doc),
    )
    top = (library.article(current, day) or current).ref if current is not None else ""
    st.markdown("**Contents**")
    for group in library.table_of_contents(doc.id, day):
        with st.expander(escape_markdown(group.title), expanded=top in group.refs()):
            for ref, label in group.entries:
                _button(ref, label, key=f"toc-{ref}")
            for sub in group.groups:
                st.markdown(f"*{escape_markdown(sub.title)}*")
                for ref, label in sub.entries:
                    _button(ref, label, key=f"toc-{ref}")


def _in_language(assistant: Assistant, p: Provision, day: str, lang: str
                 ) -> tuple[Provision, str]:
    """The wording of ``p`` to show in ``lang`` and a note when it is not in ``lang``."""
    if lang == p.lang:
        return p, ""
    in_force = assistant.library.version(p.ref, day)
    if in_force is None or in_force.valid_from != p.valid_from:
        # A wording not in force on ``day`` (shown for its history) is the English one.
        return p, "Older and later wordings are shown in English."
    rendition = assistant.library.translation(p.ref, lang, day)
    return rendition.provision, rendition.note


def _view(assistant: Assistant, p: Provision, day: str) -> None:
    library = assistant.library
    shown, note = _in_language(assistant, p, day, language())
    doc = library.documents.get(p.doc_id)
    if shown.lang != "en":
        doc = library.language_version(p.doc_id, shown.lang) or doc
    st.subheader(escape_markdown(p.ref), anchor=False)
    caption = doc.title if doc else p.doc_id
    if shown.title and p.unit is not Unit.SECTION:
        caption += f" · {shown.title}"
    if p.page:
        caption += f" · page {p.page}"
    badge = badge_markdown(doc.kind.value if doc else "", cite_as=doc.cite_as if doc else "")
    st.caption(f"{badge} {escape_markdown(caption)}")
    in_force = library.version(p.ref, day)
    if in_force is None or in_force.valid_from != p.valid_from:
        st.info(f"This wording is not in force on {day}. " + escape_markdown(version_label(p)))
    elif p.valid_from:
        st.caption(escape_markdown(version_label(p)))
    if p.deleted:
        st.warning("Deleted by an amendment; shown for its history.")
    if p.parent:
        _button(p.parent, f"↑ Part of {p.parent}", key="up")
    if note:
        st.info(escape_markdown(note))
    if shown.intro:
        st.caption(escape_markdown(shown.intro))
    with st.container(border=True):
        provision_block(shown, heading=False)
    st.code(citation_line(assistant.citation(shown)), language=None, wrap_lines=True)
    url = safe_url(shown.url)
    if url:
        st.link_button("Official text", url, icon=":material/open_in_new:")
    children = library.children(p.ref, day)
    if children:
        st.markdown("**Paragraphs and points**")
        for child in children:
            short = child.text if len(child.text) <= 90 else child.text[:87] + "…"
            _button(child.ref, f"{local_label(child.ref, doc)} — {short}", key=f"child-{child.ref}")
    _related(assistant, p, day)


def _related(assistant: Assistant, p: Provision, day: str) -> None:
    library = assistant.library
    versions = library.versions(p.ref)
    cross = library.cross_references(p, day)
    terms = library.terms_used(p, day)
    recitals = library.related_recitals(p, day)
    tabs = st.tabs([
        f"Versions ({len(versions)})", f"Cross-references ({len(cross)})",
        f"Definitions used ({len(terms)})", f"Related recitals ({len(recitals)})",
        "Answers citing it",
    ])
    with tabs[0]:
        for version in versions:
            st.markdown(f"**{escape_markdown(version_label(version))}**")
            if version.deleted:
                st.caption("Deleted.")
            elif version.valid_from != p.valid_from:
                st.markdown(escape_markdown(version.text))
            else:
                st.caption("The wording shown above.")
    for tab, provisions, key in ((tabs[1], cross, "xref"), (tabs[2], terms, "term"),
                                 (tabs[3], recitals, "recital")):
        with tab:
            if not provisions:
                st.caption("None.")
            for q in provisions:
                provision_block(q)
                _button(q.ref, f"Open {q.ref}", key=f"{key}-{q.ref}")
    with tabs[4]:
        _citing(assistant, p)


def _citing(assistant: Assistant, p: Provision) -> None:
    library = assistant.library

    def cites(refs) -> bool:
        return any(p.ref in _ancestors(library, ref) for ref in refs)

    asked = [h for h in st.session_state.get("history", []) if cites(h["refs"])]
    try:
        records = FeedbackStore(assistant.settings.feedback_path).all()
    except OSError:
        records = []
    challenged = [r for r in records
                  if cites([c.get("ref", "") for c in r.citations] + list(r.missing))]
    if not asked and not challenged:
        st.caption("No answer in this session or in the feedback cites it yet.")
    if asked:
        st.markdown("**Asked this session**")
        for item in asked:
            st.markdown("- " + escape_markdown(f"{item['question']} (law as of {item['as_of']})"))
    if challenged:
        st.markdown("**In feedback**")
        for r in challenged:
            verdict = {1: "👍", -1: "👎"}.get(r.rating, "")
            st.markdown("- " + escape_markdown(f"#{r.id} {r.question} ({r.created_at[:10]})")
                        + f" {verdict}")


def render() -> None:
    assistant = get_assistant()
    library = assistant.library
    day = as_of()
    st.title("Browse the texts")
    st.caption(f"The wording in force on {day}; change the date in the sidebar.")
    wanted = st.query_params.get("ref", "")
    if wanted and wanted != st.session_state.get("browse_ref"):
        st.session_state["browse_ref"] = wanted
    ref = st.session_state.get("browse_ref", "")
    current = _find(assistant, ref, day) if ref else None
    if ref and current is None:
        st.warning(escape_markdown(f"No provision {ref!r} in the knowledge base."))
    documents = list(library.documents)
    if not documents:
        st.info("The knowledge base has no documents.")
        return
    doc_id = current.doc_id if current else st.session_state.get("browse_doc_id", documents[0])
    if doc_id not in documents:
        doc_id = documents[0]
    st.session_state["browse_doc_id"] = doc_id
    st.session_state["browse_doc"] = doc_id
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.selectbox("Document", documents, index=None, key="browse_doc",
                     on_change=_document_changed,
                     format_func=lambda i: library.documents[i].title)
        _contents(assistant, doc_id, day, current)
    with right:
        if current is None:
            st.info("Pick a provision from the contents, or type its ref in “Go to provision”.")
        else:
            if current.ref != wanted:
                st.query_params["ref"] = current.ref
            _view(assistant, current, day)


render()
