"""Widgets shared by the pages: escaped text, the citation card, provision blocks.

Everything from the corpus or a user goes through :func:`escape_markdown` before
``st.markdown`` (or is shown with ``st.text``/``st.code``); nothing uses
``unsafe_allow_html``.  The pure helpers (``highlight``, ``answer_body``,
``table_of_contents``) are tested without a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

import streamlit as st

from kb import Assistant, Citation, KbError, Provision, Unit
from kb.answers.export import citation_line, escape_markdown, kind_label, version_note
from kb.errors import TokenRefused
from kb.records import LANGUAGES, Answer
from kb.safety import Attempts, TokenGate
from ui import PAGES

__all__ = [
    "answer_body",
    "citation_card",
    "escape_markdown",
    "highlight",
    "in_language",
    "provision_block",
    "token_entry",
]

KIND_COLORS = {
    "Regulation": "blue",
    "Amending regulation": "violet",
    "Guideline": "green",
    "GDPR": "orange",
    "FAQ": "gray",
    "Code of practice": "gray",
    "National guidance": "gray",
}
_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)


# --- pure helpers -------------------------------------------------------------------------------


def highlight(text: str, quotes: Iterable[str]) -> str:
    """``text`` as escaped Markdown with each of ``quotes`` (verbatim parts of it) in bold.

    >>> highlight("1. A *x*. B <y>.", ["B <y>."])
    '1\\\\. A \\\\*x\\\\*. **B \\\\<y\\\\>.**'
    """
    text = "\n".join(line.strip() for line in text.split("\n"))
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        quote = quote.strip()
        start = text.find(quote) if quote else -1
        if start >= 0:
            spans.append((start, start + len(quote)))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(escape_markdown(text[position:start], strip=False))
        # Bold each line of the quote on its own: emphasis cannot span a paragraph's points.
        lines = text[start:end].split("\n")
        out.append("  \n".join(f"**{escape_markdown(line)}**" if line else "" for line in lines))
        position = end
    out.append(escape_markdown(text[position:], strip=False))
    return "".join(out)


def answer_body(answer: Answer) -> str:
    """The answer as escaped Markdown, each ``[n]`` a link to citation card ``n``; one
    paragraph per run of sentences quoting the same source."""
    if not answer.sentences:
        return escape_markdown(answer.text)
    paragraphs: list[list[str]] = []
    previous = None
    for s in answer.sentences:
        if s.n != previous:
            paragraphs.append([])
            previous = s.n
        paragraphs[-1].append(f"{escape_markdown(s.text)} [\\[{s.n}\\]](#cite-{s.n})")
    return "\n\n".join(" ".join(sentences) for sentences in paragraphs)


def attempts_of(key: str) -> Attempts:
    """This session's record of token checks for the password box ``key``."""
    return st.session_state.setdefault(f"{key}-attempts", Attempts())


def token_entry(label: str, *, key: str, token: str, name: str, refused: str,
                help: str | None = None) -> str | None:
    """A password box checked by :class:`kb.safety.TokenGate` (constant time; a growing
    delay after 5 wrong tokens in this session): the token when it is right, else None
    with the reason shown (``refused`` for a wrong one)."""
    entered = st.text_input(label, type="password", key=key, help=help)
    if not entered:
        return None
    try:
        ok = TokenGate(token, name=name).check(entered, attempts_of(key))
    except TokenRefused as error:
        message = str(error)
        st.error(escape_markdown(f"{message[:1].upper()}{message[1:]}."))
        return None
    if not ok:
        st.error(escape_markdown(refused))
        return None
    return entered


def safe_url(url: str) -> str:
    """``url`` if it is an http(s) link, else "" (no ``javascript:`` links from a manifest)."""
    return url if _SAFE_URL.match(url or "") else ""


# --- rendering -----------------------------------------------------------------------------


def badge_markdown(doc_kind: str, *, cite_as: str = "") -> str:
    """A coloured badge naming the kind of document, as Markdown for a caption or heading.

    >>> badge_markdown("regulation", cite_as="GDPR")
    ':orange-badge[GDPR]'
    """
    label = kind_label(doc_kind, cite_as=cite_as)
    return f":{KIND_COLORS.get(label, 'gray')}-badge[{escape_markdown(label)}]"


def provision_block(p: Provision, *, heading: bool = True, quotes: Iterable[str] = ()) -> None:
    """A provision's ref (bold), title and verbatim text as escaped Markdown."""
    head = f"**{escape_markdown(p.ref)}**" if heading else ""
    if heading and p.title and p.unit is not Unit.SECTION:
        head += f" — {escape_markdown(p.title)}"
    if heading and p.term:
        head += f" (‘{escape_markdown(p.term)}’)"
    body = highlight(p.text, quotes)
    st.markdown(f"{head}  \n{body}" if head else body)


def browse_link(ref: str, label: str = "Open in Browse") -> None:
    """A link to the Browse page showing ``ref`` (``label`` is Markdown)."""
    st.page_link(PAGES["browse"], label=label, icon=":material/menu_book:",
                 query_params={"ref": ref})


def in_language(citation: Citation, assistant: Assistant, lang: str, as_of: str) -> Citation:
    """``citation`` with its text in ``lang``: the official wording there where it is the law
    in force on ``as_of``, else the English text and a note saying why."""
    if lang == citation.lang and not citation.note:
        return citation
    try:
        rendition = assistant.translation(citation.ref, lang, as_of=as_of)
    except KbError:
        return citation
    if rendition.provision.lang == citation.lang and rendition.note == citation.note:
        return citation
    shown = assistant.citation(rendition.provision, n=citation.n, score=citation.score)
    return replace(shown, note=rendition.note)


def citation_card(citation: Citation, assistant: Assistant, *, as_of: str,
                  quotes: Iterable[str] = (), compact: bool = False,
                  switch_key: str | None = None) -> None:
    """One citation: ref, document, kind, version, verbatim passage (quoted sentences in
    bold), link, a line to copy, and (unless ``compact``) its article, recitals,
    definitions and cross-references.  With ``switch_key`` the card has its own language
    switch (EN / DE / FR) showing the official wording in that language."""
    library = assistant.library
    doc = library.documents.get(citation.doc_id)
    with st.container(border=True):
        anchor = f"cite-{citation.n}" if not compact else False
        title = f"[{citation.n}] {citation.ref}" if not compact else citation.ref
        st.subheader(escape_markdown(title), anchor=anchor)
        if switch_key:
            codes = list(LANGUAGES)
            chosen = st.radio("Text language", codes, key=switch_key, horizontal=True,
                              index=codes.index(citation.lang) if citation.lang in codes else 0,
                              format_func=str.upper, label_visibility="collapsed",
                              help="Show this passage's official wording in another language.")
            shown = in_language(citation, assistant, chosen or citation.lang, as_of)
            if shown.lang != citation.lang:
                quotes = ()  # the answer quoted the other language's sentences
            citation = shown
        caption = citation.doc_title
        if citation.title and citation.unit is not Unit.SECTION:
            caption += f" · {citation.title}"
        if citation.page:
            caption += f" · page {citation.page}"
        st.caption(f"{badge_markdown(citation.doc_kind, cite_as=doc.cite_as if doc else '')} "
                   f"{escape_markdown(caption)}")
        _version_info(citation, assistant)
        if citation.note:
            st.info(escape_markdown(citation.note), icon=":material/translate:")
        st.markdown(highlight(citation.text, quotes))
        st.code(citation_line(citation), language=None, wrap_lines=True)
        with st.container(horizontal=True, gap="small"):
            url = safe_url(citation.url)
            if url:
                st.link_button("Official text", url, icon=":material/open_in_new:")
            browse_link(citation.ref)
        if not compact:
            _context(citation, assistant, as_of)


def _version_info(citation: Citation, assistant: Assistant) -> None:
    note = version_note(citation)
    if note:
        st.caption(escape_markdown(note))
    ref, versions = _history(assistant.library, citation.ref)
    if len(versions) <= 1:
        return
    label = "Other versions" if ref == citation.ref else f"Other versions of {ref}"
    with st.popover(escape_markdown(label), icon=":material/history:"):
        for p in versions:
            if ref == citation.ref and p.valid_from == citation.valid_from:
                continue
            st.markdown(f"**{escape_markdown(version_label(p))}**")
            if p.deleted:
                st.caption("Deleted by this amendment.")
            else:
                st.markdown(escape_markdown(p.text))


def _history(library, ref: str) -> tuple[str, list[Provision]]:
    """The versions of ``ref``, or of the nearest enclosing provision that has several
    (an amendment that replaced a whole article gives its new paragraphs one version)."""
    current = ref
    while True:
        versions = library.versions(current)
        if len(versions) > 1 or not versions or not versions[-1].parent:
            return current, versions if len(versions) > 1 else library.versions(ref)
        current = versions[-1].parent


def version_label(p: Provision) -> str:
    """ "Original text, until 2026-07-27" / "As amended by ..., from ...".

    >>> version_label(Provision("d", "Article 4", Unit.ARTICLE, "x", valid_until="2026-07-27"))
    'Original text, until 2026-07-27'
    """
    if p.valid_from:
        label = f"As amended by {p.version_source or 'an amending act'}, from {p.valid_from}"
    else:
        label = "Original text"
    return label + (f", until {p.valid_until}" if p.valid_until else "")


def _context(citation: Citation, assistant: Assistant, as_of: str) -> None:
    library = assistant.library
    try:
        p = assistant.show(citation.ref, as_of=as_of)
    except KbError:
        return
    article = library.article(p, as_of)
    if article is not None and article.ref != p.ref:
        if citation.lang != "en":  # the whole article in the language of the passage
            article = library.translation(article.ref, citation.lang, as_of).provision
        with st.expander(f"Whole {_unit_word(article)}: {article.ref}",
                         icon=":material/article:"):
            provision_block(article, quotes=[citation.text])
    sections = [
        ("Related recitals", library.related_recitals(p, as_of), ":material/notes:"),
        ("Definitions used", library.terms_used(p, as_of), ":material/dictionary:"),
        ("Cross-references", library.cross_references(p, as_of), ":material/link:"),
    ]
    for label, provisions, icon in sections:
        if provisions:
            with st.expander(f"{label} ({len(provisions)})", icon=icon):
                for q in provisions:
                    provision_block(q)


def _unit_word(p: Provision) -> str:
    return {Unit.ANNEX: "annex", Unit.SECTION: "section"}.get(p.unit, "article")
