"""kb.obligations.dense: the assessment engine's learned combiner and the matcher changes
that came with it (negation scope, not-an-AI-system, categorising acts).

The combiner is fitted with the real bundled model (through the fixture assistant's
``embed``) on small team-written example sets made here, or on the real training set.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from kb.errors import KbError
from kb.obligations.assess import PARTIAL_NOTE
from kb.obligations.dense import (
    EXAMPLES_PATH,
    DenseModel,
    Example,
    label,
    load_examples,
    ref_match,
    sentences,
)
from kb.obligations.triggers import default_triggers

AS_OF = "2026-12-15"

SMALL = [
    Example("a", "Our call-centre software detects anger and stress in customers' voices "
            "to escalate calls.", ("high_risk", "limited"), ("Annex III, point 1(c)",)),
    Example("b", "We score loan applicants on income and repayment history to decide "
                 "whether to grant credit.", ("high_risk",), ("Annex III, point 5(b)",)),
    Example("c", "The card fraud model flags suspicious transactions for review; it is "
                 "used only to detect fraud.", ("minimal",), ("Annex III, point 5(b)",)),
    Example("d", "A chatbot answers customer questions about our tariffs.", ("limited",),
            ("Article 50(1)",)),
    Example("e", "Route optimisation for our delivery vans.", ("minimal",), ()),
    Example("f", "Webcams read employees' facial expressions to measure their mood for HR.",
            ("prohibited",), ("Article 5(1)(f)",)),
]


def _spec(trigger_id: str):
    return next(s for s in default_triggers().triggers if s.id == trigger_id)


def test_label_is_positive_only_for_the_deciding_provision_of_an_applying_tier():
    credit = _spec("credit-scoring")
    assert label(SMALL[1], credit) == 1
    assert label(SMALL[2], credit) == 0  # the fraud near miss: tier does not apply
    assert label(SMALL[0], credit) is None  # high-risk through another provision: left out


def test_ref_match_nests_points_but_not_sibling_letters():
    assert ref_match("Annex III, point 4(a)", "Annex III, point 4")
    assert not ref_match("Article 5(1)(b)", "Article 5(1)(ba)")


def test_sentences_are_split_only_for_descriptions_of_several_sentences():
    assert sentences("One short description of a chatbot.") == []
    assert sentences("We run a chatbot for customers. It also books their appointments "
                     "online.") == ["We run a chatbot for customers.",
                                    "It also books their appointments online."]


def test_load_examples_reads_the_training_set_and_rejects_bad_lines(tmp_path):
    examples = load_examples()
    assert len(examples) >= 300
    assert {t for e in examples for t in e.tiers} == {"prohibited", "high_risk", "limited",
                                                      "minimal"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(KbError, match=r"bad.jsonl, line 1: not a labelled system"):
        load_examples(bad)


def test_same_examples_give_the_same_weights_and_probabilities(assistant, tmp_path):
    catalogue = default_triggers()
    first = DenseModel.build(catalogue, SMALL, assistant.embed, cache_dir=tmp_path, model="m")
    second = DenseModel.build(catalogue, SMALL, assistant.embed, cache_dir=None, model="m")
    assert np.array_equal(first.weights, second.weights)
    text = "Our contact centre reads callers' emotions from their voices."
    ev = catalogue.evidence(text)
    p1 = first.probabilities(ev, first.embed_description(text, assistant.embed))
    p2 = second.probabilities(ev, second.embed_description(text, assistant.embed))
    assert p1 == p2
    assert set(p1) == {s.id for s in first.specs}
    assert all(0.0 <= v <= 1.0 for v in p1.values())


def test_example_embeddings_are_cached_and_reused(assistant, tmp_path):
    calls = []

    def counting(texts):
        calls.append(len(texts))
        return assistant.embed(texts)

    catalogue = default_triggers()
    DenseModel.build(catalogue, SMALL, counting, cache_dir=tmp_path, model="m")
    assert len(list(tmp_path.glob("examples-*.npy"))) == 1
    DenseModel.build(catalogue, SMALL, counting, cache_dir=tmp_path, model="m")
    assert len(calls) == 1 and calls[0] >= len(SMALL)  # the second build read the cache


def test_a_provision_never_fires_on_similarity_alone(assistant):
    """Even at threshold 0, a trigger needs one of its concepts in the description."""
    model = DenseModel.build(default_triggers(), SMALL, assistant.embed, threshold=0.0)
    text = "We plan the delivery routes of our vans to save fuel."
    from kb.obligations.assess import assess

    a = assess(text, text_of=lambda ref: f"text of {ref}", table=[], obligations=[],
               as_of=AS_OF, dense=model, embed=assistant.embed)
    assert a.risk_level == "minimal"
    assert a.reasons == ()


def test_partial_evidence_fires_with_the_combiner_and_says_so(assistant):
    """Without the combiner only full lexical evidence counts; with it (threshold 0 here)
    a trigger with some of its concepts fires, and its reason says it was matched in part
    by similarity."""
    from kb.obligations.assess import assess

    text = "Our model looks at people's salary and spending before they get a mortgage."
    spec = _spec("credit-scoring")
    ev = default_triggers().evidence(text)
    assert [ev.has(g) for g in spec.all] == [True, False]  # credit, but no decision word
    model = DenseModel.build(default_triggers(), SMALL, assistant.embed, threshold=0.0)
    table = assistant._table(assistant._current(), AS_OF)  # the real application table
    a = assess(text, text_of=lambda ref: f"text of {ref}", table=table, obligations=[],
               as_of=AS_OF, dense=model, embed=assistant.embed)
    assert "Annex III, point 5(b)" in {r.ref for r in a.reasons}
    reason = next(r for r in a.reasons if r.ref == "Annex III, point 5(b)")
    assert reason.why.endswith(PARTIAL_NOTE)
    assert "mortgage" in reason.matched
    rules_only = assess(text, text_of=lambda ref: f"text of {ref}", table=table,
                        obligations=[], as_of=AS_OF)
    assert "Annex III, point 5(b)" not in {r.ref for r in rules_only.reasons}


def test_assistant_uses_the_combiner_fitted_on_the_training_set(assistant):
    model = assistant.dense_model()
    assert model is not None
    assert len(model.examples) == len(load_examples())
    assert model.threshold == 0.5


def test_training_set_records_follow_the_systems_format():
    rows = [json.loads(line) for line in EXAMPLES_PATH.read_text(encoding="utf-8").splitlines()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) >= 300
    for r in rows:
        assert r["risk_level"] == r["tiers"][0]
        assert set(r) == {"id", "description", "role", "facts", "as_of", "risk_level", "tiers",
                          "deciding", "cx", "near_miss", "note"}


# --- matcher changes -------------------------------------------------------------------------


def test_without_any_negates_only_the_next_words():
    ev = default_triggers().evidence(
        "It harvests facial images from the internet without any targeting to build a facial "
        "recognition database.")
    assert ev.has("recognition_db")
    assert not default_triggers().evidence("Built without any facial images.").has("face_images")


def test_yes_no_and_no_compounds_are_not_negations():
    cat = default_triggers()
    assert cat.evidence("The model says yes/no plus the credit limit.").has("credit_decision")
    assert cat.evidence("It gives a hire/no-hire recommendation to the manager.").has(
        "candidate_evaluation")


def test_rules_written_by_people_are_not_an_ai_system(assistant):
    a = assistant.assess("Our phone menu is a press-1-for-billing menu with fixed options; "
                         "there's no speech recognition or AI.", as_of=AS_OF)
    assert a.risk_level == "minimal"
    assert "Article 3(1)" in {c.ref for c in a.exceptions_considered}


def test_naming_a_sensitive_topic_without_categorising_people_is_not_article_5_1_g(assistant):
    a = assistant.assess("A satire page posts AI-made photos of politicians that look real.",
                         as_of=AS_OF)
    assert a.risk_level == "limited"
    assert "Article 5(1)(g)" not in {r.ref for r in a.reasons}


def test_emotions_inferred_at_work_without_a_stated_channel_are_prohibited(assistant):
    a = assistant.assess("An AI system that infers the emotions of employees in the workplace.",
                         as_of=AS_OF)
    assert a.risk_level == "prohibited"
    assert a.reasons[0].ref == "Article 5(1)(f)"


def test_detecting_child_abuse_material_to_remove_it_is_not_article_5_1_bb(assistant):
    a = assistant.assess("Our trust-and-safety classifier detects and removes child sexual "
                         "abuse material and reports it to the authorities.", as_of=AS_OF)
    assert a.risk_level == "minimal"
    assert "Article 5(1)(bb)" in {c.ref for c in a.exceptions_considered}


def test_a_concept_the_description_denies_blocks_the_dense_path(assistant):
    """Scraped faces that are never used to recognise anyone: the missing element of Article
    5(1)(e) is denied in the text, so even a combiner at threshold 0 does not fire it."""
    from kb.obligations.assess import assess

    text = ("We scraped millions of face photos from the web to train a generator of faces of "
            "people who do not exist; the set is never used to recognise anyone.")
    ev = default_triggers().evidence(text)
    assert ev.has("scraping") and ev.has("face_images") and ev.negated("recognition_db")
    model = DenseModel.build(default_triggers(), SMALL, assistant.embed, threshold=0.0)
    table = assistant._table(assistant._current(), AS_OF)
    a = assess(text, text_of=lambda ref: f"text of {ref}", table=table, obligations=[],
               as_of=AS_OF, dense=model, embed=assistant.embed)
    assert "Article 5(1)(e)" not in {r.ref for r in a.reasons}
