"""kb.obligations.assess: the assessment engine, its trigger catalogue, JSON shape and errors.

Fast tests run on the fixture corpus (Articles 3, 5, 6, 50, 113 and Annex III of the original
text); tests that need the amended Act (Article 5(1)(ba), Annex I, Article 6(1a)) or the date
table as amended are marked ``corpus``.  Descriptions are written for these tests, not taken
from the development set.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from kb.errors import BadQuestion, CatalogueError, UnknownChoice
from kb.obligations.assess import describes_system, summary, to_markdown
from kb.obligations.schema import validate
from kb.obligations.triggers import TRIGGERS_PATH, TriggerFile, default_triggers, normalise

AS_OF = "2026-12-15"
BATCH_KEYS = ["description", "role", "role_assumed", "risk_level", "tiers", "reasons",
              "exceptions_considered", "questions", "obligations", "as_of", "timing_ms"]


def refs(a) -> set[str]:
    return {r.ref for r in a.reasons}


def considered(a) -> set[str]:
    return {c.ref for c in a.exceptions_considered}


# --- Article 5: one positive and one near miss per point (fixture corpus) ------------------

ARTICLE_5 = [
    ("Article 5(1)(a)", "Our ad platform hides flashing subliminal images in videos that viewers "
     "cannot consciously perceive, pushing them to take out high-interest loans they later "
     "default on.",
     "Our security team runs phishing-simulation e-mails to train employees to spot scams; "
     "the platform picks which template each person gets to protect them."),
    ("Article 5(1)(b)", "The app targets elderly people with dementia and pushes them to sign up "
     "for expensive subscriptions they cannot cancel, draining their savings.",
     "Our bank warns older customers and calls them before releasing an unusual large transfer "
     "to protect them from scams."),
    ("Article 5(1)(c)", "A municipality scores residents on late library returns, their "
     "social-media activity and traffic fines; low scorers lose access to social housing.",
     "Our shop gives loyal customers with few returns faster refunds; a model decides who "
     "qualifies and the others keep the standard process."),
    ("Article 5(1)(d)", "The police tool predicts which individuals are likely to commit a crime "
     "in the future based only on their nationality, age and neighbourhood.",
     "Police hotspot forecasting predicts which city blocks are likely to see burglaries next "
     "week to plan patrols."),
    ("Article 5(1)(e)", "Our start-up scrapes face images from social media and the open web to "
     "build a searchable facial recognition database we sell to businesses.",
     "We collected portrait photos with consent to train a generator of faces of people who "
     "do not exist; it never identifies anyone."),
    ("Article 5(1)(f)", "We use software that reads our call-centre agents' stress and anger from "
     "their voice during calls and reports it to team leaders.",
     "We analyse callers' tone of voice in our contact centre to detect frustrated customers "
     "and route them to senior agents."),
    ("Article 5(1)(g)", "The system analyses faces in photos to infer each person's sexual "
     "orientation and religion for ad targeting.",
     "Our survey tool asks respondents their religion in a written questionnaire and "
     "aggregates the answers."),
    ("Article 5(1)(h)", "The police run live facial recognition on CCTV cameras at the main "
     "train station to spot people wanted for shoplifting.",
     "After a riot, investigators ran recorded CCTV footage through facial recognition to "
     "identify suspects."),
]


@pytest.mark.parametrize(("ref", "positive", "near_miss"), ARTICLE_5,
                         ids=[c[0] for c in ARTICLE_5])
def test_each_article_5_point_has_a_positive_and_a_near_miss(assistant, ref, positive,
                                                              near_miss):
    hit = assistant.assess(positive, as_of=AS_OF)
    assert hit.risk_level == "prohibited", (ref, hit.to_dict())
    assert hit.reasons[0].ref == ref
    miss = assistant.assess(near_miss, as_of=AS_OF)
    assert miss.risk_level != "prohibited", (ref, miss.to_dict())
    assert ref not in refs(miss)


# --- Annex III: one positive and one near miss per area ----------------------------------

ANNEX_III = [
    ("Annex III, point 1(a)", "Our supermarket chain uses facial recognition at the entrances "
     "to identify people on our own list of known shoplifters; the police are not involved.",
     "Customers log in to our banking app with a face scan matched against the selfie taken "
     "at onboarding.", "minimal"),
    ("Annex III, point 2", "An ML system at the electricity transmission operator automatically "
     "triggers load shedding to prevent blackouts.",
     "Predictive maintenance for our wind farm predicts gearbox failures so we can schedule "
     "repairs.", "minimal"),
    ("Annex III, point 3(a)", "The university's model ranks every applicant and decides "
     "admission to the medicine programme.",
     "A school timetable generator schedules classes, rooms and teachers.", "minimal"),
    ("Annex III, point 4(a)", "Our HR team uses an AI tool that screens CVs and ranks job "
     "candidates for our contact centre, rejecting the lowest scores.",
     "A CV parser extracts names, contact details and work history into our applicant "
     "database; it doesn't score, rank or filter anyone.", "minimal"),
    ("Annex III, point 5(b)", "Our bank uses a machine-learning model to decide whether "
     "consumers get a personal loan and at what interest rate.",
     "Card-payment fraud detection at our bank scores each transaction and blocks suspicious "
     "payments.", "minimal"),
    ("Annex III, point 6(a)", "A police tool assesses the risk that a domestic-violence victim "
     "will be attacked again, to prioritise protection.",
     "Our insurer's model flags suspicious car-damage claims for the claims team.", "minimal"),
    ("Annex III, point 7(c)", "The asylum authority uses AI to assess the credibility of "
     "applicants' accounts and drafts a recommendation for the case officer.",
     "Automated border e-gates compare the traveller's face with the photo in their passport "
     "chip.", "minimal"),
    ("Annex III, point 8(a)", "The court's system suggests how the law applies to the facts of "
     "each case and drafts reasoning for judges.",
     "Our campaign HQ tool optimises canvassing routes and volunteer shift schedules for the "
     "election.", "minimal"),
]


@pytest.mark.parametrize(("ref", "positive", "near_miss", "expected"), ANNEX_III,
                         ids=[c[0] for c in ANNEX_III])
def test_each_annex_iii_area_has_a_positive_and_a_near_miss(assistant, ref, positive,
                                                             near_miss, expected):
    hit = assistant.assess(positive, as_of=AS_OF)
    assert hit.risk_level == "high_risk", (ref, hit.to_dict())
    assert ref in refs(hit)
    miss = assistant.assess(near_miss, as_of=AS_OF)
    assert miss.risk_level == expected, (ref, miss.to_dict())
    assert ref not in refs(miss)


def test_customer_emotions_from_voice_are_high_risk_and_limited_not_prohibited(assistant):
    a = assistant.assess("We analyse callers' tone of voice to detect angry customers and "
                         "route them to senior agents.", as_of=AS_OF)
    assert (a.risk_level, a.tiers) == ("high_risk", ("high_risk", "limited"))
    assert {"Annex III, point 1(c)", "Article 50(3)"} <= refs(a)
    assert "Article 5(1)(f)" in considered(a)


def test_text_sentiment_of_customers_is_minimal_with_article_3_39_considered(assistant):
    a = assistant.assess("We run sentiment analysis on customers' written reviews and chat "
                         "messages to find unhappy customers.", as_of=AS_OF)
    assert a.risk_level == "minimal"
    assert "Article 3(39)" in considered(a)


def test_fraud_only_answer_takes_credit_scoring_out_and_says_why(assistant):
    a = assistant.assess("Our bank uses a model to decide who gets a loan.", as_of=AS_OF,
                         facts={"fraud_detection_only": True})
    assert a.risk_level == "minimal"
    assert "Annex III, point 5(b)" in considered(a)


def test_medical_or_safety_reasons_lift_the_workplace_prohibition(assistant):
    text = "A camera system watches our crane operators' faces for panic during alarms."
    assert assistant.assess(text, as_of=AS_OF).risk_level == "prohibited"
    allowed = assistant.assess(text, as_of=AS_OF, facts={"medical_or_safety": "yes"})
    assert allowed.risk_level == "high_risk"
    assert "Article 5(1)(f)" in considered(allowed)


def test_profiling_keeps_an_annex_iii_system_high_risk_despite_a_narrow_task(assistant):
    text = ("Before a caseworker opens a benefit application, the tool estimates the "
            "applicant's probability of being eligible and orders the queue.")
    a = assistant.assess(text, as_of=AS_OF)
    assert a.risk_level == "high_risk"
    assert "Article 6(3)" in considered(a)
    assert "always" in next(c.why for c in a.exceptions_considered if c.ref == "Article 6(3)")


# --- Article 50: one positive and one near miss per paragraph ----------------------------

ARTICLE_50 = [
    ("Article 50(1)", "Our airline lets customers rebook flights with an AI chatbot on WhatsApp.",
     "Agent-assist: the tool shows knowledge articles on the agent's screen; the customer "
     "only ever talks to the human agent."),
    ("Article 50(2)", "A plugin for our web shop writes product descriptions from a few "
     "attributes.", "Our legal team uses an internal translation tool for contracts."),
    ("Article 50(3)", "The kiosk camera estimates each visitor's age group and gender to choose "
     "which advert to show.", "The kiosk shows the same advert to every visitor."),
    ("Article 50(4)", "For our town hall the comms team made a realistic AI avatar video of our "
     "CEO congratulating staff.", "Newsroom editors use AI to translate articles; an editor "
     "checks every translation before publication."),
]


@pytest.mark.parametrize(("ref", "positive", "near_miss"), ARTICLE_50,
                         ids=[c[0] for c in ARTICLE_50])
def test_each_article_50_paragraph_has_a_positive_and_a_near_miss(assistant, ref, positive,
                                                                  near_miss):
    hit = assistant.assess(positive, as_of=AS_OF)
    assert "limited" in hit.tiers, (ref, hit.to_dict())
    assert ref in refs(hit)
    miss = assistant.assess(near_miss, as_of=AS_OF)
    assert ref not in refs(miss), (ref, miss.to_dict())
    assert miss.risk_level == "minimal"


# --- reasons, role, JSON, errors -----------------------------------------------------------


def test_every_reason_is_the_official_wording(assistant):
    texts = [case[1] for case in ARTICLE_5 + ANNEX_III + ARTICLE_50]
    for text in texts:
        for reason in assistant.assess(text, as_of=AS_OF).reasons:
            assert assistant.verify(reason.ref, reason.text).ok, reason.ref
            assert reason.why and reason.why not in reason.text


def test_role_is_read_from_the_text_and_flagged_as_assumed(assistant):
    built = assistant.assess("We build and sell a chatbot for dentists.", as_of=AS_OF)
    assert (built.role, built.role_assumed) == ("provider", True)
    bought = assistant.assess("We use a vendor's chatbot on our site.", as_of=AS_OF)
    assert bought.role == "deployer"
    given = assistant.assess("We build a chatbot.", role="importer", as_of=AS_OF)
    assert (given.role, given.role_assumed) == ("importer", False)


def test_json_has_exactly_the_documented_keys(assistant):
    data = assistant.assess("Our bank uses a model to decide who gets a loan.",
                            as_of=AS_OF).to_dict()
    assert list(data) == BATCH_KEYS
    assert list(data["reasons"][0]) == ["ref", "text", "why", "score", "matched"]
    assert list(data["questions"][0]) == ["key", "text", "options"]
    assert data["questions"][0]["options"] == ["yes", "no"]
    assert list(data["obligations"][0]) == ["id", "title", "summary", "roles", "refs",
                                            "applies_from"]
    assert data["risk_level"] == "high_risk" and data["as_of"] == AS_OF


def test_deployer_of_credit_scoring_gets_dated_high_risk_duties(assistant):
    a = assistant.assess("Our bank uses a model to decide who gets a loan.", as_of=AS_OF)
    ids = {o.id for o in a.obligations}
    assert {"ai-literacy-measures", "annex-iii-credit-scoring", "deployer-human-oversight"} <= ids
    assert "provider-quality-management" not in ids


@pytest.mark.parametrize(("description", "message"), [
    ("", "Please describe the AI system"),
    ("   \n ", "Please describe the AI system"),
    ("bot\x07", "control character (U+0007)"),
    ("x" * 5001, "5001 characters long; the limit is 5000"),
])
def test_bad_descriptions_get_one_line_errors(assistant, description, message):
    with pytest.raises(BadQuestion, match=re.escape(message)):
        assistant.assess(description, as_of=AS_OF)


def test_unknown_role_fact_key_and_value_name_the_bad_value(assistant):
    with pytest.raises(UnknownChoice, match="unknown role 'king'"):
        assistant.assess("A chatbot", role="king")
    with pytest.raises(UnknownChoice, match="unknown fact 'colour'"):
        assistant.assess("A chatbot", facts={"colour": "yes"})
    with pytest.raises(UnknownChoice, match="fact 'text_only' must be yes or no, got 'maybe'"):
        assistant.assess("A chatbot", facts={"text_only": "maybe"})


def test_markdown_export_names_corpus_version_date_and_quotes_the_law(assistant):
    a = assistant.assess("Our bank uses a model to decide who gets a loan.", as_of=AS_OF)
    md = to_markdown(a, corpus_version="abc123")
    assert md.startswith("# AI Act assessment\n")
    assert f"Law as of {AS_OF}; corpus version abc123." in md
    assert "> AI systems intended to be used to evaluate the creditworthiness" in md
    assert "| Status | Obligation | Legal basis | Applies from |" in md
    assert summary(a.to_dict()).startswith("High-risk. Deciding provision: Annex III, point 5(b).")


# --- the trigger catalogue ----------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_triggers() -> dict:
    return yaml.safe_load(TRIGGERS_PATH.read_text(encoding="utf-8"))


def test_catalogue_covers_every_deciding_provision_of_the_issue():
    found = {t.ref for t in default_triggers().triggers}
    wanted = ({f"Article 5(1)({p})" for p in ("a", "b", "ba", "bb", "c", "d", "e", "f", "g", "h")}
              | {f"Article 50({n})" for n in (1, 2, 3, 4)} | {"Article 53(1)", "Article 55(1)"}
              | {f"Annex III, point {p}" for p in ("1(a)", "1(b)", "1(c)", "2", "3(a)", "3(b)",
                                                   "3(c)", "3(d)", "4(a)", "4(b)", "5(a)",
                                                   "5(b)", "5(c)", "5(d)", "6(a)", "6(b)",
                                                   "6(c)", "6(d)", "6(e)", "7(a)", "7(b)",
                                                   "7(c)", "7(d)", "8(a)", "8(b)")})
    assert sorted(wanted - found) == []
    assert any(t.ref.startswith("Annex I, Section") for t in default_triggers().triggers)


def test_trigger_with_an_unknown_concept_is_rejected_naming_it(raw_triggers):
    data = copy.deepcopy(raw_triggers)
    data["triggers"][0]["all"] = ["no_such_concept"]
    with pytest.raises(CatalogueError, match="trigger 'manipulation': unknown concept "
                       "'no_such_concept'"):
        validate(TriggerFile, data, source="triggers.yaml", where="triggers")


def test_bad_regex_in_a_concept_is_rejected_naming_it(raw_triggers):
    data = copy.deepcopy(raw_triggers)
    data["concepts"]["emotion"] = ["(unclosed"]
    with pytest.raises(CatalogueError, match="concept 'emotion': bad pattern '\\(unclosed'"):
        validate(TriggerFile, data, source="triggers.yaml", where="triggers")


def test_negated_mentions_do_not_count():
    evidence = default_triggers().evidence("It does not try to read emotions. The police are "
                                           "not involved.")
    assert not evidence.has("emotion")
    assert evidence.negated("emotion")
    assert normalise("Our ‘AI’") == "our 'ai'"


def test_system_questions_are_detected_cheaply():
    assert describes_system("We use an AI tool that ranks job applicants for our call centre. "
                            "Is this allowed?")
    assert describes_system("Our contact centre uses voice analytics that reads customers' "
                            "emotions - what must we do?")
    assert not describes_system("What does Article 50(1) say about chatbots?")
    assert not describes_system("Must our chatbot tell customers it is an AI?")


# --- ask leads with the deciding provision -------------------------------------------------


def test_ask_about_a_described_system_leads_with_the_deciding_provision(assistant):
    question = ("We use software that reads our call-centre agents' emotions from their voice "
                "during calls. Is this allowed?")
    answer = assistant.ask(question, as_of=AS_OF)
    assert answer.citations[0].ref == "Article 5(1)(f)"
    assert answer.text.startswith("the placing on the market, the putting into service for this "
                                  "specific purpose, or the use of AI systems to infer emotions")
    assert answer.sentences[0].n == 1
    assert all(v.ok for v in assistant.verify_answer(answer))
    data = answer.to_dict()
    assert list(data["assessment"]) == BATCH_KEYS
    assert data["assessment"]["risk_level"] == "prohibited"


def test_ask_without_a_system_description_has_no_assessment_key(assistant):
    data = assistant.ask("Must our chatbot tell customers it is an AI?", as_of=AS_OF).to_dict()
    assert "assessment" not in data


# --- the amended Act (full corpus) --------------------------------------------------------

NUDIFY = ("We launched a web app where users upload a photo of any real person and get back a "
          "realistic nude image of them; we do not check consent.")


@pytest.mark.corpus
def test_article_5_1_ba_applies_only_from_2_december_2026(full_assistant):
    before = full_assistant.assess(NUDIFY, as_of="2026-11-01")
    assert before.risk_level == "limited"
    ba = next(r for r in before.reasons if r.ref == "Article 5(1)(ba)")
    assert "Not yet on 2026-11-01: this applies from 2026-12-02" in ba.why
    dates = {o.id: o.applies_from for o in before.obligations}
    assert dates["prohibited-intimate-deepfakes"] == "2026-12-02"
    after = full_assistant.assess(NUDIFY, as_of="2026-12-02")
    assert after.risk_level == "prohibited"
    assert after.reasons[0].ref == "Article 5(1)(ba)"


@pytest.mark.corpus
def test_annex_i_safety_component_and_the_article_6_1a_carve_out(full_assistant):
    device = full_assistant.assess("Radiology software that flags lung nodules on CT scans; a "
                                   "class IIb medical device certified by a notified body.")
    assert device.risk_level == "high_risk"
    assert "Annex I, Section A, point 11" in refs(device)
    lift = full_assistant.assess("An ML lift group controller assigns cars to calls to cut "
                                 "waiting times in our office tower.")
    assert lift.risk_level == "minimal"
    assert "Article 6(1a)" in considered(lift)


@pytest.mark.corpus
def test_gpai_model_provider_gets_article_53_not_a_tier(full_assistant):
    a = full_assistant.assess("We trained a 7-billion-parameter language model and publish the "
                              "weights for others to build on.")
    assert a.risk_level == "minimal"
    assert "Article 53(1)" in refs(a)
    assert a.role == "gpai_model_provider"


@pytest.mark.corpus
def test_every_reason_on_the_full_corpus_is_the_official_wording(full_assistant):
    for text in [NUDIFY] + [case[1] for case in ARTICLE_5 + ANNEX_III + ARTICLE_50]:
        for reason in full_assistant.assess(text).reasons:
            assert full_assistant.verify(reason.ref, reason.text).ok, reason.ref


def test_the_closest_calls_of_the_learned_combiner_are_reported_as_considered():
    from kb.obligations.assess import _resembling

    catalogue = default_triggers()
    first, second, third = catalogue.triggers[:3]
    chance = {first.id: 0.30, second.id: 0.90, third.id: 0.20}
    # Best first, at most two, only at or above the floor, never one that fired.
    assert _resembling(catalogue, chance, set(), 0.25) == [second, first]
    assert _resembling(catalogue, chance, {second.id}, 0.25) == [first]
    assert _resembling(catalogue, chance, set(), 0.95) == []


def test_a_minimal_system_like_a_high_risk_one_says_which_provision_was_weighed(assistant):
    a = assistant.assess("A tool for judges that searches past rulings by keyword and lists "
                         "them by date; it does not suggest outcomes or interpret the facts.")
    assert a.risk_level == "minimal"
    weighed = {c.ref: c.why for c in a.exceptions_considered}
    assert "Annex III, point 8(a)" in weighed
    assert weighed["Annex III, point 8(a)"].startswith("Annex III, point 8(a) was considered")
