"""The Register page, "Save to register" on the Obligations page, and the token back-off of
the Sources page, with ``AppTest`` on the indexed fixture corpus."""

from __future__ import annotations

import re
import time

import pytest
from test_app import TOKEN, button, open_app, texts

from kb.assistant import Assistant
from kb.register import Register, Status
from kb.safety import Attempts
from ui import get_assistant

REVIEWER = "reviewer-s3cret"
CREDIT = "Our bank scores loan applicants with an AI model to decide on credit"
HOSTILE = "<script>alert(1)</script> **[click](javascript:alert(1))**"


@pytest.fixture()
def use_kb(monkeypatch):
    """Point the app at an index (and its register); the shared assistant is reopened."""

    def use(settings, *, token: str = "", reviewer: str = "") -> None:
        values = {
            "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
            "KB_COLLECTION": "kb", "CHROMA_HOST": "", "KB_AS_OF": "", "KB_ADMIN_TOKEN": token,
            "KB_REVIEWER_TOKEN": reviewer,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_assistant.clear()

    yield use
    get_assistant.clear()


def register_of(settings) -> Register:
    return Register.open(settings, assistant=Assistant.open(settings))


def page(**query: str):
    return open_app("ui/register.py", **query)


def test_empty_register_explains_how_to_add_a_system(fresh_kb, use_kb):
    use_kb(fresh_kb)
    at = page()
    assert not at.exception
    assert at.title[0].value == "AI system register"
    assert "No AI system is registered yet" in at.info[0].value
    assert "Reviewer actions are disabled" in " ".join(c.value for c in at.caption)
    assert not fresh_kb.register_path.exists()


def test_table_shows_tier_status_owner_and_next_deadline(fresh_kb, use_kb):
    register = register_of(fresh_kb)
    register.add(name="Loan scorer", description=CREDIT, owner="Credit team", by="Ann",
                 as_of="2026-09-01")
    register.add(name=HOSTILE, description="We use a chatbot to answer customer questions",
                 owner="CX Care", by="Bo", as_of="2026-09-01")
    use_kb(fresh_kb)
    at = page()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Id", "System", "Risk level", "Status", "Owner", "Use",
                                   "Next deadline", "Needs review"]
    assert list(table["System"]) == ["Loan scorer", HOSTILE]  # a table cell is plain text
    assert list(table["Risk level"]) == ["High-risk", "Transparency duties only (limited risk)"]
    assert list(table["Status"]) == ["draft", "draft"]
    assert list(table["Owner"]) == ["Credit team", "CX Care"]
    assert table["Next deadline"][0].startswith("2026-08-02")
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert ":orange-badge[High-risk: 1]" in badges
    at.multiselect(key="reg_tiers").set_value(["high_risk"])
    at.run(timeout=120)
    assert list(at.dataframe[0].value["System"]) == ["Loan scorer"]
    button(at, "Prepare exports (CSV, Markdown, JSON backup)").click()
    at.run(timeout=120)
    assert [b.label for b in at.get("download_button")] == [
        "Export CSV", "Export Markdown (one page per system)", "Export JSON (backup)"]


def test_cx_user_drafts_and_submits_then_reviewer_approves(fresh_kb, use_kb):
    use_kb(fresh_kb, reviewer=REVIEWER)
    at = page()
    at.text_input(key="reg_user").input("Ann Lee")
    at.text_input(key="reg_add_name").input("Loan scorer")
    at.text_input(key="reg_add_owner").input("Credit team")
    at.text_area(key="reg_add_description").input(CREDIT)
    at.text_input(key="reg_add_channels").input("web, branch")
    button(at, "Assess and add as draft").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.success[0].value.startswith("Added as a draft.")
    assert at.query_params["system"] in (["1"], "1")
    assert at.subheader[0].value == "1\\. Loan scorer"
    body = " ".join(texts(at))
    assert "**Annex III, point 5(b)** — " in body
    assert "> AI systems intended to be used to evaluate the creditworthiness" in body
    # Tick an obligation with evidence, then submit.
    at.selectbox(key="reg_tick_obligation").set_value("ai-literacy-measures")
    at.text_area(key="reg_tick_evidence").input("Training held on 3 May")
    at.text_input(key="reg_tick_link").input("https://intranet.example/training")
    button(at, "Tick done").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.success[0].value == "ai-literacy-measures: ticked done."
    button(at, "Submit for review").click()
    at.run(timeout=120)
    assert at.success[0].value == "Submitted for review."
    # A reviewer with a wrong token gets nothing; with the token, approves.
    at.text_input(key="reg_user").input("Kim")
    at.text_input(key="reg_token").input("guess")
    at.run(timeout=120)
    assert "Wrong reviewer token: reviewer actions refused." in [e.value for e in at.error]
    assert "Approve" not in [b.label for b in at.button]
    at.text_input(key="reg_token").input(REVIEWER)
    at.run(timeout=120)
    at.text_area(key="reg_comment").input("Evidence complete.")
    button(at, "Approve").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.success[0].value == "Approved."
    entry = Register.open(fresh_kb).get(1)
    assert entry.system.status is Status.APPROVED
    assert [(d.by, d.action) for d in entry.log] == [
        ("Ann Lee", "add"), ("Ann Lee", "tick"), ("Ann Lee", "submit"), ("Kim", "approve")]
    assert entry.log[-1].comment == "Evidence complete."
    log = at.dataframe[-1].value
    assert list(log["Who"]) == ["Ann Lee", "Ann Lee", "Ann Lee", "Kim"]
    assert list(log["Status"])[-1] == "submitted → approved"


def test_actions_need_a_name_and_a_stale_page_is_refused(fresh_kb, use_kb):
    register = register_of(fresh_kb)
    register.add(name="Loan scorer", description=CREDIT, owner="Credit team", by="Ann")
    use_kb(fresh_kb)
    at = page(system="1")
    button(at, "Submit for review").click()
    at.run(timeout=120)
    assert at.error[0].value.startswith("type your name first")
    at.text_input(key="reg_user").input("Ann")
    at.run(timeout=120)
    # Meanwhile, someone else changes the system in another session.
    register.tick(1, "ai-literacy-measures", by="Bob", evidence="done")
    button(at, "Submit for review").click()
    at.run(timeout=120)
    assert at.error[0].value.startswith("system 1 was changed by someone else since you "
                                        "opened it (now version 2, you had 1)")
    assert Register.open(fresh_kb).get(1).system.status is Status.DRAFT
    at.selectbox(key="reg_edit_use_1_2").set_value("live")
    at.text_input(key="reg_edit_countries_1_2").input("DE, AT")
    button(at, "Save details").click()
    at.run(timeout=120)
    assert at.success[0].value == "Details saved."
    button(at, "Submit for review").click()  # the page now shows version 3
    at.run(timeout=120)
    assert at.success[0].value == "Submitted for review."
    system = Register.open(fresh_kb).get(1).system
    assert (system.use.value, system.countries, system.status) == ("live", ("DE", "AT"),
                                                                   Status.SUBMITTED)


def test_hostile_text_is_shown_escaped_on_the_system_page(fresh_kb, use_kb):
    register = register_of(fresh_kb)
    register.add(name=HOSTILE, description=CREDIT + " " + HOSTILE, owner=HOSTILE, by=HOSTILE)
    register.comment(1, by=HOSTILE, text=HOSTILE)
    use_kb(fresh_kb)
    at = page(system="1")
    assert not at.exception
    bodies = texts(at)
    assert any("\\<script\\>alert(1)\\</script\\>" in b for b in bodies)
    for body in bodies:
        assert not re.search(r"(?<!\\)<script", body), body
        assert not re.search(r"(?<!\\)\[click\]", body), body
    assert list(at.dataframe[-1].value["Comment"])[-1] == HOSTILE  # a table cell: plain text


def test_needs_review_shows_the_diff_and_the_owner_adopts_it(fresh_kb, use_kb):
    register = register_of(fresh_kb)
    register.add(name="Tariff bot", description="We use a chatbot to answer customer "
                 "questions about tariffs", owner="CX Care", by="Bo", as_of="2026-01-01")
    register.recheck(as_of="2026-09-01")
    use_kb(fresh_kb)
    at = page(system="1")
    assert not at.exception
    assert at.warning[0].value.startswith("Needs review: a recheck on ")
    assert any(m.value.startswith("- risk level: minimal → limited\n- reason changed: "
                                  "Article 50(1) (tier)") for m in at.markdown)
    at.text_input(key="reg_user").input("Bo")
    button(at, "Adopt the new assessment (back to draft)").click()
    at.run(timeout=120)
    assert not at.exception
    assert at.success[0].value == "New assessment adopted; the system is a draft again."
    entry = Register.open(fresh_kb).get(1)
    assert (entry.system.risk_level, entry.system.needs_review) == ("limited", False)


def test_save_to_register_from_the_assessment_view(fresh_kb, use_kb):
    use_kb(fresh_kb)
    at = open_app("ui/obligations.py")
    at.text_area(key="as_text").input(CREDIT)
    at.run(timeout=120)
    at.text_input(key="as_save_name").input("Loan scorer")
    at.text_input(key="as_save_owner").input("Credit team")
    at.text_input(key="as_save_by").input("Ann")
    button(at, "Save as draft").click()
    at.run(timeout=120)
    assert not at.exception
    assert "Saved to the register as system 1 (draft)." in [s.value for s in at.success]
    (system,) = Register.open(fresh_kb).list()
    assert (system.name, system.owner, system.risk_level) == ("Loan scorer", "Credit team",
                                                              "high_risk")
    entry = Register.open(fresh_kb).get(1)
    assert entry.log[0].by == "Ann"
    assert entry.snapshot.as_of == at.session_state["as_of_date"].isoformat()


def test_save_to_register_with_an_empty_name_shows_one_line(fresh_kb, use_kb):
    use_kb(fresh_kb)
    at = open_app("ui/obligations.py")
    at.text_area(key="as_text").input(CREDIT)
    at.run(timeout=120)
    at.text_input(key="as_save_owner").input("Credit team")
    button(at, "Save as draft").click()
    at.run(timeout=120)
    assert "name must not be empty" in [e.value for e in at.error]
    assert not fresh_kb.register_path.exists() or Register.open(fresh_kb).list() == []


# --- the admin token back-off on the Sources page -------------------------------------------


def test_admin_token_back_off_after_five_wrong_tokens(small_kb, use_kb):
    use_kb(small_kb, token=TOKEN)
    at = open_app("ui/sources.py")
    for n in range(1, 6):
        at.text_input(key="admin_token").input(f"guess-{n}")
        at.run(timeout=120)
        assert at.error[0].value == "Wrong admin token: maintainer actions refused."
    attempts = at.session_state["admin_token-attempts"]
    assert attempts.failures == 5
    assert attempts.locked_until > time.monotonic()  # a delay now runs before the next check
    # A session that is waiting is refused even with the right token, without a check.
    at.session_state["admin_token-attempts"] = Attempts(failures=5,
                                                        locked_until=time.monotonic() + 3600)
    at.text_input(key="admin_token").input(TOKEN)
    at.run(timeout=120)
    assert at.error[0].value.startswith("Too many wrong admin tokens in this session; try "
                                        "again in ")
    assert "Add a document" not in [t.label for t in at.tabs]
    # Once the delay is over, the right token opens the maintainer actions.
    at.session_state["admin_token-attempts"] = Attempts(failures=5, locked_until=0.0)
    at.run(timeout=120)
    assert not at.error
    assert "Add a document" in [t.label for t in at.tabs]

