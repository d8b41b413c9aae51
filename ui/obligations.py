"""Obligations page: describe a system and get its assessment (``ui.assessment``), or pick
a role and a CX system, get the AI Act checklist as of a date, answer the open questions,
see when each duty applies, download it.

The checklist comes from ``kb.obligations.scenario.scenario``; dates from ``kb.law.dates``
(read from Article 113 of the text in force, so an amendment moves them).
"""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from kb.errors import KbError
from kb.obligations.catalogue import ROLES, load_catalogue
from kb.obligations.scenario import SYSTEMS, Checklist
from ui import as_of, get_assistant
from ui.assessment import render_assessment
from ui.widgets import browse_link, escape_markdown

ANSWERS = ("Yes", "No")
STATUS_COLORS = {"prohibited": "#b42318", "applies": "#1f4e9c", "applies from": "#b7791f",
                 "depends on": "#6b7280"}


def role_label(role: str) -> str:
    return role.replace("_", " ").replace("gpai", "GPAI").capitalize()


@st.cache_data(show_spinner=False)
def _fact_keys() -> dict[str, str]:
    """Question text → fact key, for every fact of the catalogue (plain data: each caller
    gets its own copy)."""
    return {f.question: f.key for spec in load_catalogue() for f in spec.conditions + spec.unless}


def _facts(questions: dict[str, str]) -> dict[str, bool]:
    facts = {}
    for key in questions.values():
        value = st.session_state.get(f"fact-{key}")
        if value in ANSWERS:
            facts[key] = value == "Yes"
    return facts


def _status_group(status: str) -> str:
    return next(g for g in STATUS_COLORS if status.startswith(g))


def _questions(checklist: Checklist, facts: dict[str, bool], questions: dict[str, str]) -> None:
    keys = {v: k for k, v in questions.items()}
    shown = [keys[k] for k in facts if k in keys]
    shown += [q for q in checklist.open_questions if q not in shown]
    if not shown:
        return
    st.markdown("#### Questions that decide what applies")
    st.caption("Answer what you know; the checklist updates. Unanswered exceptions are "
               "assumed not to apply.")
    for question in shown:
        key = questions.get(question)
        if key is None:
            st.markdown("- " + escape_markdown(question))
            continue
        st.segmented_control(escape_markdown(question), ANSWERS, key=f"fact-{key}")


def _timeline(items: list, day: str) -> None:
    """When each checklist item applies, coloured by status, with the as-of date marked."""
    rows = [
        {"Obligation": item.obligation.title, "Applies from": item.date,
         "Status": _status_group(item.status), "Legal basis": ", ".join(item.obligation.refs)}
        for item in items
    ]
    if not rows:
        return
    data = pd.DataFrame(rows)
    data["Applies from"] = pd.to_datetime(data["Applies from"])
    colors = alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values()))
    points = alt.Chart(data).mark_circle(size=140).encode(
        x=alt.X("Applies from:T", title="Applies from", axis=alt.Axis(format="%b %Y")),
        y=alt.Y("Obligation:N", sort=alt.EncodingSortField("Applies from"), title=None,
                axis=alt.Axis(labelLimit=320, labelOverlap=False)),
        color=alt.Color("Status:N", scale=colors, legend=alt.Legend(orient="top")),
        tooltip=["Obligation", alt.Tooltip("Applies from:T", format="%Y-%m-%d"), "Status",
                 "Legal basis"],
    )
    today = pd.DataFrame({"date": [pd.to_datetime(day)], "label": [f"as of {day}"]})
    rule = alt.Chart(today).mark_rule(color="#d92d20", strokeDash=[4, 3]).encode(x="date:T")
    label = alt.Chart(today).mark_text(align="left", dx=4, dy=-6, color="#d92d20").encode(
        x="date:T", y=alt.value(0), text="label")
    chart = (points + rule + label).properties(height=alt.Step(28))
    st.altair_chart(chart, width="stretch")


def _items(checklist: Checklist) -> None:
    st.dataframe(
        [
            {"Status": _status_group(item.status), "Obligation": item.obligation.title,
             "What to do": item.obligation.summary,
             "Legal basis": ", ".join(item.obligation.refs), "Applies from": item.date,
             "Depends on": item.status.removeprefix("depends on: ")
             if item.status.startswith("depends on") else ""}
            for item in checklist.items
        ],
        hide_index=True, width="stretch",
        column_config={"What to do": st.column_config.TextColumn(width="large")},
    )
    for item in checklist.items:
        o = item.obligation
        with st.expander(escape_markdown(f"{o.title} — {_status_group(item.status)}")):
            st.markdown(escape_markdown(o.summary))
            if item.status.startswith("depends on"):
                st.caption(escape_markdown(item.status.capitalize()))
            st.caption(escape_markdown(f"Applies from {item.date} ({o.date_basis})"))
            if o.cx_examples:
                st.markdown("**For example:** " + escape_markdown("; ".join(o.cx_examples)))
            with st.container(horizontal=True, gap="small"):
                for ref in (*o.refs, *o.recitals, *o.guidelines):
                    browse_link(ref, label=escape_markdown(ref))


def render() -> None:
    assistant = get_assistant()
    day = as_of()
    st.title("Your obligations")
    st.markdown("Describe your AI system, or pick your role and a common CX system, to get a "
                "checklist of AI Act obligations and when each applies.  \nPlain-language "
                "summaries, not legal advice: the linked provisions are authoritative.")
    render_assessment(assistant, day, _timeline)
    st.divider()
    st.subheader("Or pick a common CX system")
    left, right = st.columns(2)
    role = left.selectbox("Your role", ROLES, format_func=role_label, key="ob_role",
                          index=ROLES.index("deployer"))
    system = right.selectbox("The AI system", list(SYSTEMS), key="ob_system",
                             format_func=lambda key: SYSTEMS[key].label)
    free_text = ""
    if system == "other":
        free_text = st.text_input("Describe the system", key="ob_free_text",
                                  placeholder="e.g. ranks job applicants for our call centre")
    questions = _fact_keys()
    facts = _facts(questions)
    try:
        checklist = assistant.checklist(role, system, facts=facts, free_text=free_text,
                                        as_of=day)
    except KbError as error:
        st.error(escape_markdown(str(error)))
        return
    counts = {group: 0 for group in STATUS_COLORS}
    for item in checklist.items:
        counts[_status_group(item.status)] += 1
    columns = st.columns(4)
    for column, (group, count) in zip(columns, counts.items(), strict=True):
        column.metric(group.capitalize(), count)
    for note in checklist.notes:
        st.info(escape_markdown(note), icon=":material/info:")
    _questions(checklist, facts, questions)
    st.markdown(f"#### Checklist as of {day}")
    if not checklist.items:
        st.caption("No obligation in the catalogue matches this role and system.")
    else:
        _timeline(list(checklist.items), day)
        _items(checklist)
    with st.container(horizontal=True, gap="small"):
        name = f"ai-act-checklist-{system}-{role}-{day}"
        st.download_button("Download Markdown", checklist.to_markdown(), f"{name}.md",
                           mime="text/markdown", on_click="ignore", icon=":material/download:")
        st.download_button("Download CSV", checklist.to_csv(), f"{name}.csv", mime="text/csv",
                           on_click="ignore", icon=":material/download:")
    with st.expander("When each part of the AI Act applies (Article 113, as in force)"):
        st.dataframe(
            [{"Applies from": rule.applies_from, "Legal basis": rule.legal_basis,
              "Scope": rule.scope.replace("_", " "), "Rule": rule.description}
             for rule in sorted(assistant.application_table(day), key=lambda r: r.applies_from)],
            hide_index=True, width="stretch",
        )
    st.caption(f"Dates read from the text in force on {day}; today is "
               f"{date.today().isoformat()}.")


render()
