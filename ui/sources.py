"""Sources page: what the knowledge base contains, and maintainers' actions behind the admin
token: add a document, re-index, remove one, review feedback.

Everything goes through ``ingest.maintain`` (status, impact, add, remove, re-index), which
holds the writer lock; the shared assistant follows the new index by itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from ingest import maintain
from kb import KbError, Kind, Settings
from kb.answers.feedback import FeedbackStore, eval_jsonl, to_csv
from ui import get_assistant, setting_or_secret
from ui.widgets import escape_markdown, token_entry

SUFFIX_TYPES = sorted({s.lstrip(".") for suffixes in maintain.SUFFIXES.values()
                       for s in suffixes})


def configured_token(settings: Settings) -> str:
    """The admin token: ``KB_ADMIN_TOKEN``, else ``admin_token`` in Streamlit secrets."""
    return setting_or_secret(settings.admin_token, "admin_token")


def _report_text(report: maintain.SyncReport) -> str:
    parts = [f"{name}: {', '.join(ids)}" for name, ids in
             (("added", report.added), ("replaced", report.replaced), ("removed", report.removed))
             if ids]
    changes = "; ".join(parts) if parts else "no document changed"
    return (f"Index updated ({changes}). {report.chunks_embedded} chunks embedded, "
            f"{report.chunks_copied} kept, collection {report.collection}, "
            f"{report.seconds:.1f} s.")


def _done(message: str) -> None:
    """Show ``message`` after the rerun (the assistant follows the new index by itself)."""
    st.session_state["admin_result"] = message
    st.rerun()


def _overview(settings: Settings) -> None:
    try:
        info = maintain.status(settings)
    except KbError as error:
        st.error(escape_markdown(str(error)))
        return
    documents = info["documents"]
    originals = [d for d in documents if not d["translation_of"]]
    cols = st.columns(4)
    cols[0].metric("Documents", len(originals),
                   help=f"plus {len(documents) - len(originals)} language version(s)")
    cols[1].metric("Indexed passages", sum(d["chunks"] for d in originals),
                   help="Passages with vectors; language versions are kept in the catalog only.")
    cols[2].metric("Corpus version", info["corpus_version"] or "–")
    cols[3].metric("Last ingest", (info["last_ingest"] or "–")[:10],
                   help=info["last_ingest"] or "never")
    if info["pending"]:
        st.warning("Changed in corpus/ since the last ingest (re-index to include): "
                   + escape_markdown(", ".join(info["pending"])))
    rows = [
        {
            "Title": d["title"], "Kind": d["kind"].replace("_", " "), "Issuer": d["issuer"],
            "Date": d["date"], "Identifier": d["identifier"], "Id": d["id"],
            "Language": d["language"] + (f" (version of {d['translation_of']}; catalog only)"
                                         if d["translation_of"] else ""),
            "Passages": d["chunks"],
            "Units": ", ".join(f"{n} {unit}s" for unit, n in sorted(d["units"].items())),
            "Last ingest": d["ingested_at"][:16].replace("T", " "), "Source hash": d["hash"],
        }
        for d in documents
    ]
    st.dataframe(rows, hide_index=True, width="stretch")
    for a in info["amendments"]:
        failed = a.get("failed") or []
        st.markdown(escape_markdown(
            f"{a['doc_id']} amends {a['target']} from {a['in_force']}: "
            f"{a['applied']} of {a['total']} amending points applied"
            + (f", {len(failed)} not applied." if failed else ".")
        ))
        if failed:
            with st.expander(f"Amendments not applied ({len(failed)})"):
                for point, reason in failed:
                    st.markdown("- " + escape_markdown(f"point ({point}): {reason}"))
    st.caption(escape_markdown(f"Store {info['store']} · collection {info['collection']} · "
                               f"embedding model {info['embed_model']}"))


def _add(settings: Settings, documents: list[str]) -> None:
    with st.form("add-document", clear_on_submit=False):
        upload = st.file_uploader("Document file", type=SUFFIX_TYPES, key="add_file",
                                  help="EUR-Lex HTML, Formex XML, a guideline PDF or Markdown.")
        left, right = st.columns(2)
        doc_id = left.text_input("Id", placeholder="guidelines-gpai", key="add_id",
                                 help="Lower-case letters, digits and hyphens; stable.")
        kind = right.selectbox("Kind", [k.value for k in Kind], index=2, key="add_kind",
                               format_func=lambda k: k.replace("_", " ").capitalize())
        title = st.text_input("Title", key="add_title")
        left, right = st.columns(2)
        date = left.text_input("Date (YYYY-MM-DD)", key="add_date")
        identifier = right.text_input("Identifier", placeholder="C(2025) 5045",
                                      key="add_identifier")
        url = st.text_input("Official URL", placeholder="https://…", key="add_url")
        left, right = st.columns(2)
        issuer = left.text_input("Issuer", value="European Commission", key="add_issuer")
        cite_as = right.text_input("Cite as (optional)", placeholder="Guidelines C(2025) 5045",
                                  key="add_cite_as")
        amends = st.selectbox("Amends (amending regulations only)", ["", *documents],
                              key="add_amends")
        note = st.text_input("Note (optional)", key="add_note")
        submitted = st.form_submit_button("Add and index", type="primary")
    if not submitted:
        return
    if upload is None:
        st.error("Choose a file to upload.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            with st.spinner("Indexing… (new passages are embedded; this can take a minute)"):
                doc, report = maintain.add_document(
                    settings, path, doc_id=doc_id.strip(), title=title.strip(), kind=kind,
                    date=date.strip(), url=url.strip(), issuer=issuer.strip(),
                    identifier=identifier.strip(), cite_as=cite_as.strip(), amends=amends,
                    note=note.strip(), wait=False)
        except KbError as error:
            st.error(escape_markdown(f"Not added: {error}"))
            return
    _done(f"Added {doc.id}. {_report_text(report)}")


def _reindex(settings: Settings, *, rebuild: bool) -> None:
    try:
        with st.spinner("Indexing… (new passages are embedded; this can take a minute)"):
            report = maintain.reindex(settings, rebuild=rebuild, wait=False)
    except KbError as error:
        st.error(escape_markdown(f"Indexing failed: {error}"))
        return
    _done(f"Re-indexed. {_report_text(report)}")


def _remove(settings: Settings, documents: list[str]) -> None:
    with st.form("remove-document"):
        doc_id = st.selectbox("Document", documents, index=None, key="remove_id",
                              placeholder="Choose a document")
        sure = st.checkbox("Delete its files from corpus/ and remove it from the index",
                           key="remove_sure")
        submitted = st.form_submit_button("Remove")
    if not submitted:
        return
    if not doc_id or not sure:
        st.error("Choose a document and tick the confirmation.")
        return
    try:
        with st.spinner("Removing and re-indexing…"):
            _, report = maintain.remove_document(settings, doc_id, wait=False)
    except KbError as error:
        st.error(escape_markdown(f"Not removed: {error}"))
        return
    _done(f"Removed {doc_id}. {_report_text(report)}")


def _feedback(settings: Settings) -> None:
    records = FeedbackStore(settings.feedback_path).all()
    if not records:
        st.caption("No feedback yet.")
        return
    st.dataframe(
        [{**r.to_row(), "citations": ", ".join(c.get("ref", "") for c in r.citations)}
         for r in reversed(records)],
        hide_index=True, width="stretch",
    )
    left, right = st.columns(2)
    left.download_button("Export CSV", to_csv(records), file_name="feedback.csv",
                         mime="text/csv", on_click="ignore", icon=":material/download:")
    challenged = eval_jsonl(records)
    right.download_button("Export challenged answers as eval JSONL", challenged,
                          file_name="challenged.jsonl", mime="application/jsonl",
                          on_click="ignore", icon=":material/download:",
                          disabled=not challenged)


def _maintainers(settings: Settings) -> None:
    st.subheader("Maintainers", anchor=False)
    token = configured_token(settings)
    if not token:
        st.info("Maintainer actions are disabled: no admin token is configured. Set the "
                "environment variable `KB_ADMIN_TOKEN` (or `admin_token` in "
                "`.streamlit/secrets.toml`) and restart the app.")
        return
    entered = token_entry("Admin token", key="admin_token", token=token, name="admin token",
                          refused="Wrong admin token: maintainer actions refused.")
    if not st.session_state.get("admin_token"):
        st.caption("Enter the admin token to add, re-index or remove documents and to "
                   "review feedback.")
    if entered is None:
        return
    result = st.session_state.pop("admin_result", "")
    if result:
        st.success(escape_markdown(result))
    documents = [d["id"] for d in maintain.status(settings)["documents"]]
    add, reindex, remove, feedback = st.tabs(
        ["Add a document", "Re-index", "Remove a document", "Feedback"])
    with add:
        _add(settings, documents)
    with reindex:
        st.caption("Picks up files changed in corpus/ and the manifest; unchanged documents "
                   "keep their vectors.")
        rebuild = st.checkbox("Rebuild everything (re-embed all passages)")
        if st.button("Re-index now"):
            _reindex(settings, rebuild=rebuild)
    with remove:
        _remove(settings, documents)
    with feedback:
        _feedback(settings)


def _impact(assistant) -> None:
    """What the latest amending act changed, for review before publishing."""
    replay = st.session_state.get("impact_replay", False)
    try:
        review = maintain.impact(assistant.settings, assistant=assistant,
                                 questions=maintain.DEFAULT_QUESTIONS if replay else None)
    except KbError:
        return
    st.subheader("Amendment impact", anchor=False)
    if not review.in_force:
        st.caption(escape_markdown(f"{review.title}: no provision changed."))
        return
    st.markdown(escape_markdown(f"{review.title}, in force from {review.in_force}: "
                                f"{len(review.changed)} provisions changed."))
    with st.expander(f"Provisions changed ({len(review.changed)})"):
        st.dataframe([{"Provision": c["ref"], "Change": c["change"], "Source": c["source"]}
                      for c in review.changed], hide_index=True, width="stretch")
    with st.expander(f"Obligations whose dates change ({len(review.obligations)})"):
        st.dataframe([{"Obligation": o["title"], "Before": o["before"], "After": o["after"]}
                      for o in review.obligations], hide_index=True, width="stretch")
    if review.systems:
        with st.expander(f"Registered AI systems whose assessment changes "
                         f"({len(review.systems)})"):
            st.dataframe([{"Id": r["id"], "System": r["name"], "Owner": r["owner"],
                           "Needs review": "yes" if r["needs_review"] else "",
                           "Changes": "; ".join(r["changes"])} for r in review.systems],
                         hide_index=True, width="stretch")
    if not replay:
        if st.button("Replay the evaluation questions on both dates"):
            st.session_state["impact_replay"] = True
            st.rerun()
        return
    st.markdown(escape_markdown(f"{len(review.answers)} answers change their citations or "
                                "text."))
    st.dataframe([{"Question": a["question"], "Before": ", ".join(a["before"]),
                   "After": ", ".join(a["after"])} for a in review.answers],
                 hide_index=True, width="stretch")


def render() -> None:
    assistant = get_assistant()
    st.title("Sources")
    st.markdown("The official texts the assistant quotes from, as indexed. Answers cite only "
                "these documents; the corpus version identifies exactly this state.")
    _overview(assistant.settings)
    st.divider()
    _impact(assistant)
    st.divider()
    _maintainers(assistant.settings)


render()
