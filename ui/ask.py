"""Ask page: a question in, an answer quoted from the official texts out, with a card per
citation, a Markdown export and a "challenge this answer" form.

The answer, its citations and the session's history live in ``st.session_state``;
feedback goes to ``kb.answers.feedback`` (SQLite beside the index).
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime

import streamlit as st

from kb import Answer, Assistant, BadQuestion, KbError
from kb.answers.export import answer_markdown, used_refs
from kb.answers.feedback import FeedbackStore, eval_record, feedback_for, split_refs
from kb.records import LANGUAGES
from ui import LANG_KEY, as_of, get_assistant, language
from ui.widgets import answer_body, citation_card, escape_markdown

EXAMPLES = (
    "Do I have to tell customers they're talking to a bot?",
    "Can we use emotion recognition on customer calls?",
    "Must AI-generated marketing images be labelled?",
    "Is AI credit scoring of customers high-risk?",
    "What does 'deployer' mean?",
)
RATINGS = {"Not rated": 0, "👍 Right": 1, "👎 Not right": -1}


def _detect(question: str) -> None:
    """Set the sidebar's language picker to the language of ``question`` (a callback, so it
    runs before the sidebar is drawn): that is the default; the user may switch it."""
    with contextlib.suppress(KbError):  # an empty or bad question: the ask reports it
        st.session_state[LANG_KEY] = get_assistant().language(question)


def _submitted() -> None:
    _detect(st.session_state.get("question", ""))


def _queue(question: str) -> None:
    """Put ``question`` in the box and ask it on this rerun (example and history buttons)."""
    st.session_state["question"] = question
    st.session_state["ask_now"] = True
    _detect(question)


def _ask(assistant: Assistant, question: str, top_k: int, day: str, lang: str) -> None:
    try:
        with st.spinner("Reading the texts… (the first question also loads the language model)"):
            answer = assistant.ask(question, top_k=top_k, as_of=day, lang=lang)
    except BadQuestion as error:
        st.warning(escape_markdown(str(error)), icon=":material/edit_note:")
        return
    except KbError as error:
        st.error(escape_markdown(str(error)))
        return
    st.session_state["answer"] = answer
    st.session_state["answer_id"] = st.session_state.get("answer_id", 0) + 1
    history = [h for h in st.session_state["history"] if h["question"] != answer.question]
    history.append({
        "question": answer.question, "as_of": answer.as_of, "abstained": answer.abstained,
        "refs": [c.ref for c in answer.citations],
    })
    st.session_state["history"] = history[-20:]


def _history() -> None:
    history = st.session_state["history"]
    if not history:
        return
    with st.sidebar:
        st.markdown("**Asked this session**")
        for i, item in enumerate(reversed(history)):
            text = item["question"]
            label = text if len(text) <= 60 else text[:57] + "…"
            st.button(escape_markdown(label), key=f"history-{i}", type="tertiary",
                      on_click=_queue, args=(text,), help="Ask again",
                      icon=":material/history:")


def _question_form() -> tuple[bool, int]:
    with st.form("ask", border=True):
        st.text_area(
            "Your question", key="question", height=90,
            placeholder="e.g. Must our chatbot tell customers it is an AI?",
        )
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        with right:
            top_k = st.slider("Passages to consult", 1, 10, 5, key="top_k",
                              help="How many passages the answer may draw on.")
        with left:
            submitted = st.form_submit_button("Ask", type="primary", icon=":material/search:",
                                              on_click=_submitted)
    st.caption("Or try one of these:")
    with st.container(horizontal=True, gap="small"):
        for i, example in enumerate(EXAMPLES):
            st.button(escape_markdown(example), key=f"example-{i}", on_click=_queue,
                      args=(example,), icon=":material/lightbulb:")
    return submitted, top_k


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "answer"


def _show_answer(answer: Answer, assistant: Assistant) -> None:
    st.divider()
    left, right = st.columns([5, 6], gap="large")
    with left:
        st.subheader(escape_markdown(answer.question), anchor="answer")
        st.caption(f"Law as of {answer.as_of} · answered in {answer.timing_ms / 1000:.1f} s · "
                   f"corpus `{assistant.corpus_version}`")
        if answer.lang != "en":
            st.caption(f"Question read as {LANGUAGES[answer.lang]}: the official "
                       f"{LANGUAGES[answer.lang]} wording is quoted where it is the law in force "
                       "(switch the language in the sidebar to answer in another).")
        if answer.abstained:
            st.warning("**The indexed texts don't cover this.** " + escape_markdown(answer.text),
                       icon=":material/block:")
            if answer.message:
                st.caption(escape_markdown(f"Why: {answer.message}"))
        else:
            if answer.message:
                st.info(escape_markdown(answer.message))
            _obligations(answer)
            with st.container(border=True):
                if answer.obligations:
                    st.caption("What the official texts say")
                st.markdown(answer_body(answer))
            st.caption("Every sentence is quoted verbatim from the official text; the number "
                       "after it points to its source, where the quoted words are in bold.")
        _actions(answer, assistant)
    with right:
        _sources(answer, assistant)


def _obligations(answer: Answer) -> None:
    """The catalogue's plain-language summaries of the obligations the question is about,
    labelled as ours, each with its citation and date (kb/obligations/obligations.yaml)."""
    if not answer.obligations:
        return
    with st.container(border=True):
        st.caption("Our summary in plain language — not the legal text; the quoted passages "
                   "below are authoritative")
        for o in answer.obligations:
            refs = escape_markdown(", ".join(o["refs"]))
            st.markdown(f"**{escape_markdown(o['title'])}** — {escape_markdown(o['summary'])} "
                        f"*({refs}; applies from {o['applies_from']}; "
                        f"{escape_markdown(', '.join(r.replace('_', ' ') for r in o['roles']))})*")


def _sources(answer: Answer, assistant: Assistant) -> None:
    answer_id = st.session_state.get("answer_id", 0)
    if answer.abstained:
        if answer.related:
            st.markdown("#### You may want to read")
            for citation in answer.related:
                citation_card(citation, assistant, as_of=answer.as_of, compact=True,
                              switch_key=f"card-lang-{answer_id}-{citation.n}")
        return
    quoted = {s.n for s in answer.sentences}
    cited = [c for c in answer.citations if c.n in quoted]
    others = [c for c in answer.citations if c.n not in quoted]
    st.markdown("#### Sources quoted in the answer")
    for citation in cited:
        sentences = [s.text for s in answer.sentences if s.n == citation.n]
        citation_card(citation, assistant, as_of=answer.as_of, quotes=sentences,
                      switch_key=f"card-lang-{answer_id}-{citation.n}")
    if others:
        st.markdown("#### Also relevant")
        for citation in others:
            citation_card(citation, assistant, as_of=answer.as_of,
                          switch_key=f"card-lang-{answer_id}-{citation.n}")


def _actions(answer: Answer, assistant: Assistant) -> None:
    markdown = answer_markdown(answer, corpus_version=assistant.corpus_version,
                               generated_at=datetime.now().astimezone())
    st.download_button(
        "Download as Markdown", data=markdown, file_name=f"{_slug(answer.question)}.md",
        mime="text/markdown", on_click="ignore", icon=":material/download:",
        help="The question, the answer and every citation with its verbatim text, "
             "ready to paste into a governance ticket.",
    )
    with st.expander("Challenge this answer", icon=":material/flag:"):
        _challenge(answer, assistant)


def _challenge(answer: Answer, assistant: Assistant) -> None:
    answer_id = st.session_state.get("answer_id", 0)
    shown = answer.related if answer.abstained else answer.citations
    with st.form(f"challenge-{answer_id}", clear_on_submit=True, border=False):
        rating = st.radio("Is this answer right?", list(RATINGS), horizontal=True,
                          key=f"rating-{answer_id}")
        wrong = st.multiselect("This citation is wrong", [c.ref for c in shown],
                               key=f"wrong-{answer_id}")
        missing = st.text_input("A citation is missing", key=f"missing-{answer_id}",
                                placeholder="e.g. Article 50(2); Recital 133")
        comment = st.text_area("Comment", key=f"comment-{answer_id}", height=80)
        sent = st.form_submit_button("Send feedback", icon=":material/send:")
    if sent:
        refs, unknown = _canonical(assistant, split_refs(missing), answer.as_of)
        if unknown:
            st.warning("Not found in the knowledge base (kept as typed): "
                       + escape_markdown(", ".join(unknown)))
        try:
            record = FeedbackStore(assistant.settings.feedback_path).add(feedback_for(
                answer, corpus_version=assistant.corpus_version, rating=RATINGS[rating],
                wrong=wrong, missing=refs, comment=comment,
            ))
        except (ValueError, OSError) as error:
            st.error(escape_markdown(f"Feedback not saved: {error}"))
            return
        st.session_state["feedback"] = (answer_id, record)
    saved = st.session_state.get("feedback")
    if saved and saved[0] == answer_id:
        record = saved[1]
        st.success(f"Thank you, recorded as #{record.id}. Maintainers see it on the Sources "
                   "page.", icon=":material/check:")
        if record.challenged:
            st.download_button(
                "Download as eval question (JSONL)", on_click="ignore",
                data=json.dumps(eval_record(record), ensure_ascii=False) + "\n",
                file_name=f"challenged-{record.id:03d}.jsonl", mime="application/jsonl",
                icon=":material/download:",
            )
    elif not answer.abstained:
        st.caption("Quoted refs: " + escape_markdown(", ".join(used_refs(answer))))


def _canonical(assistant: Assistant, refs: list[str], day: str) -> tuple[list[str], list[str]]:
    """Refs as stored ("Art. 50(2)" → "Article 50(2)"), and those not found."""
    out, unknown = [], []
    for ref in refs:
        try:
            out.append(assistant.show(ref, as_of=day).ref)
        except KbError:
            out.append(ref)
            unknown.append(ref)
    return out, unknown


def render() -> None:
    assistant = get_assistant()
    st.title("Ask the EU AI Act")
    st.markdown(
        "Ask in your own words what the AI Act, the GDPR and the Commission guidelines say "
        "about your customer-facing AI.  \nEvery answer quotes the official text word for word "
        "and links each sentence to its source, so you can check it before you act on it."
    )
    submitted, top_k = _question_form()
    asked = submitted or st.session_state.pop("ask_now", False)
    if asked:
        _ask(assistant, st.session_state.get("question", ""), top_k, as_of(), language())
    answer = st.session_state.get("answer")
    if answer is not None and not asked and answer.lang != language():
        # The sidebar's language was switched: answer the same question in that language.
        _ask(assistant, answer.question, top_k, answer.as_of, language())
    _history()
    answer = st.session_state.get("answer")
    if answer is not None:
        _show_answer(answer, assistant)


render()
