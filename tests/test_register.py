"""The AI system register: workflow, snapshots, append-only log, recheck after a corpus
change, deadlines, export/import, concurrency with two real processes, bad input, the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from register_amendment import IN_FORCE, NEW_5B, add_to_corpus

from ingest import maintain
from kb.assistant import Assistant
from kb.cli import cli
from kb.errors import (
    BadInput,
    BadTransition,
    Conflict,
    KbError,
    RegisterError,
    TokenRefused,
    UnknownChoice,
    UnknownSystem,
)
from kb.register import Register, Status
from kb.register.export import import_json, read_json, to_csv, to_json, to_markdown
from kb.register.records import MAX_COMMENT_CHARS, MAX_NAME_CHARS
from kb.register.store import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "reviewer-s3cret"
DAY = "2027-01-01"
CREDIT = "Our bank scores loan applicants with an AI model to decide on credit"
CHATBOT = "We use a chatbot to answer customer questions about tariffs"
SPAM = "We use a spam filter for our inbox"
HOSTILE = "<script>alert(1)</script> **[click](javascript:alert(1))**"


@pytest.fixture()
def register(assistant, tmp_path) -> Register:
    return Register(tmp_path / "register.sqlite", assessor=assistant, reviewer_token=TOKEN,
                    as_of=DAY)


def add(register: Register, name: str = "Loan scorer", description: str = CREDIT, **fields):
    return register.add(name=name, description=description, owner="Credit team",
                        by="Ann", **fields)


def actions(entry) -> list[tuple[str, str, str, str]]:
    return [(d.by, d.action, d.from_status, d.to_status) for d in entry.log]


# --- workflow -------------------------------------------------------------------------------


def test_full_workflow_add_submit_changes_resubmit_approve_logs_every_step(register,
                                                                            assistant):
    entry = add(register, channels=["web", "phone"], countries="DE, FR", vendor="ScoreCo",
                use="pilot")
    s = entry.system
    assert (s.id, s.status, s.risk_level, s.version) == (1, Status.DRAFT, "high_risk", 1)
    assert (s.channels, s.countries, s.vendor, s.use.value) == (("web", "phone"), ("DE", "FR"),
                                                               "ScoreCo", "pilot")
    assert [r["ref"] for r in entry.snapshot.reasons] == ["Annex III, point 5(b)"]
    assert entry.snapshot.reasons[0]["text"].startswith(
        "AI systems intended to be used to evaluate the creditworthiness")
    register.submit(1, by="Ann", comment="Ready")
    register.review(1, decision="changes", comment="Add the FRIA evidence", by="Kim",
                    token=TOKEN)
    register.tick(1, "fundamental-rights-impact-assessment", by="Ann",
                  evidence="FRIA v2 signed", link="https://intranet.example/fria")
    register.submit(1, by="Ann")
    entry = register.review(1, decision="approve", comment="", by="Kim", token=TOKEN)
    assert entry.system.status is Status.APPROVED
    assert actions(entry) == [
        ("Ann", "add", "", "draft"),
        ("Ann", "submit", "draft", "submitted"),
        ("Kim", "request_changes", "submitted", "changes_requested"),
        ("Ann", "tick", "changes_requested", "changes_requested"),
        ("Ann", "submit", "changes_requested", "submitted"),
        ("Kim", "approve", "submitted", "approved"),
    ]
    assert [d.comment for d in entry.log][1:3] == ["Ready", "Add the FRIA evidence"]
    assert entry.system.version == 6
    fria = next(t for t in entry.checklist if t.obligation_id ==
                "fundamental-rights-impact-assessment")
    assert (fria.done, fria.evidence, fria.link, fria.by) == (
        True, "FRIA v2 signed", "https://intranet.example/fria", "Ann")


def test_snapshot_is_stamped_with_corpus_version_and_as_of(register, assistant):
    entry = add(register, facts={"fraud_detection_only": "no"})
    snapshot = entry.snapshot
    assert (snapshot.corpus_version, snapshot.as_of, snapshot.origin) == (
        assistant.corpus_version, DAY, "add")
    expected = assistant.assess(CREDIT, facts={"fraud_detection_only": "no"},
                                as_of=DAY).to_dict()
    expected.pop("timing_ms")
    data = dict(snapshot.data)
    assert data.pop("facts")["fraud_detection_only"] is False
    assert [r.pop("tier") for r in data["reasons"]] == ["high_risk"]
    for r in data["reasons"]:
        r.pop("applies_from")
    assert data == expected
    assert entry.system.facts == {"fraud_detection_only": False}


def test_the_database_refuses_to_edit_the_log_or_a_snapshot(register):
    add(register)
    with sqlite3.connect(register.file.path) as db:
        for sql, message in [
            ("UPDATE decisions SET comment = 'rewritten'", "the decision log is append-only"),
            ("DELETE FROM decisions", "the decision log is append-only"),
            ("UPDATE assessments SET risk_level = 'minimal'",
             "assessment snapshots are never changed"),
            ("DELETE FROM assessments", "assessment snapshots are never changed"),
            ("UPDATE dues SET applies_from = '2099-01-01'",
             "assessment snapshots are never changed"),
            ("DELETE FROM systems", "systems are retired, never deleted"),
        ]:
            with pytest.raises(sqlite3.IntegrityError, match=message):
                db.execute(sql)
    entry = register.get(1)
    assert [d.action for d in entry.log] == ["add"]
    assert entry.snapshot.risk_level == "high_risk"


def test_review_needs_the_reviewer_token(register, assistant, tmp_path):
    add(register)
    register.submit(1, by="Ann")
    with pytest.raises(TokenRefused, match="^wrong reviewer token: the review was refused$"):
        register.review(1, decision="approve", comment="", by="Kim", token="guess")
    closed = Register(tmp_path / "other.sqlite", assessor=assistant)
    with pytest.raises(TokenRefused, match="no reviewer token is configured .set "
                                           "KB_REVIEWER_TOKEN"):
        closed.review(1, decision="approve", comment="", by="Kim", token="")
    entry = register.get(1)
    assert entry.system.status is Status.SUBMITTED
    assert [d.action for d in entry.log] == ["add", "submit"]


def test_requesting_changes_needs_a_comment(register):
    add(register)
    register.submit(1, by="Ann")
    with pytest.raises(BadInput, match="^a comment is required to request changes"):
        register.review(1, decision="changes", comment="  ", by="Kim", token=TOKEN)


@pytest.mark.parametrize("act, error, message", [
    (lambda r: r.review(1, decision="approve", comment="", by="Kim", token=TOKEN),
     BadTransition, "^system 1 is draft; only a system that is submitted can be approved$"),
    (lambda r: r.reopen(1, by="Ann"), BadTransition,
     "^system 1 is draft; only a system that is approved or submitted can be reopened$"),
    (lambda r: r.review(1, decision="maybe", comment="", by="Kim", token=TOKEN),
     UnknownChoice, "unknown decision 'maybe'; valid: approve, changes"),
    (lambda r: r.submit(7, by="Ann"), UnknownSystem, "^no system 7 in the register"),
])
def test_unknown_transitions_get_one_line_errors(register, act, error, message):
    add(register)
    with pytest.raises(error, match=message):
        act(register)
    assert [d.action for d in register.get(1).log] == ["add"]


def test_a_submitted_system_is_locked_until_a_reviewer_decides(register):
    add(register)
    register.submit(1, by="Ann")
    with pytest.raises(BadTransition, match="submitted for review; its checklist cannot change"):
        register.tick(1, "ai-literacy-measures", by="Ann", evidence="done")
    with pytest.raises(BadTransition, match="its assessment cannot change"):
        register.reassess(1, by="Ann", description=CREDIT + " in Germany")
    register.reopen(1, by="Ann", comment="Forgot the training")
    assert register.tick(1, "ai-literacy-measures", by="Ann",
                         evidence="done").system.status is Status.DRAFT


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "^name must not be empty$"),
    ({"name": "   "}, "^name must not be empty$"),
    ({"name": "x" * (MAX_NAME_CHARS + 1)}, "^name is 201 characters long; the limit is 200$"),
    ({"owner": ""}, "^owner must not be empty$"),
    ({"name": "tab\tbed"}, r"^name contains a control character \(U\+0009\)"),
    ({"contact": "c" * 321}, "^contact is 321 characters long; the limit is 320$"),
    ({"vendor": "v" * 201}, "^vendor is 201 characters long; the limit is 200$"),
    ({"channels": ["c"] * 0 + [f"channel {n}" for n in range(31)]},
     "^channels has 31 items; the limit is 30$"),
    ({"countries": ["x" * 101]}, "^countries item is 101 characters long; the limit is 100$"),
    ({"use": "someday"}, "unknown use 'someday'; valid: planned, pilot, live, retired"),
    ({"role": "astronaut"}, "unknown role 'astronaut'"),
    ({"description": ""}, "^Please describe the AI system"),
    ({"description": "d" * 5001}, "limit is 5000"),
    ({"by": "b" * 101}, "^by is 101 characters long; the limit is 100$"),
])
def test_bad_input_gets_a_one_line_error_and_stores_nothing(register, fields, message):
    values = {"name": "Loan scorer", "description": CREDIT, "owner": "Credit team",
              "by": "Ann", **fields}
    with pytest.raises(KbError, match=message) as caught:
        register.add(**values)
    assert "\n" not in str(caught.value)
    assert register.list() == []


def test_bad_comments_evidence_and_links_are_refused(register):
    add(register)
    with pytest.raises(BadInput, match="^comment is 5,001 characters long; the limit is 5,000$"):
        register.comment(1, by="Ann", text="c" * (MAX_COMMENT_CHARS + 1))
    with pytest.raises(BadInput, match="^evidence is required to tick an obligation done"):
        register.tick(1, "ai-literacy-measures", by="Ann")
    with pytest.raises(BadInput, match="^link must start with https:// or http://, got "
                                       "'javascript:alert\\(1\\)'$"):
        register.tick(1, "ai-literacy-measures", by="Ann", evidence="x",
                      link="javascript:alert(1)")
    with pytest.raises(BadInput, match="^obligation 'no-such-duty' is not on the checklist"):
        register.tick(1, "no-such-duty", by="Ann", evidence="x")
    with pytest.raises(BadInput, match="^by must not be empty$"):
        register.submit(1, by="")
    assert [d.action for d in register.get(1).log] == ["add"]


def test_hostile_html_is_stored_as_text_and_escaped_in_markdown(register):
    add(register, name=HOSTILE, contact=HOSTILE)
    register.comment(1, by=HOSTILE, text=HOSTILE)
    entry = register.get(1)
    assert entry.system.name == HOSTILE
    assert entry.log[-1].comment == HOSTILE
    page = to_markdown(entry)
    assert "\\<script\\>alert(1)\\</script\\> \\*\\*\\[click\\](javascript:alert(1))\\*\\*" in page
    assert "<script>" not in page and "[click](" not in page


def test_update_changes_what_a_system_is_and_logs_old_and_new(register):
    add(register, channels=["web"])
    entry = register.update(1, by="Ann", use="live", channels="web, phone", owner="Credit team")
    assert (entry.system.use.value, entry.system.channels) == ("live", ("web", "phone"))
    assert entry.system.version == 2
    assert (entry.log[-1].action, entry.log[-1].detail) == ("update", {
        "use": ["planned", "live"], "channels": [["web"], ["web", "phone"]]})
    same = register.update(1, by="Ann", owner="Credit team")
    assert same.system.version == 2 and len(same.log) == 2  # nothing changed, nothing logged
    with pytest.raises(BadInput, match="^cannot update description; fields: channels"):
        register.update(1, by="Ann", description="Something else")
    register.update(1, by="Ann", use="retired")
    assert register.recheck().checked == 0  # retired systems are not rechecked


# --- optimistic versions --------------------------------------------------------------------


def test_a_change_made_on_a_stale_version_is_refused(register):
    seen = add(register).system.version
    register.comment(1, by="Bob", text="comments never conflict")
    register.tick(1, "ai-literacy-measures", by="Bob", evidence="Training held",
                  expected_version=seen)  # the other session saved first
    with pytest.raises(Conflict, match="^system 1 was changed by someone else since you "
                                       "opened it \\(now version 2, you had 1\\)"):
        register.submit(1, by="Ann", expected_version=seen)
    assert register.get(1).system.status is Status.DRAFT


# --- list, filters, deadlines ---------------------------------------------------------------


def test_list_filters_by_status_tier_owner_use_and_text(register):
    add(register)
    register.add(name="Tariff bot", description=CHATBOT, owner="CX Care", by="Bo", use="live",
                 vendor="100% Bots_Inc")
    register.add(name="Inbox filter", description=SPAM, owner="IT", by="Cy", use="retired")
    register.submit(2, by="Bo")

    def ids(**filters) -> list[int]:
        return [s.id for s in register.list(**filters)]

    assert ids() == [1, 2, 3]
    assert ids(tier="high_risk") == [1]
    assert ids(tier="limited") == [2]
    assert ids(status="submitted") == [2]
    assert ids(owner="cx care") == [2]
    assert ids(use="retired") == [3]
    assert ids(search="100% bots_") == [2]  # LIKE wildcards are taken literally
    assert ids(search="%") == [2]
    assert ids(search="loan") == [1]
    assert ids(needs_review=True) == []
    with pytest.raises(UnknownChoice, match="unknown status 'finished'"):
        register.list(status="finished")


def test_next_deadline_is_the_earliest_obligation_not_ticked(register):
    add(register)
    assert register.list()[0].next_deadline == "2026-08-02"
    entry = register.get(1)
    for t in entry.checklist:
        if t.due == "2026-08-02" and t.obligation_id != "annex-iii-credit-scoring":
            register.tick(1, t.obligation_id, by="Ann", evidence="done")
    assert register.list()[0].next_deadline == "2026-08-02"  # annex-iii-credit-scoring left
    register.tick(1, "annex-iii-credit-scoring", by="Ann", evidence="classified")
    remaining = [t.due for t in register.get(1).checklist if not t.done]
    assert register.list()[0].next_deadline == (min(remaining) if remaining else "")


def test_deadlines_within_n_days_as_of_a_date(register):
    add(register)  # high-risk duties apply from 2026-08-02 in the fixture's Article 113
    register.add(name="Tariff bot", description=CHATBOT, owner="CX Care", by="Bo")
    register.add(name="Old bot", description=CHATBOT, owner="CX Care", by="Bo", use="retired")
    found = register.deadlines(within_days=30, as_of="2026-07-03")
    assert {d.due for d in found} == {"2026-08-02"}
    assert {d.system_id for d in found} == {1, 2}  # not the retired system
    assert all(d.days_left == 30 for d in found)
    assert register.deadlines(within_days=29, as_of="2026-07-03") == []
    assert [d.days_left for d in register.deadlines(within_days=0, as_of="2026-08-02")][:1] == [0]
    first = found[0]
    register.tick(first.system_id, first.obligation_id, by="Ann", evidence="done")
    after = register.deadlines(within_days=30, as_of="2026-07-03")
    assert len(after) == len(found) - 1
    assert len(register.deadlines(within_days=30, as_of="2026-07-03",
                                  include_done=True)) == len(found)
    with pytest.raises(BadInput, match="within_days must be a whole number"):
        register.deadlines(within_days=-1)


# --- export and import ----------------------------------------------------------------------


def populate(register: Register) -> None:
    add(register, channels=["web"], countries=["DE"])
    register.add(name=HOSTILE, description=CHATBOT, owner="=HYPERLINK(\"x\")", by="Bo",
                 contact="+cmd|' /C calc'!A0")
    register.submit(1, by="Ann", comment="Ready for review\nsecond line")
    register.review(1, decision="changes", comment="@SUM(1+1)", by="Kim", token=TOKEN)
    register.tick(1, "ai-literacy-measures", by="Ann", evidence="-2+3 trainings",
                  link="https://x.example/a?b=c")
    register.tick(2, "ai-literacy-measures", by="Bo", evidence="x")
    register.tick(2, "ai-literacy-measures", by="Bo", done=False)


def test_json_export_and_import_round_trip_is_lossless(register, tmp_path):
    populate(register)
    exported = to_json(register)
    restored = Register(tmp_path / "restored.sqlite", reviewer_token=TOKEN)
    assert import_json(restored, exported) == [1, 2]
    again = json.loads(to_json(restored))
    first = json.loads(exported)
    assert first.pop("exported_at") and again.pop("exported_at")
    assert again == first
    assert [restored.get(i).to_dict() for i in (1, 2)] == [register.get(i).to_dict()
                                                           for i in (1, 2)]
    # The restored log is as append-only as the original, and the workflow goes on.
    entry = restored.submit(1, by="Ann")
    assert [d.action for d in entry.log][-1] == "submit"
    assert entry.log[-1].id == 1 + max(d.id for i in (1, 2) for d in register.get(i).log)


def test_import_refuses_a_non_empty_register_and_bad_files(register, tmp_path):
    populate(register)
    exported = to_json(register)
    with pytest.raises(BadInput, match="^the register already holds 2 systems; import a backup "
                                       "into an empty register"):
        import_json(register, exported)
    data = json.loads(exported)
    data["systems"][1]["status"] = "done"
    with pytest.raises(BadInput, match="^import: system 2 .*: status: Value error, unknown "
                                       "status 'done'|^import: system 2 .*unknown status"):
        read_json(json.dumps(data))
    data = json.loads(exported)
    data["systems"][0]["log"][0]["comment"] = "c" * 5001
    with pytest.raises(BadInput, match="comment is 5,001 characters long"):
        read_json(json.dumps(data))
    with pytest.raises(BadInput, match="^import: not JSON"):
        read_json("{nope")
    with pytest.raises(BadInput, match="not a register export"):
        read_json(json.dumps({**json.loads(exported), "format": "something-else"}))
    empty = Register(tmp_path / "empty.sqlite")
    assert empty.list() == []
    assert not empty.file.exists  # reading an absent register creates nothing


def test_csv_export_has_one_row_per_system_with_formulas_neutralised(register):
    populate(register)
    rows = list(csv.DictReader(io.StringIO(to_csv([register.get(1), register.get(2)]),
                                           newline="")))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["risk_level"] == "high_risk"
    assert rows[0]["deciding_refs"] == "Annex III, point 5(b)"
    assert rows[0]["status"] == "changes_requested"
    assert rows[1]["name"] == HOSTILE
    assert rows[1]["owner"] == "'=HYPERLINK(\"x\")"
    assert rows[1]["contact"] == "'+cmd|' /C calc'!A0"
    assert rows[0]["obligations_done"] == "1"


def test_markdown_page_has_the_assessment_checklist_and_log(register, assistant):
    populate(register)
    page = to_markdown(register.get(1))
    assert page.startswith("# AI system 1: Loan scorer\n")
    assert f"corpus version `{assistant.corpus_version}`, law as of {DAY}" in page
    assert "### Annex III, point 5(b)" in page
    assert "> AI systems intended to be used to evaluate the creditworthiness" in page
    assert "| yes | Support AI literacy of staff | Article 4(1) | 2026-08-02 | \\-2+3 " \
           "trainings (https://x.example/a?b=c) — Ann," in page
    assert "| Kim | request changes | submitted → changes requested | @SUM(1+1) |" in page


# --- the file -------------------------------------------------------------------------------


def test_a_register_from_a_newer_version_or_not_a_register_is_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RegisterError, match="written by a newer version of this program"):
        Register(newer).list()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RegisterError, match="is not a usable register .* restore it from a "
                                            "JSON export"):
        Register(junk).list()


def test_the_register_uses_wal_and_the_current_schema(register):
    add(register)
    with sqlite3.connect(register.file.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


# --- two real processes ---------------------------------------------------------------------


def child(script: str, *args: str) -> subprocess.Popen:
    code = textwrap.dedent(script)
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


WRITER = """
    import sys, time
    from pathlib import Path
    from kb.register import Register
    path, name, go, n = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    register = Register(path)
    while not go.exists():
        time.sleep(0.01)
    for i in range(n):
        register.tick(1, "ai-literacy-measures", by=name, evidence=f"{name}-{i}")
        register.comment(1, by=name, text=f"{name} comment {i}")
    print("done")
"""


def test_two_processes_writing_at_once_lose_no_update(register, tmp_path):
    add(register)
    go = tmp_path / "go"
    n = 25
    children = [child(WRITER, str(register.file.path), name, str(go), str(n))
                for name in ("p1", "p2")]
    go.touch()
    outputs = [c.communicate(timeout=240) for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    entry = register.get(1)
    ticks = sorted(d.comment for d in entry.log if d.action == "tick")
    comments = sorted(d.comment for d in entry.log if d.action == "comment")
    assert ticks == sorted(f"{p}-{i}" for p in ("p1", "p2") for i in range(n))
    assert comments == sorted(f"{p} comment {i}" for p in ("p1", "p2") for i in range(n))
    assert entry.system.version == 1 + 2 * n  # every tick counted; comments do not bump it
    ids = [d.id for d in entry.log]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 1 + 4 * n


RACER = """
    import sys, time
    from pathlib import Path
    from kb.errors import Conflict
    from kb.register import Register
    path, name, go, version = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    register = Register(path)
    while not go.exists():
        time.sleep(0.01)
    try:
        register.submit(1, by=name, expected_version=version)
        print("saved")
    except Conflict as error:
        print("conflict:", error)
"""


def test_two_processes_saving_the_same_version_one_wins_one_is_told(register, tmp_path):
    seen = add(register).system.version
    go = tmp_path / "go"
    children = [child(RACER, str(register.file.path), name, str(go), str(seen))
                for name in ("Ann", "Bob")]
    go.touch()
    outputs = [c.communicate(timeout=240)[0].strip() for c in children]
    assert sorted(o.split(":")[0] for o in outputs) == ["conflict", "saved"], outputs
    assert any("was changed by someone else since you opened it" in o for o in outputs)
    entry = register.get(1)
    assert [d.action for d in entry.log] == ["add", "submit"]
    assert entry.system.version == seen + 1


CRASHER = """
    import os, sys
    from kb.register import Register
    register = Register(sys.argv[1])
    with register.file.write() as db:
        db.execute("UPDATE systems SET name = 'half-written', version = version + 1")
        db.execute("INSERT INTO decisions (system_id, at, actor, action, from_status, "
                   "to_status) VALUES (1, 'now', 'crash', 'comment', 'draft', 'draft')")
        os._exit(9)  # the process dies mid-transaction, before COMMIT
"""


def test_a_crash_mid_write_leaves_the_register_as_it_was(register):
    before = add(register)
    crashed = child(CRASHER, str(register.file.path))
    crashed.communicate(timeout=120)
    assert crashed.returncode == 9
    with sqlite3.connect(register.file.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    after = register.get(1)
    assert after.to_dict() == before.to_dict()
    assert register.submit(1, by="Ann").system.version == before.system.version + 1


# --- staying current with the law ------------------------------------------------------------


def test_recheck_after_an_amending_act_flags_exactly_the_affected_systems(fresh_kb):
    settings = fresh_kb.with_(as_of=DAY, reviewer_token=TOKEN)
    register = Register.open(settings, assistant=Assistant.open(settings))
    add(register)
    register.add(name="Tariff bot", description=CHATBOT, owner="CX Care", by="Bo")
    register.add(name="Inbox filter", description=SPAM, owner="IT", by="Cy")
    register.submit(1, by="Ann")
    register.review(1, decision="approve", comment="", by="Kim", token=TOKEN)
    before = {s.id: register.get(s.id).snapshot for s in register.list()}
    assert register.recheck().flagged == ()  # nothing changed yet

    add_to_corpus(settings.corpus_dir)
    said: list[str] = []
    maintain.reindex(settings, say=said.append)  # `python -m ingest`: rechecks by itself
    assert said == ["register: rechecked 3 systems, 1 newly need review (1 in all; see: "
                    "python -m kb register list --needs-review)"]
    register = Register.open(settings)
    assert [(s.id, s.needs_review) for s in register.list()] == [(1, True), (2, False),
                                                                (3, False)]
    entry = register.get(1)
    assert entry.snapshot == before[1]  # the snapshot itself never changes
    assert entry.pending.origin == "recheck" and entry.pending.as_of == DAY
    assert entry.pending.corpus_version != before[1].corpus_version
    diff = entry.diff
    assert diff.risk_level is None
    assert ("annex-iii-credit-scoring", "Credit scoring of individuals is high-risk",
            "2026-08-02", "2027-12-02") in diff.dates
    (old, new), = diff.reasons_changed
    assert old["text"] == before[1].reasons[0]["text"] and new["text"] == NEW_5B
    assert "reason changed: Annex III, point 5(b) (official wording, date)" in diff.lines()
    assert entry.log[-1].action == "recheck"
    assert entry.log[-1].comment.startswith("needs review: date changed: ")
    # The checklist and deadlines follow the law now in force; the owner must adopt it.
    assert {t.due for t in entry.checklist if t.obligation_id != "ai-literacy-measures"} == {
        "2027-12-02"}
    assert entry.system.status is Status.APPROVED  # approved, but flagged: needs review
    register.reopen(1, by="Ann", comment="law changed")
    with pytest.raises(BadTransition, match="^system 1 needs review: a recheck found"):
        register.submit(1, by="Ann")
    # Rechecking again finds the same change: nothing new, nothing duplicated.
    again = register.recheck()
    assert (again.flagged, again.still_flagged, again.cleared) == ((), (1,), ())
    assert [d.action for d in register.get(1).log].count("recheck") == 1
    # The owner adopts the new assessment, and the flag is gone.
    adopted = register.reassess(1, by="Ann")
    assert adopted.snapshot.id == entry.pending.id and adopted.pending is None
    assert adopted.system.status is Status.DRAFT and not adopted.system.needs_review
    assert adopted.log[-1].detail["adopted_recheck"] is True
    assert [s.id for s in register.list(needs_review=True)] == []
    assert register.recheck().flagged == ()
    # ingest impact names the same system.
    review = maintain.impact(settings, questions=None)
    assert review.in_force == IN_FORCE
    assert [s["id"] for s in review.systems] == [1]
    assert "## Registered AI systems whose assessment changes (1)" in review.to_markdown()


def test_recheck_flags_a_duty_that_starts_to_apply_and_clears_it_when_dated_back(register):
    add(register, name="Tariff bot", description=CHATBOT, as_of="2026-01-01")
    assert register.get(1).system.risk_level == "minimal"  # Article 50 not yet applicable
    report = register.recheck(as_of="2026-09-01")
    ((system_id, name, diff),) = report.flagged
    assert (system_id, name, diff.risk_level) == (1, "Tariff bot", ("minimal", "limited"))
    assert diff.lines()[0] == "risk level: minimal → limited"
    assert register.get(1).system.needs_review
    cleared = register.recheck(as_of="2026-01-01")
    assert (cleared.flagged, cleared.cleared) == ((), (1,))
    entry = register.get(1)
    assert not entry.system.needs_review and entry.pending is None
    assert [d.action for d in entry.log] == ["add", "recheck", "recheck_cleared"]


def test_retired_systems_are_not_rechecked(register):
    add(register, name="Tariff bot", description=CHATBOT, as_of="2026-01-01", use="retired")
    assert register.recheck(as_of="2026-09-01").checked == 0


# --- the CLI --------------------------------------------------------------------------------


def run(settings, *args: str, input: str | None = None, token: str = TOKEN):
    env = {"KB_CORPUS_DIR": str(settings.corpus_dir), "KB_DATA_DIR": str(settings.data_dir),
           "CHROMA_HOST": "", "KB_COLLECTION": "kb", "KB_AS_OF": DAY,
           "KB_REVIEWER_TOKEN": token}
    return CliRunner().invoke(cli, ["register", *args], env=env, input=input,
                              catch_exceptions=False)


def test_cli_add_submit_review_show_list_and_deadlines(fresh_kb):
    result = run(fresh_kb, "add", "--name", "Loan scorer", "--description", CREDIT,
                 "--role", "deployer", "--owner", "Credit team", "--vendor", "ScoreCo")
    assert result.exit_code == 0, result.output
    assert result.output == ("Added system 1: Loan scorer — High-risk (draft). Show it with: "
                             "python -m kb register show 1\n")
    assert run(fresh_kb, "submit", "1").output == "System 1 submitted for review.\n"
    refused = run(fresh_kb, "review", "1", "--decision", "approve", "--by", "Kim",
                  "--token", "guess")
    assert refused.exit_code == 1
    assert refused.output.endswith("Error: wrong reviewer token: the review was refused\n")
    prompted = run(fresh_kb, "review", "1", "--decision", "changes", "--comment", "FRIA?",
                   "--by", "Kim", input=TOKEN + "\n")
    assert prompted.exit_code == 0, prompted.output
    assert prompted.output.endswith("System 1: changes requested.\n")
    data = json.loads(run(fresh_kb, "show", "1", "--json").output)
    assert data["status"] == "changes_requested" and data["vendor"] == "ScoreCo"
    assert [d["action"] for d in data["log"]] == ["add", "submit", "request_changes"]
    assert data["log"][1]["by"] == "Credit team"  # --by defaults to the owning team
    assert data["assessment"]["assessment"]["reasons"][0]["ref"] == "Annex III, point 5(b)"
    text = run(fresh_kb, "show", "1").output
    assert "Risk level: High-risk · status changes requested" in text
    assert "Kim  request changes (submitted → changes requested): FRIA?" in text
    listed = json.loads(run(fresh_kb, "list", "--tier", "high_risk", "--json").output)
    assert [s["name"] for s in listed] == ["Loan scorer"]
    assert run(fresh_kb, "list", "--tier", "minimal").output == "No systems.\n"
    soon = json.loads(run(fresh_kb, "deadlines", "--within", "400", "--as-of", "2026-07-01",
                          "--json").output)
    assert {d["due"] for d in soon} == {"2026-08-02"}
    assert run(fresh_kb, "add", "--name", "", "--description", "x", "--owner", "T"
               ).output == "Error: name must not be empty\n"


def test_cli_export_import_round_trip_and_recheck(fresh_kb, tmp_path):
    run(fresh_kb, "add", "--name", "Loan scorer", "--description", CREDIT, "--owner", "Credit")
    run(fresh_kb, "tick", "1", "ai-literacy-measures", "--evidence", "Training held")
    backup = tmp_path / "backup.json"
    assert run(fresh_kb, "export", "--format", "json", "--output", str(backup)).exit_code == 0
    csv_out = run(fresh_kb, "export", "--format", "csv").output
    assert csv_out.splitlines()[1].startswith("1,Loan scorer,Credit,")
    pages = tmp_path / "pages"
    pages.mkdir()
    run(fresh_kb, "export", "--format", "markdown", "--output", str(pages))
    assert (pages / "ai-system-1.md").read_text().startswith("# AI system 1: Loan scorer")
    other = fresh_kb.with_(data_dir=tmp_path / "other-data")
    restored = run(other, "import", str(backup))
    assert restored.output == "Imported 1 systems.\n"
    assert json.loads(run(other, "export").output)["systems"] == \
        json.loads(backup.read_text())["systems"]
    updated = run(fresh_kb, "update", "1", "--use", "live", "--country", "DE", "--country", "AT")
    assert updated.output == "System 1 updated.\n"
    assert json.loads(run(fresh_kb, "show", "1", "--json").output)["countries"] == ["DE", "AT"]
    again = run(other, "import", str(backup))
    assert again.exit_code == 1 and "already holds 1 system;" in again.output
    report = json.loads(run(fresh_kb, "recheck", "--json").output)
    assert (report["checked"], report["flagged"], report["as_of"]) == (1, [], DAY)
