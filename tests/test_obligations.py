"""kb.obligations: the catalogue, its validation, the scenario finder and question matching.

Fast tests use the real catalogue with placeholder dates (past or future) to test the status
logic; tests marked ``corpus`` parse the AI Act, apply Regulation (EU) 2026/1744 and build
the application table of kb.law.dates, and check every ref and date against that law.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from ingest.consolidate import consolidate, in_force_on
from ingest.eurlex import parse_eurlex
from ingest.instructions import entry_into_force, parse_instructions
from ingest.manifest import find, load_manifest
from ingest.parsers import parse_document, source_files
from kb.errors import BadQuestion, CatalogueError
from kb.law.dates import application_table, chapter_resolver
from kb.obligations.catalogue import (
    CATALOGUE_PATH,
    ROLES,
    SCOPES,
    Obligation,
    ObligationSpec,
    dated,
    load_catalogue,
    match_obligations,
    obligation_json,
    parse_catalogue,
    sentence_count,
)
from kb.obligations.scenario import SYSTEMS, SYSTEMS_PATH, load_systems, parse_systems, scenario
from kb.records import Provision
from kb.text import words

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
AS_OF = "2026-11-27"
PAST, FUTURE = "2000-01-01", "2099-01-01"  # placeholder dates: the status logic only

# The provisions the catalogue must cover (the brief of the obligations catalogue).
REQUIRED_REFS = (
    ["Article 4(1)"]
    + [f"Article 5(1)({p})" for p in ("a", "b", "ba", "bb", "c", "d", "e", "f", "g", "h")]
    + ["Article 6(3)", "Article 6(4)"]
    + [f"Article {n}(1)" for n in (9, 11, 12, 13, 14, 15, 17, 22, 23, 24, 25, 27, 49, 72, 73, 86)]
    + ["Article 10(2)", "Article 16(a)", "Article 99(3)", "Article 53(1)(a)", "Article 55(1)(a)"]
    + [f"Article 26({n})" for n in (1, 2, 5, 6, 7, 11)]
    + [f"Article 50({n})" for n in (1, 2, 3, 4)]
    + [f"Annex III, point {p}" for p in ("1(a)", "1(c)", "4", "5(b)", "5(c)", "5(d)")]
)


@pytest.fixture(scope="module")
def specs() -> list[ObligationSpec]:
    return load_catalogue()


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))


def with_date(spec: ObligationSpec, applies_from: str) -> Obligation:
    values = {f.name: getattr(spec, f.name) for f in fields(ObligationSpec)}
    return Obligation(**values, applies_from=applies_from)


@pytest.fixture(scope="module")
def in_force(specs) -> list[Obligation]:
    """Every obligation already applicable (placeholder past date)."""
    return [with_date(s, PAST) for s in specs]


def statuses(checklist) -> dict[str, str]:
    return {item.obligation.id: item.status for item in checklist.items}


def refs_of(checklist) -> set[str]:
    return {ref for item in checklist.items for ref in item.obligation.refs}


def broken(raw: dict, **changes) -> dict:
    """A copy of the catalogue whose first obligation has ``changes``."""
    data = copy.deepcopy(raw)
    data["obligations"][0].update(changes)
    return data


# --- the catalogue ----------------------------------------------------------------------


def test_catalogue_has_at_least_50_obligations_with_unique_ids(specs):
    ids = [s.id for s in specs]
    assert len(ids) >= 50
    assert len(set(ids)) == len(ids)


def test_catalogue_covers_the_required_provisions(specs):
    cited = {ref for s in specs for ref in s.refs}
    assert [ref for ref in REQUIRED_REFS if ref not in cited] == []


def test_every_entry_has_known_roles_scope_and_one_to_three_examples(specs):
    for s in specs:
        assert set(s.roles) <= set(ROLES), s.id
        assert s.applies_to in SCOPES, s.id
        assert 1 <= len(s.cx_examples) <= 3, s.id
        assert sentence_count(s.summary) <= 2, s.id


def test_ai_literacy_cites_article_4_as_replaced(specs):
    literacy = next(s for s in specs if s.id == "ai-literacy-measures")
    assert literacy.refs == ("Article 4(1)",)
    assert set(literacy.roles) == {"provider", "deployer"}
    assert literacy.applies_to == "all_ai_systems"


def test_new_prohibitions_cite_the_inserted_points(specs):
    by_id = {s.id: s for s in specs}
    assert by_id["prohibited-intimate-deepfakes"].refs[0] == "Article 5(1)(ba)"
    assert by_id["prohibited-csam-generation"].refs[0] == "Article 5(1)(bb)"
    assert by_id["prohibited-intimate-deepfakes"].applies_to == "prohibited_practice"


def test_fria_condition_names_credit_scoring_and_insurance(specs):
    fria = next(s for s in specs if s.id == "fundamental-rights-impact-assessment")
    assert fria.refs[0] == "Article 27(1)"
    assert "Annex III, point 5(b) or 5(c)" in fria.condition


def test_duplicate_id_is_rejected_naming_the_id(raw):
    data = copy.deepcopy(raw)
    data["obligations"].append(copy.deepcopy(data["obligations"][0]))
    with pytest.raises(CatalogueError, match="duplicate obligation id 'ai-literacy-measures'"):
        parse_catalogue(data)


def test_unknown_role_is_rejected_naming_the_role(raw):
    with pytest.raises(CatalogueError, match="unknown role 'customer'"):
        parse_catalogue(broken(raw, roles=["provider", "customer"]))


def test_unknown_scope_is_rejected_naming_the_scope(raw):
    with pytest.raises(CatalogueError, match="unknown scope 'chatbots'"):
        parse_catalogue(broken(raw, applies_to="chatbots"))


def test_summary_of_three_sentences_is_rejected(raw):
    with pytest.raises(CatalogueError, match="more than two sentences"):
        parse_catalogue(broken(raw, summary="One. Two. Three."))


def test_date_in_summary_is_rejected_naming_the_date(raw):
    summary = "Applies from 2 August 2026 to all providers."
    with pytest.raises(CatalogueError, match="date '2 August'"):
        parse_catalogue(broken(raw, summary=summary))


def test_empty_refs_are_rejected(raw):
    with pytest.raises(CatalogueError, match="missing refs"):
        parse_catalogue(broken(raw, refs=[]))


def test_non_canonical_ref_is_rejected_naming_the_ref(raw):
    with pytest.raises(CatalogueError, match=r"ref 'Art\. 4' is not a canonical ref"):
        parse_catalogue(broken(raw, refs=["Art. 4"]))


def test_unknown_condition_fact_is_rejected_naming_the_fact(raw):
    with pytest.raises(CatalogueError, match="unknown fact 'is_big'"):
        parse_catalogue(broken(raw, condition="is_big"))


def test_unreadable_catalogue_file_raises_catalogue_error(tmp_path):
    path = tmp_path / "obligations.yaml"
    path.write_text("obligations: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogueError, match="cannot read obligations catalogue"):
        load_catalogue(path)


def test_sentence_count_ignores_refs_and_percentages():
    assert sentence_count("Fines reach 7 % of turnover under Article 99(3).") == 1
    assert sentence_count("You must act. Then report it! Why?") == 3


# --- JSON and matching ------------------------------------------------------------------


def test_obligation_json_has_exactly_the_documented_keys(in_force):
    chatbot = next(o for o in in_force if o.id == "transparency-chatbot-disclosure")
    data = obligation_json(chatbot)
    assert list(data) == ["id", "title", "summary", "roles", "refs", "applies_from"]
    assert data["id"] == "transparency-chatbot-disclosure"
    assert data["roles"] == ["provider"]
    assert data["refs"] == ["Article 50(1)"]
    assert data["applies_from"] == PAST


def test_chatbot_question_matches_the_disclosure_obligation_first(specs):
    found = match_obligations("Do we have to tell customers they are talking to a chatbot?", specs)
    assert found[0].id == "transparency-chatbot-disclosure"


def test_cited_ref_matches_the_obligation_that_cites_it(specs):
    found = match_obligations("What does Art. 26(7) require from us?", specs)
    assert [o.id for o in found] == ["deployer-inform-workers"]


def test_enclosing_ref_matches_the_obligations_of_its_paragraphs(specs):
    found = match_obligations("Explain Article 26", specs, limit=20)
    assert {o.refs[0] for o in found} >= {"Article 26(1)", "Article 26(7)", "Article 26(11)"}
    assert all(any(r.startswith("Article 26(") for r in o.refs) for o in found)


def test_staff_emotion_question_matches_the_workplace_prohibition_first(specs):
    found = match_obligations("Can we use emotion recognition on our agents?", specs)
    assert found[0].refs == ("Article 5(1)(f)",)


def test_gdpr_article_does_not_match_the_ai_act_article_of_that_number(specs):
    found = match_obligations("What does Article 22 GDPR say?", specs)
    assert found == []


def test_unrelated_question_matches_nothing(specs):
    assert match_obligations("What is the weather in Paris tomorrow?", specs) == []


def test_fine_tuning_question_does_not_match_penalties(specs):
    found = match_obligations("Can we fine-tune a model on our call transcripts?", specs)
    assert [o.id for o in found] == ["gpai-modification-makes-provider"]


def test_limit_below_one_is_rejected(specs):
    with pytest.raises(ValueError, match="limit must be >= 1, got 0"):
        match_obligations("chatbot", specs, limit=0)


# --- systems and scenarios (placeholder dates) ------------------------------------------


def test_every_system_names_known_obligations_and_facts(specs):
    ids = {s.id for s in specs}
    facts = {f.key for s in specs for f in s.conditions + s.unless}
    for system in SYSTEMS.values():
        assert [i for i in system.obligations if i not in ids] == [], system.key
        assert {k for k, _ in system.given} <= facts, system.key
        assert set(system.deciding) <= facts, system.key
        assert set(system.scopes) <= set(SCOPES), system.key


def test_the_finder_offers_the_cx_systems_of_the_brief():
    assert list(SYSTEMS) == [
        "customer_service_chatbot",
        "voice_bot",
        "agent_assist",
        "customer_emotion_analytics",
        "staff_emotion_analytics",
        "credit_scoring",
        "insurance_pricing",
        "marketing_content",
        "biometrics",
        "emergency_triage",
        "other",
    ]
    assert SYSTEMS["credit_scoring"].annex_iii == ("Annex III, point 5(b)",)
    assert SYSTEMS["customer_emotion_analytics"].annex_iii == ("Annex III, point 1(c)",)


def test_chatbot_gives_its_provider_the_ai_disclosure_duty(in_force):
    checklist = scenario("provider", "customer_service_chatbot", table=None, catalogue=in_force)
    assert statuses(checklist)["transparency-chatbot-disclosure"] == "applies"
    assert {"Article 50(1)", "Article 4(1)"} <= refs_of(checklist)


def test_chatbot_gives_its_deployer_ai_literacy_but_not_the_provider_duty(in_force):
    checklist = scenario("deployer", "customer_service_chatbot", table=None, catalogue=in_force)
    assert statuses(checklist)["ai-literacy-measures"] == "applies"
    assert "Article 4(1)" in refs_of(checklist)
    assert "Article 50(1)" not in refs_of(checklist)


def test_unanswered_condition_gives_depends_on_with_the_question(in_force):
    checklist = scenario("provider", "customer_service_chatbot", table=None, catalogue=in_force)
    status = statuses(checklist)["transparency-synthetic-content-marking"]
    assert status.startswith("depends on: Does the system generate or alter text, audio")
    assert any(q.startswith("Does the system generate") for q in checklist.open_questions)


def test_answered_fact_turns_depends_on_into_applies(in_force):
    facts = {"generates_content": True, "on_market_before_art50": False}
    checklist = scenario(
        "provider", "customer_service_chatbot", table=None, facts=facts, catalogue=in_force
    )
    found = statuses(checklist)
    assert found["transparency-synthetic-content-marking"] == "applies"
    assert "transparency-legacy-generative-marking" not in found


def test_staff_emotion_analytics_is_prohibited(in_force):
    checklist = scenario("deployer", "staff_emotion_analytics", table=None, catalogue=in_force)
    assert statuses(checklist) == {
        "prohibited-emotion-recognition-work-education": "prohibited",
        "ai-literacy-measures": "applies",
    }
    assert checklist.items[0].obligation.refs == ("Article 5(1)(f)",)
    assert checklist.open_questions[0].startswith("Is the emotion inference put in place")
    assert checklist.notes[0].startswith("A prohibited practice applies")


def test_staff_emotion_analytics_for_safety_reasons_is_not_prohibited(in_force):
    facts = {"medical_or_safety": True}
    checklist = scenario(
        "deployer", "staff_emotion_analytics", table=None, facts=facts, catalogue=in_force
    )
    found = statuses(checklist)
    assert "prohibited-emotion-recognition-work-education" not in found
    assert found["annex-iii-emotion-recognition"] == "applies"


def test_customer_emotion_analytics_needs_notice_and_is_high_risk_not_prohibited(in_force):
    checklist = scenario("deployer", "customer_emotion_analytics", table=None, catalogue=in_force)
    found = statuses(checklist)
    assert found["transparency-emotion-recognition-notice"] == "applies"
    assert found["annex-iii-emotion-recognition"] == "applies"
    assert "Article 5(1)(f)" not in refs_of(checklist)
    assert any("para. 266" in note for note in checklist.notes)


def test_text_only_sentiment_is_not_emotion_recognition(in_force):
    checklist = scenario(
        "deployer",
        "customer_emotion_analytics",
        table=None,
        facts={"text_only": True},
        catalogue=in_force,
    )
    found = statuses(checklist)
    assert "annex-iii-emotion-recognition" not in found
    assert "transparency-emotion-recognition-notice" not in found
    assert "deployer-use-as-instructed" not in found  # no Annex III point left: not high-risk


def test_credit_scoring_deployer_gets_article_26_duties_and_the_fria(in_force):
    checklist = scenario("deployer", "credit_scoring", table=None, catalogue=in_force)
    cited = refs_of(checklist)
    assert {"Article 26(1)", "Article 26(2)", "Article 26(5)", "Article 26(6)"} <= cited
    assert {"Article 26(11)", "Article 27(1)", "Article 86(1)"} <= cited
    found = statuses(checklist)
    assert found["fundamental-rights-impact-assessment"] == "applies"
    assert found["deployer-inform-workers"].startswith("depends on: Will the high-risk system")


def test_credit_scoring_used_only_against_fraud_is_not_high_risk(in_force):
    checklist = scenario(
        "deployer",
        "credit_scoring",
        table=None,
        facts={"fraud_detection_only": True},
        catalogue=in_force,
    )
    assert not any(r.startswith(("Article 26", "Article 27")) for r in refs_of(checklist))
    assert "ai-literacy-measures" in statuses(checklist)


def test_future_obligation_shows_its_date(specs):
    future = [with_date(s, FUTURE) for s in specs]
    checklist = scenario("deployer", "credit_scoring", table=None, catalogue=future, as_of=AS_OF)
    assert statuses(checklist)["deployer-use-as-instructed"] == f"applies from {FUTURE}"
    assert all(item.date == FUTURE for item in checklist.items)


def test_other_system_adds_obligations_matching_the_description(in_force):
    checklist = scenario(
        "deployer",
        "other",
        table=None,
        free_text="An advert with a deepfake voice clone of our CEO",
        catalogue=in_force,
    )
    assert "transparency-deep-fake-disclosure" in statuses(checklist)
    assert checklist.free_text.startswith("An advert")


def test_unknown_role_system_fact_and_date_are_rejected(in_force):
    with pytest.raises(BadQuestion, match="unknown role 'customer'"):
        scenario("customer", "voice_bot", table=None, catalogue=in_force)
    with pytest.raises(BadQuestion, match="unknown system 'fax'"):
        scenario("provider", "fax", table=None, catalogue=in_force)
    with pytest.raises(BadQuestion, match="unknown fact 'is_big'"):
        scenario("provider", "voice_bot", table=None, facts={"is_big": True}, catalogue=in_force)
    with pytest.raises(BadQuestion, match="as-of must be a date YYYY-MM-DD, got '27.11.2026'"):
        scenario("provider", "voice_bot", table=None, as_of="27.11.2026", catalogue=in_force)


# --- exports ----------------------------------------------------------------------------


def test_markdown_export_lists_status_obligation_refs_and_questions(in_force):
    md = scenario(
        "provider", "customer_service_chatbot", table=None, catalogue=in_force, as_of=AS_OF
    ).to_markdown()
    assert md.startswith("# AI Act checklist: Customer-service chatbot, provider\n")
    assert f"Status as of {AS_OF}." in md
    assert "| Status | Obligation | Legal basis | Applies from |" in md
    assert "| applies | **Tell people they are talking to an AI**: Providers must design" in md
    assert f"| Article 50(1) | {PAST} |" in md
    assert "## Open questions\n\n- Does the system generate or alter text" in md
    assert "## Notes\n\n- Article 50(1) binds the provider" in md


def test_markdown_export_escapes_pipes_in_user_text(in_force):
    md = scenario(
        "deployer", "other", table=None, free_text="bot | chat", catalogue=in_force
    ).to_markdown()
    assert "System described as: bot \\| chat" in md


def test_csv_export_has_a_header_and_one_row_per_item(in_force):
    checklist = scenario("deployer", "credit_scoring", table=None, catalogue=in_force)
    rows = list(csv.reader(io.StringIO(checklist.to_csv())))
    assert rows[0] == ["status", "id", "title", "summary", "refs", "applies_from", "roles"]
    assert len(rows) == len(checklist.items) + 1
    fria = next(r for r in rows if r[1] == "fundamental-rights-impact-assessment")
    assert fria[0] == "applies"
    assert fria[4] == "Article 27(1); Article 27(2); Article 27(4)"
    assert fria[5] == PAST
    assert fria[6] == "deployer"


def test_checklist_dict_items_use_the_obligation_json_shape(in_force):
    data = scenario("provider", "voice_bot", table=None, catalogue=in_force).to_dict()
    item = data["items"][0]
    assert list(item) == ["id", "title", "summary", "roles", "refs", "applies_from", "status"]


# --- the real law (corpus) --------------------------------------------------------------

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS = {m: n for n, m in enumerate(MONTH_NAMES, 1)}
_DATE_TEXT = re.compile(r"(\d{1,2}) (" + "|".join(MONTHS) + r") (\d{4})")


def iso_dates(text: str) -> list[str]:
    """The dates written in an official text, as ISO strings, in order."""
    return [f"{y}-{MONTHS[m]:02d}-{int(d):02d}" for d, m, y in _DATE_TEXT.findall(text)]


@pytest.fixture(scope="module")
def consolidated() -> list[Provision]:
    """Every version of the AI Act provisions after Regulation (EU) 2026/1744."""
    docs = load_manifest(CORPUS / "manifest.toml")
    act, omnibus = find(docs, "eu-ai-act"), find(docs, "ai-omnibus-2026")
    base = parse_eurlex((CORPUS / act.file).read_bytes(), act)
    path = source_files(CORPUS, omnibus)[0]
    instructions = parse_instructions(path, omnibus)
    result = consolidate(base, omnibus, instructions, in_force=entry_into_force(path))
    assert result.failed == []
    return result.provisions


@pytest.fixture(scope="module")
def law(consolidated) -> dict[str, Provision]:
    return {p.ref: p for p in in_force_on(consolidated, AS_OF)}


@pytest.fixture(scope="module")
def table(consolidated):
    return application_table(consolidated, AS_OF)


@pytest.fixture(scope="module")
def dated_catalogue(specs, table, law) -> list[Obligation]:
    return dated(specs, table, chapter_of=chapter_resolver(law.values()))


def article_of(ref: str) -> str:
    return re.match(r"^Article \d+[a-z]*", ref).group()


@pytest.mark.corpus
def test_every_catalogue_ref_is_in_force_on_the_checklist_date(specs, consolidated, law):
    missing = [(s.id, ref) for s in specs for ref in s.refs if ref not in law]
    assert missing == []
    # None is repealed either: no catalogue ref has a deleted version (tombstone) today.
    deleted = {p.ref for p in consolidated if p.deleted}
    assert [ref for s in specs for ref in s.refs if ref in deleted] == []


@pytest.mark.corpus
def test_amended_provisions_are_cited_in_their_amended_wording(law):
    assert "support the development of AI literacy" in law["Article 4(1)"].text
    assert "identifiable natural person’s intimate parts" in law["Article 5(1)(ba)"].text
    assert "2 December 2026" in law["Article 111(4)"].text


@pytest.mark.corpus
def test_every_recital_and_guideline_ref_resolves(specs, law):
    docs = {d.cite_as: d for d in load_manifest(CORPUS / "manifest.toml") if d.cite_as}
    wanted = [r for s in specs for r in s.recitals + s.guidelines if not r.startswith("Recital")]
    found: set[str] = {r for s in specs for r in s.recitals if r in law}
    for cite_as in {ref.split(",")[0] for ref in wanted}:
        found |= {p.ref for p in parse_document(CORPUS, docs[cite_as])}
    missing = [r for s in specs for r in s.recitals + s.guidelines if r not in found]
    assert missing == []


@pytest.mark.corpus
def test_every_application_date_matches_article_113_as_amended(dated_catalogue, law):
    # Expected dates read straight from the consolidated text of Articles 113 and 111.
    point_a = law["Article 113(a)"].text
    assert "points (ba) and (bb), and Article 5(1a) and (1b)" in point_a
    first_date, later_prohibitions = iso_dates(point_a)
    later = ("Article 5(1)(ba)", "Article 5(1)(bb)", "Article 5(1a)", "Article 5(1b)")
    general_line = next(
        line for line in law["Article 113"].text.splitlines() if line.startswith("It shall apply")
    )
    point_b = iso_dates(law["Article 113(b)"].text)[0]  # Chapters V and XII among others
    by_chapter = {"I": first_date, "II": first_date, "V": point_b, "XII": point_b}
    by_scope = {
        "high_risk_annex_iii": iso_dates(law["Article 113(c)(i)"].text)[0],
        "high_risk_annex_i": iso_dates(law["Article 113(c)(ii)"].text)[0],
        "legacy_generative_system": iso_dates(law["Article 111(4)"].text)[-1],
        "public_authority_legacy": iso_dates(law["Article 111(2)"].text)[-1],
    }
    general = iso_dates(general_line)[0]
    wrong = []
    for o in dated_catalogue:
        chapter = re.match(r"Chapter ([IVXLC]+)", law[article_of(o.refs[0])].chapter).group(1)
        if o.refs[0] in later:
            expected = later_prohibitions
        else:
            expected = by_scope.get(o.applies_to) or by_chapter.get(chapter) or general
        if o.applies_from != expected:
            wrong.append((o.id, o.applies_from, expected))
    assert wrong == []


@pytest.mark.corpus
def test_the_amendment_moved_the_dates_the_checklist_shows(dated_catalogue):
    dates = {o.id: o.applies_from for o in dated_catalogue}
    assert dates["deployer-use-as-instructed"] == "2027-12-02"  # Annex III: Article 113(c)(i)
    assert dates["right-to-explanation"] == "2027-12-02"  # waits for classification
    assert dates["value-chain-product-manufacturer"] == "2028-08-02"  # Annex I
    assert dates["prohibited-intimate-deepfakes"] == "2026-12-02"
    assert dates["transparency-legacy-generative-marking"] == "2026-12-02"  # Article 111(4)
    assert dates["transparency-chatbot-disclosure"] == "2026-08-02"
    assert dates["ai-literacy-measures"] == "2025-02-02"


@pytest.mark.corpus
def test_summaries_are_not_copied_from_the_legal_text(specs, law):
    def windows(text: str, n: int = 8) -> set[tuple[str, ...]]:
        tokens = words(text)
        return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}

    copied = []
    for s in specs:
        legal = set().union(*(windows(law[ref].text) for ref in s.refs))
        if windows(s.summary) & legal:
            copied.append(s.id)
    assert copied == []


@pytest.mark.corpus
def test_chatbot_on_the_real_table(table, specs):
    provider = scenario("provider", "customer_service_chatbot", table=table, as_of=AS_OF)
    deployer = scenario("deployer", "customer_service_chatbot", table=table, as_of=AS_OF)
    disclosure = next(i for i in provider.items if i.obligation.refs == ("Article 50(1)",))
    assert (disclosure.status, disclosure.date) == ("applies", "2026-08-02")
    literacy = next(i for i in deployer.items if i.obligation.refs == ("Article 4(1)",))
    assert (literacy.status, literacy.date) == ("applies", "2025-02-02")
    assert "Article 50(1)" not in refs_of(deployer)


@pytest.mark.corpus
def test_staff_emotion_analytics_on_the_real_table_is_prohibited(table):
    checklist = scenario("deployer", "staff_emotion_analytics", table=table, as_of=AS_OF)
    first = checklist.items[0]
    assert (first.obligation.refs[0], first.status) == ("Article 5(1)(f)", "prohibited")


@pytest.mark.corpus
def test_credit_scoring_deployer_on_the_real_table(table):
    checklist = scenario("deployer", "credit_scoring", table=table, as_of=AS_OF)
    found = {i.obligation.refs[0]: i.status for i in checklist.items}
    for ref in ("Article 26(1)", "Article 26(2)", "Article 26(5)", "Article 26(6)"):
        assert found[ref] == "applies from 2027-12-02", ref
    assert found["Article 26(11)"] == "applies from 2027-12-02"
    assert found["Article 27(1)"] == "applies from 2027-12-02"
    assert found["Article 86(1)"] == "applies from 2027-12-02"


@pytest.mark.corpus
def test_new_prohibition_applies_from_its_own_date(table):
    facts = {"intimate_content": True}
    before = scenario("provider", "marketing_content", table=table, facts=facts, as_of=AS_OF)
    after = scenario("provider", "marketing_content", table=table, facts=facts, as_of="2026-12-02")
    assert statuses(before)["prohibited-intimate-deepfakes"] == "applies from 2026-12-02"
    assert statuses(after)["prohibited-intimate-deepfakes"] == "prohibited"


@pytest.mark.corpus
def test_generative_system_already_on_the_market_gets_the_transition(table):
    facts = {"on_market_before_art50": True}
    checklist = scenario("provider", "voice_bot", table=table, facts=facts, as_of=AS_OF)
    found = statuses(checklist)
    assert found["transparency-legacy-generative-marking"] == "applies from 2026-12-02"
    assert "transparency-synthetic-content-marking" not in found
    assert found["transparency-chatbot-disclosure"] == "applies"


# --- data-file validation (pydantic) ------------------------------------------------------


def test_catalogue_error_names_the_file_the_entry_and_the_value(raw):
    with pytest.raises(CatalogueError, match=r"^obligations\.yaml: obligation "
                       r"'ai-literacy-measures': roles: unknown role 'customer'"):
        parse_catalogue(broken(raw, roles=["customer"]))


def test_unknown_field_in_an_obligation_is_rejected(raw):
    with pytest.raises(CatalogueError, match="obligation 'ai-literacy-measures': colour"):
        parse_catalogue(broken(raw, colour="blue"))


def test_systems_file_reproduces_the_finder_systems(specs):
    systems = load_systems(SYSTEMS_PATH, catalogue=specs)
    assert systems == SYSTEMS
    assert systems["credit_scoring"].given[0] == ("high_risk", True)
    assert "high-risk-risk-management" in systems["credit_scoring"].obligations  # @high_risk


def test_systems_file_with_an_unknown_obligation_names_file_system_and_id(specs):
    data = yaml.safe_load(SYSTEMS_PATH.read_text(encoding="utf-8"))
    data["systems"][0]["obligations"].append("no-such-duty")
    with pytest.raises(CatalogueError, match="systems.yaml: system 'customer_service_chatbot': "
                       "unknown obligation id 'no-such-duty'"):
        parse_systems(data, specs)


def test_systems_file_with_an_unknown_scope_names_the_scope(specs):
    data = yaml.safe_load(SYSTEMS_PATH.read_text(encoding="utf-8"))
    data["systems"][1]["scopes"] = ["everything"]
    with pytest.raises(CatalogueError, match="system 'voice_bot': scopes: unknown scope "
                       "'everything'"):
        parse_systems(data, specs)
