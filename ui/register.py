"""Register page: the organisation's AI systems, each with its assessment as it was made,
its checklist with evidence, its review and its decision log.

A CX user types their name, drafts a system (or saves one from the Obligations page) and
submits it; a reviewer with the reviewer token approves it or requests changes.  Every
action goes through :class:`kb.register.Register`, with the version shown on screen so a
change made meanwhile in another session is refused, not overwritten.  User text is
always escaped.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kb import KbError
from kb.obligations.assess import summary, tier_label
from kb.obligations.catalogue import ROLES
from kb.register import Entry, Register, Status, System, Use
from kb.register.export import markdown_pages, to_csv, to_json, to_markdown
from ui import as_of, get_assistant, open_register, reviewer_token
from ui.widgets import browse_link, escape_markdown, safe_url, token_entry

USER_KEY, TOKEN_KEY, MESSAGE_KEY, OPEN_KEY = "reg_user", "reg_token", "reg_message", "reg_open"
DETECT = "(detect from the description)"
TIER_COLORS = {"prohibited": "red", "high_risk": "orange", "limited": "blue", "minimal": "green",
               "unclear": "gray"}
# Badge colours of the tiers in the table (text, background), as st.badge draws them.
TIER_STYLES = {"prohibited": ("#b42318", "#fde2e1"), "high_risk": ("#9c4221", "#feebc8"),
               "limited": ("#1e40af", "#dbeafe"), "minimal": ("#166534", "#dcfce7"),
               "unclear": ("#374151", "#e5e7eb")}
COLUMNS = ["Id", "System", "Risk level", "Status", "Owner", "Use", "Next deadline",
           "Needs review"]
STATUS_COLORS = {"draft": "gray", "submitted": "blue", "approved": "green",
                 "changes_requested": "orange"}


def _tier_style(label: str) -> str:
    """The CSS of a "Risk level" cell: the tier's badge colours."""
    tier = next((t for t in TIER_STYLES if tier_label(t) == label), "unclear")
    color, background = TIER_STYLES[tier]
    return f"color: {color}; background-color: {background}; font-weight: 600"


def _label(value: str) -> str:
    return value.replace("_", " ")


def _say(kind: str, text: str) -> None:
    """Show ``text`` after the rerun (actions run in callbacks, before the page draws)."""
    st.session_state[MESSAGE_KEY] = (kind, text)


def _messages() -> None:
    kind, text = st.session_state.pop(MESSAGE_KEY, ("", ""))
    if kind:
        getattr(st, kind)(escape_markdown(text))


def _act(action, done: str) -> None:
    """Run a register action in a button callback; its one-line error is shown instead."""
    try:
        action()
    except KbError as error:
        _say("error", str(error))
        return
    _say("success", done)


def _user() -> str:
    return st.session_state.get(USER_KEY, "").strip()


def _need_user() -> str:
    user = _user()
    if not user:
        raise KbError("type your name first (at the top of the page): the decision log "
                      "records who did what")
    return user


# --- the list -------------------------------------------------------------------------------


def _open_system(system_id: int | None) -> None:
    if system_id is None:
        st.query_params.pop("system", None)
    else:
        st.query_params["system"] = str(system_id)


def _table(register: Register) -> None:
    systems = register.list()
    if not systems:
        st.info("No AI system is registered yet. Add one below, or describe a system on the "
                "Obligations page and press **Save to register**.")
        return
    with st.container(horizontal=True, gap="small"):
        for tier in ("prohibited", "high_risk", "limited", "minimal"):
            count = sum(s.risk_level == tier for s in systems)
            if count:
                st.badge(f"{tier_label(tier)}: {count}", color=TIER_COLORS[tier])
        flagged = sum(s.needs_review for s in systems)
        if flagged:
            st.badge(f"Needs review: {flagged}", color="red", icon=":material/warning:")
    left, middle, right = st.columns(3)
    query = left.text_input("Search", key="reg_search", placeholder="name, owner, vendor…")
    tiers = middle.multiselect("Risk level", list(TIER_COLORS), key="reg_tiers",
                               format_func=tier_label)
    statuses = right.multiselect("Status", [s.value for s in Status], key="reg_statuses",
                                 format_func=_label)
    shown = register.list(search=query) if query.strip() else systems
    shown = [s for s in shown if (not tiers or s.risk_level in tiers)
             and (not statuses or s.status.value in statuses)]
    today = as_of()
    rows = [{"Id": s.id, "System": s.name, "Risk level": tier_label(s.risk_level),
             "Status": _label(s.status.value), "Owner": s.owner, "Use": s.use.value,
             "Next deadline": _deadline(s, today),
             "Needs review": "⚠ yes" if s.needs_review else ""} for s in shown]
    table = pd.DataFrame(rows, columns=COLUMNS).style.map(_tier_style, subset=["Risk level"])
    event = st.dataframe(table, hide_index=True, width="stretch", key="reg_table",
                         on_select="rerun", selection_mode="single-row")
    picked = getattr(getattr(event, "selection", None), "rows", None)
    if picked:
        _open_system(shown[picked[0]].id)
        st.rerun()
    st.caption(f"{len(shown)} of {len(systems)} systems. Select a row, or pick one:")
    names = {s.id: f"{s.id} — {s.name}" for s in shown}
    st.selectbox("Open a system", list(names), index=None, key=OPEN_KEY,
                 format_func=names.get, placeholder="Choose a system", on_change=_picked)


def _picked() -> None:
    chosen = st.session_state.get(OPEN_KEY)
    st.session_state[OPEN_KEY] = None
    if chosen is not None:
        _open_system(chosen)


def _back() -> None:
    st.session_state.pop("reg_table", None)
    _open_system(None)


def _deadline(s: System, today: str) -> str:
    if not s.next_deadline:
        return "–"
    return s.next_deadline + (" (applies already)" if s.next_deadline <= today else "")


def _add_form(register: Register) -> None:
    with st.expander("Add a system", icon=":material/add:"), st.form("reg_add"):
        left, right = st.columns(2)
        left.text_input("Name", key="reg_add_name", max_chars=200)
        right.text_input("Owning team", key="reg_add_owner", max_chars=200)
        st.text_area("What it does, for whom, with which data", key="reg_add_description",
                     height=100, max_chars=5000)
        left, middle, right = st.columns(3)
        left.selectbox("Your role", (DETECT, *ROLES), key="reg_add_role",
                       format_func=lambda r: r if r == DETECT else _label(r).capitalize())
        middle.text_input("Vendor (if bought)", key="reg_add_vendor", max_chars=200)
        right.selectbox("Status of use", [u.value for u in Use], key="reg_add_use")
        left, right = st.columns(2)
        left.text_input("Channels (comma-separated)", key="reg_add_channels",
                        placeholder="web chat, phone")
        right.text_input("Countries (comma-separated)", key="reg_add_countries",
                         placeholder="DE, FR")
        st.text_input("Contact", key="reg_add_contact", max_chars=320)
        st.form_submit_button("Assess and add as draft", type="primary",
                              on_click=_add, args=(register,))


def _add(register: Register) -> None:
    state = st.session_state
    role = state.get("reg_add_role")

    def add() -> None:
        entry = register.add(
            name=state.get("reg_add_name", ""), owner=state.get("reg_add_owner", ""),
            description=state.get("reg_add_description", ""), by=_need_user(),
            role=None if role in (None, DETECT) else role,
            vendor=state.get("reg_add_vendor", ""), use=state.get("reg_add_use", "planned"),
            channels=state.get("reg_add_channels", ""),
            countries=state.get("reg_add_countries", ""),
            contact=state.get("reg_add_contact", ""), as_of=as_of())
        _open_system(entry.system.id)

    _act(add, "Added as a draft. Check the assessment and the checklist, then submit it "
              "for review.")


# --- one system -----------------------------------------------------------------------------


def _header(entry: Entry) -> None:
    s = entry.system
    st.subheader(escape_markdown(f"{s.id}. {s.name}"), anchor=False)
    with st.container(horizontal=True, gap="small"):
        for tier in entry.snapshot.tiers:
            st.badge(tier_label(tier), color=TIER_COLORS.get(tier, "gray"),
                     icon=":material/gavel:" if tier == s.risk_level else None)
        st.badge(_label(s.status.value).capitalize(), color=STATUS_COLORS[s.status.value])
        st.badge(f"Use: {s.use.value}", color="gray")
        if s.needs_review:
            st.badge("Needs review", color="red", icon=":material/warning:")
    details = [("Owner", s.owner), ("Contact", s.contact), ("Vendor", s.vendor),
               ("Role", _label(entry.snapshot.data["role"])),
               ("Channels", ", ".join(s.channels)), ("Countries", ", ".join(s.countries)),
               ("Registered", s.created_at), ("Last change", f"{s.updated_at} (version "
                                                             f"{s.version})")]
    st.table({"Field": [d[0] for d in details], "Value": [d[1] or "–" for d in details]})
    st.markdown("**Description**")
    st.markdown(escape_markdown(s.description))


def _changes(entry: Entry, register: Register) -> None:
    if entry.diff is None or entry.pending is None:
        return
    p = entry.pending
    with st.container(border=True):
        st.warning(escape_markdown(
            f"Needs review: a recheck on {p.made_at[:10]} (corpus {p.corpus_version}, law as "
            f"of {p.as_of}) found that the law now says something else."),
            icon=":material/warning:")
        st.markdown("\n".join("- " + escape_markdown(line) for line in entry.diff.lines()))
        for old, new in entry.diff.reasons_changed:
            if old.get("text") != new.get("text"):
                left, right = st.columns(2)
                left.markdown(f"**{escape_markdown(old['ref'])}, before**")
                left.markdown("\n".join("> " + escape_markdown(line)
                                        for line in old["text"].splitlines()))
                right.markdown(f"**{escape_markdown(new['ref'])}, now**")
                right.markdown("\n".join("> " + escape_markdown(line)
                                         for line in new["text"].splitlines()))
        for reason in entry.diff.reasons_added:
            st.markdown(f"**New reason: {escape_markdown(reason['ref'])}** — "
                        f"{escape_markdown(reason['why'])}")
        s = entry.system
        st.button("Adopt the new assessment (back to draft)", key="reg_adopt",
                  disabled=s.status is Status.SUBMITTED,
                  on_click=_act, args=(lambda: register.reassess(
                      s.id, by=_need_user(), expected_version=s.version),
                      "New assessment adopted; the system is a draft again."))


def _assessment(entry: Entry) -> None:
    a = entry.snapshot
    st.markdown("#### Assessment, as it was made")
    st.caption(escape_markdown(f"Assessment #{a.id} ({a.origin}) made {a.made_at} on corpus "
                               f"version {a.corpus_version or 'unknown'}, law as of {a.as_of}. "
                               "Never changed: a new assessment is a new snapshot."))
    st.info("**Our summary** (plain language, not the legal text): "
            + escape_markdown(summary(a.data)), icon=":material/info:")
    for r in a.reasons:
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(r['ref'])}** — {escape_markdown(r['why'])}")
            st.markdown("\n".join("> " + escape_markdown(line)
                                  for line in r["text"].splitlines()))
            browse_link(r["ref"], label=escape_markdown(f"Open {r['ref']}"))
    if not a.reasons:
        st.caption("No provision of Article 5, Article 6 with Annexes I and III, or Article 50 "
                   "matched the description.")
    considered = a.data.get("exceptions_considered", [])
    if considered:
        with st.expander(f"Exceptions considered ({len(considered)})"):
            for c in considered:
                st.markdown(f"- **{escape_markdown(c['ref'])}**: {escape_markdown(c['why'])}")
    if a.data.get("facts"):
        st.caption(escape_markdown("Deciding facts: " + ", ".join(
            f"{_label(k)}: {'yes' if v else 'no'}" for k, v in a.data["facts"].items())))


def _checklist(entry: Entry, register: Register) -> None:
    s = entry.system
    done = sum(t.done for t in entry.checklist)
    st.markdown(f"#### Obligations ({done} of {len(entry.checklist)} done)")
    st.dataframe([{"Done": "✅" if t.done else "", "Obligation": t.title,
                   "Legal basis": ", ".join(t.refs), "Applies from": t.due,
                   "Evidence": t.evidence, "Link": safe_url(t.link),
                   "Ticked by": f"{t.by} {t.at}".strip()} for t in entry.checklist],
                 hide_index=True, width="stretch",
                 column_config={"Link": st.column_config.LinkColumn("Link")})
    if s.status is Status.SUBMITTED:
        st.caption("The checklist is locked while a reviewer has the system.")
        return
    titles = {t.obligation_id: t.title for t in entry.checklist}
    with st.form("reg_tick", clear_on_submit=True):
        st.selectbox("Obligation", list(titles), key="reg_tick_obligation",
                     format_func=lambda i: titles[i])
        st.text_area("Evidence: what was done", key="reg_tick_evidence", height=70,
                     max_chars=5000)
        st.text_input("Link to the evidence (https://…)", key="reg_tick_link",
                      max_chars=2000)
        left, right = st.columns(2)
        left.form_submit_button("Tick done", on_click=_tick, args=(register, s, True))
        right.form_submit_button("Untick", on_click=_tick, args=(register, s, False))


def _tick(register: Register, s: System, done: bool) -> None:
    state = st.session_state
    obligation = state.get("reg_tick_obligation", "")
    _act(lambda: register.tick(s.id, obligation, by=_need_user(), done=done,
                               evidence=state.get("reg_tick_evidence", ""),
                               link=state.get("reg_tick_link", ""),
                               expected_version=s.version),
         f"{obligation}: {'ticked done' if done else 'unticked'}.")


def _log(entry: Entry) -> None:
    st.markdown("#### Decision log")
    st.caption("Append-only: entries are never edited or deleted.")
    st.dataframe([{"When": d.at.replace("T", " ").removesuffix("+00:00") + " UTC",
                   "Who": d.by, "Action": _label(d.action),
                   "Status": (f"{_label(d.from_status) or '–'} → {_label(d.to_status)}"
                              if d.from_status != d.to_status else _label(d.to_status)),
                   "Comment": d.comment} for d in entry.log],
                 hide_index=True, width="stretch")


def _details_form(entry: Entry, register: Register) -> None:
    s = entry.system
    tag = f"{s.id}_{s.version}"  # fresh widgets for each system and version
    with st.expander("Edit details (owner, contact, vendor, where it is used, status of use)"), \
            st.form("reg_edit"):
        left, right = st.columns(2)
        left.text_input("Owning team", value=s.owner, key=f"reg_edit_owner_{tag}", max_chars=200)
        right.text_input("Contact", value=s.contact, key=f"reg_edit_contact_{tag}", max_chars=320)
        left.text_input("Vendor", value=s.vendor, key=f"reg_edit_vendor_{tag}", max_chars=200)
        uses = [u.value for u in Use]
        right.selectbox("Status of use", uses, index=uses.index(s.use.value),
                        key=f"reg_edit_use_{tag}",
                        help="Retired systems are no longer rechecked.")
        left.text_input("Channels (comma-separated)", value=", ".join(s.channels),
                        key=f"reg_edit_channels_{tag}")
        right.text_input("Countries (comma-separated)", value=", ".join(s.countries),
                         key=f"reg_edit_countries_{tag}")
        st.form_submit_button("Save details", on_click=_edit, args=(register, s, tag))


def _edit(register: Register, s: System, tag: str) -> None:
    state = st.session_state
    changes = {key: state.get(f"reg_edit_{key}_{tag}", "") for key in
               ("owner", "contact", "vendor", "use", "channels", "countries")}
    _act(lambda: register.update(s.id, by=_need_user(), expected_version=s.version, **changes),
         "Details saved.")


def _owner_actions(entry: Entry, register: Register) -> None:
    s = entry.system
    st.markdown("#### Actions")
    st.text_area("Comment (for the log, or what changed)", key="reg_comment", height=70,
                 max_chars=5000)
    with st.container(horizontal=True, gap="small"):
        if s.status in (Status.DRAFT, Status.CHANGES_REQUESTED):
            st.button("Submit for review", type="primary", key="reg_submit",
                      on_click=_move, args=(register, s, "submit"), disabled=s.needs_review,
                      help="Adopt the new assessment first." if s.needs_review else None)
        if s.status in (Status.APPROVED, Status.SUBMITTED):
            st.button("Reopen as draft", key="reg_reopen", on_click=_move,
                      args=(register, s, "reopen"))
        st.button("Add comment", key="reg_add_comment", on_click=_move,
                  args=(register, s, "comment"))


def _move(register: Register, s: System, action: str, token: str = "") -> None:
    comment = st.session_state.get("reg_comment", "")

    def run() -> None:
        by = _need_user()
        if action == "comment":
            register.comment(s.id, by=by, text=comment)
        elif action in ("approve", "changes"):
            register.review(s.id, decision=action, comment=comment, by=by, token=token,
                            expected_version=s.version)
        else:
            getattr(register, action)(s.id, by=by, comment=comment,
                                      expected_version=s.version)
        st.session_state["reg_comment"] = ""

    labels = {"submit": "Submitted for review.", "reopen": "Reopened as a draft.",
              "comment": "Comment added.", "approve": "Approved.",
              "changes": "Changes requested."}
    _act(run, labels[action])


def _reviewer_actions(entry: Entry, register: Register, token: str | None) -> None:
    s = entry.system
    if token is None:
        return
    st.markdown("#### Review")
    if s.status is not Status.SUBMITTED:
        st.caption(f"Only a submitted system can be reviewed; this one is "
                   f"{_label(s.status.value)}.")
        return
    st.caption("Your decision and the comment above go into the decision log with your "
               "name. Requesting changes needs a comment.")
    with st.container(horizontal=True, gap="small"):
        st.button("Approve", type="primary", key="reg_approve", on_click=_move,
                  args=(register, s, "approve", token), disabled=s.needs_review)
        st.button("Request changes", key="reg_changes", on_click=_move,
                  args=(register, s, "changes", token))


def _system_page(register: Register, system_id: int, token: str | None) -> None:
    st.button("← All systems", key="reg_back", type="tertiary", on_click=_back)
    try:
        entry = register.get(system_id)
    except KbError as error:
        st.warning(escape_markdown(str(error)))
        return
    _header(entry)
    _details_form(entry, register)
    _changes(entry, register)
    _assessment(entry)
    _checklist(entry, register)
    _owner_actions(entry, register)
    _reviewer_actions(entry, register, token)
    _log(entry)
    st.download_button("Download this system (Markdown)", to_markdown(entry),
                       f"ai-system-{system_id}.md", mime="text/markdown", on_click="ignore",
                       icon=":material/download:")


def _prepare_exports(register: Register) -> None:
    entries = [register.get(s.id) for s in register.list()]
    st.session_state["reg_exports"] = (to_csv(entries), markdown_pages(entries),
                                       to_json(register))


def _exports(register: Register) -> None:
    """Exports are built on request: a register of 1,000 systems takes seconds to write."""
    if not register.list():
        return
    ready = st.session_state.pop("reg_exports", None)
    if ready is None:
        st.button("Prepare exports (CSV, Markdown, JSON backup)", key="reg_prepare",
                  icon=":material/download:", on_click=_prepare_exports, args=(register,))
        return
    csv_text, markdown, backup = ready
    with st.container(horizontal=True, gap="small"):
        st.download_button("Export CSV", csv_text, "ai-register.csv", mime="text/csv",
                           on_click="ignore", icon=":material/download:")
        st.download_button("Export Markdown (one page per system)", markdown,
                           "ai-register.md", mime="text/markdown", on_click="ignore",
                           icon=":material/download:")
        st.download_button("Export JSON (backup)", backup, "ai-register.json",
                           mime="application/json", on_click="ignore",
                           icon=":material/download:")


def render() -> None:
    st.title("AI system register")
    st.markdown("Every AI system the organisation builds or uses, with its owner, its "
                "assessment as it was made (stamped with the corpus version and date), its "
                "obligations and deadlines, and who approved it on what basis.")
    register = open_register()
    left, right = st.columns(2)
    left.text_input("Your name", key=USER_KEY, max_chars=100,
                    help="Recorded in the decision log with each action you take.")
    token = None
    with right:
        if register.reviewer_enabled:
            token = token_entry("Reviewer token (reviewers only)", key=TOKEN_KEY,
                                token=reviewer_token(get_assistant().settings),
                                name="reviewer token",
                                refused="Wrong reviewer token: reviewer actions refused.")
        else:
            st.caption("Reviewer actions are disabled: set `KB_REVIEWER_TOKEN` (or "
                       "`reviewer_token` in `.streamlit/secrets.toml`) and restart the app.")
    _messages()
    chosen = st.query_params.get("system")
    try:
        if chosen is not None and chosen.isdigit():
            _system_page(register, int(chosen), token)
            return
        _table(register)
        _add_form(register)
        _exports(register)
    except KbError as error:
        st.error(escape_markdown(str(error)))


render()
