""""Describe your system" on the Obligations page: a description in, the assessment out.

Renders ``Assistant.assess``: tier badge, our summary (labelled as ours), the reasons with
their provisions quoted verbatim and linked, the exceptions considered, the open deciding
facts as Yes/No toggles that re-run the assessment, the dated checklist and timeline, and a
Markdown export with the corpus version and as-of date.  The predefined CX systems of the
scenario finder are one-click examples.
"""

from __future__ import annotations

import streamlit as st

from kb import Assistant, KbError
from kb.obligations.assess import Assessment, summary, tier_label, to_markdown
from kb.obligations.catalogue import ROLES
from kb.obligations.scenario import SYSTEMS
from kb.register import Use
from ui import PAGES, open_register
from ui.widgets import browse_link, escape_markdown

DETECT = "(detect from the description)"
ANSWERS = ("Yes", "No")
TEXT_KEY, ROLE_KEY, FACT_PREFIX = "as_text", "as_role", "as-fact-"
BADGE_COLORS = {"prohibited": "red", "high_risk": "orange", "limited": "blue",
                "minimal": "green", "unclear": "gray"}


def _role_label(role: str) -> str:
    return role if role == DETECT else role.replace("_", " ").replace("gpai", "GPAI").capitalize()


def _use_example(key: str) -> None:
    st.session_state[TEXT_KEY] = SYSTEMS[key].example
    for name in [k for k in st.session_state if str(k).startswith(FACT_PREFIX)]:
        del st.session_state[name]


def _examples() -> None:
    st.caption("One-click examples (the predefined CX systems):")
    with st.container(horizontal=True, gap="small"):
        for key, system in SYSTEMS.items():
            if system.example and key != "other":
                st.button(system.label, key=f"as-example-{key}", on_click=_use_example,
                          args=(key,), type="tertiary")


def _facts() -> dict[str, bool]:
    facts = {}
    for name, value in st.session_state.items():
        if str(name).startswith(FACT_PREFIX) and value in ANSWERS:
            facts[str(name).removeprefix(FACT_PREFIX)] = value == "Yes"
    return facts


def _verdict(a: Assessment) -> None:
    with st.container(horizontal=True, gap="small"):
        for tier in a.tiers:
            st.badge(tier_label(tier), color=BADGE_COLORS.get(tier, "gray"),
                     icon=":material/gavel:" if tier == a.risk_level else None)
        who = _role_label(a.role) + (" (assumed from the description)" if a.role_assumed
                                     else "")
        st.badge(f"Role: {who}", color="gray")
    st.info("**Our summary** (plain language, not the legal text): "
            + escape_markdown(summary(a.to_dict())), icon=":material/info:")


def _reasons(a: Assessment) -> None:
    st.markdown("#### Why: the provisions that decide")
    if not a.reasons:
        st.caption("No provision of Article 5, Article 6 with Annexes I and III, or Article 50 "
                   "matched the description: no specific duties beyond AI literacy "
                   "(Article 4).")
    for r in a.reasons:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(r.ref)}** — {escape_markdown(r.why)}")
            st.markdown("\n".join("> " + escape_markdown(line) for line in r.text.splitlines()))
            if r.matched:
                st.caption("Matched in your description: "
                           + escape_markdown(", ".join(r.matched)))
            browse_link(r.ref, label=escape_markdown(f"Open {r.ref}"))


def _considered(a: Assessment) -> None:
    if not a.exceptions_considered:
        return
    with st.expander(f"Exceptions considered ({len(a.exceptions_considered)})", expanded=True):
        for c in a.exceptions_considered:
            st.markdown(f"- **{escape_markdown(c.ref)}**: {escape_markdown(c.why)}")


def _questions(a: Assessment, given: dict[str, bool]) -> None:
    open_keys = [q for q in a.questions]
    if not open_keys and not given:
        return
    st.markdown("#### Questions that decide the verdict")
    st.caption("Answer what you know; the verdict updates. Unanswered facts are read from "
               "your description where it says so, otherwise assumed as stated.")
    shown = {q.key: q.text for q in a.questions}
    for key in given:
        shown.setdefault(key, key.replace("_", " ").capitalize() + "?")
    for key, text in shown.items():
        st.segmented_control(escape_markdown(text), ANSWERS, key=FACT_PREFIX + key)


def _checklist(a: Assessment) -> None:
    st.markdown(f"#### Checklist for a {_role_label(a.role).lower()} as of {a.as_of}")
    rows = [{"Status": item.status, "Obligation": item.obligation.title,
             "What to do": item.obligation.summary,
             "Legal basis": ", ".join(item.obligation.refs), "Applies from": item.date}
            for item in a.checklist]
    st.table(rows)


def render_assessment(assistant: Assistant, day: str, timeline) -> None:
    """The "Describe your system" section; ``timeline(items, day)`` draws the dated chart."""
    st.subheader("Describe your system")
    st.markdown("Describe an AI system in plain words: what it does, for whom, with which "
                "data. You get its AI Act risk tier, the provisions that decide it quoted "
                "verbatim, the exceptions checked, and a dated checklist.")
    _examples()
    left, right = st.columns([3, 1])
    text = left.text_area("Your system", key=TEXT_KEY, height=110,
                          placeholder="e.g. We use a chatbot to answer customer questions "
                                      "about our energy tariffs.")
    role = right.selectbox("Your role", (DETECT, *ROLES), key=ROLE_KEY, format_func=_role_label)
    if not text.strip():
        return
    given = _facts()
    try:
        a = assistant.assess(text, role=None if role == DETECT else role, facts=given or None,
                             as_of=day)
    except KbError as error:
        st.error(escape_markdown(str(error)))
        return
    _verdict(a)
    _reasons(a)
    _considered(a)
    _questions(a, given)
    _checklist(a)
    timeline(list(a.checklist), day)
    st.download_button("Download assessment (Markdown)",
                       to_markdown(a, corpus_version=assistant.corpus_version),
                       f"ai-act-assessment-{day}.md", mime="text/markdown", on_click="ignore",
                       icon=":material/download:")
    _save_to_register(text, None if role == DETECT else role, given, day)


def _save_to_register(text: str, role: str | None, given: dict[str, bool], day: str) -> None:
    """"Save to register": this description, role and answers, assessed and stored as a
    draft in the AI system register (the same verdict, stamped with corpus and date)."""
    with st.popover("Save to register", icon=":material/assignment_add:"):
        with st.form("as_save", border=False):
            st.text_input("System name", key="as_save_name", max_chars=200)
            st.text_input("Owning team", key="as_save_owner", max_chars=200)
            st.text_input("Your name", key="as_save_by", max_chars=100)
            st.selectbox("Status of use", [u.value for u in Use], key="as_save_use")
            saved = st.form_submit_button("Save as draft", type="primary")
        if saved:
            state = st.session_state
            try:
                entry = open_register().add(
                    name=state.get("as_save_name", ""), owner=state.get("as_save_owner", ""),
                    by=state.get("as_save_by", ""), description=text, role=role,
                    facts=given or None, use=state.get("as_save_use", "planned"), as_of=day)
            except KbError as error:
                st.error(escape_markdown(str(error)))
                return
            st.session_state["as_saved"] = entry.system.id
    saved_id = st.session_state.get("as_saved")
    if saved_id is not None:
        st.success(f"Saved to the register as system {saved_id} (draft).",
                   icon=":material/check:")
        st.page_link(PAGES["register"], label=f"Open system {saved_id} in the Register",
                     icon=":material/assignment:", query_params={"system": str(saved_id)})
