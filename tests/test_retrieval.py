"""kb.search.retrieval (and kb.search.spelling) on the fixture index: what comes first and
why, the law of the as-of date, and the small pure helpers.  Behaviour, not scores: the
fusion weights may change."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from conftest import copy_kb

from ingest.chunking import chunk_document
from kb.assistant import Assistant
from kb.index.catalog import CatalogContent, stored
from kb.index.embeddings import embed_texts, load_embedder
from kb.index.store import Store
from kb.records import Hit, Provision, StoredChunk, Unit
from kb.search.intent import asks_when, defined_term_asked
from kb.search.retrieval import (
    PER_ARTICLE,
    article_key,
    diversify,
    expand,
    law_before_recitals,
    law_early,
    load_synonyms,
    parents_of,
    pin,
)
from kb.search.spelling import Speller

DAY = "2026-12-01"
BOT = "Must our chatbot tell customers it is an AI?"


def refs(hits: list[Hit]) -> list[str]:
    return [h.provision.ref for h in hits]


# --- what comes first -------------------------------------------------------------------------


@pytest.mark.parametrize("question, ref", [
    ("What does Article 5(1)(f) say?", "Article 5(1)(f)"),
    ("Explain Annex III, point 5(b) please", "Annex III, point 5(b)"),
    ("Recital 133", "Recital 133"),
    ("Is para. 11 of C(2026) 5054 about providers?", "Guidelines C(2026) 5054, para. 11"),
    ("Article 6(3) and Article 50(1)", "Article 6(3)"),
])
def test_a_named_provision_comes_first_and_is_marked_direct(assistant, question, ref):
    hits = assistant.retrieve(question, as_of=DAY)
    assert hits[0].provision.ref == ref
    assert hits[0].direct


def test_a_provision_named_with_the_ai_acts_number_comes_first(assistant):
    question = "What does Article 50(1) of Regulation (EU) 2024/1689 require?"
    assert refs(assistant.retrieve(question, as_of=DAY))[0] == "Article 50(1)"


def test_every_named_provision_is_kept_even_beyond_the_per_article_limit(assistant):
    hits = assistant.retrieve("What do Article 5(1)(a), Article 5(1)(b) and Article 5(1)(c) "
                              "prohibit?", as_of=DAY)
    assert refs(hits)[:3] == ["Article 5(1)(a)", "Article 5(1)(b)", "Article 5(1)(c)"]
    assert all(h.direct for h in hits[:3])


def test_a_named_article_with_paragraphs_leads_with_its_first_paragraphs(assistant):
    hits = assistant.retrieve("What does Article 50 require?", as_of=DAY)
    assert refs(hits)[:2] == ["Article 50(1)", "Article 50(2)"]


@pytest.mark.parametrize("question, ref", [
    ("What is a deployer?", "Article 3(4)"),
    ("Define 'emotion recognition system'", "Article 3(39)"),
    ("How does Regulation (EU) 2024/1689 define a 'distributor'?", "Article 3(7)"),
    ("What are deep fakes?", "Article 3(60)"),
])
def test_a_definition_question_leads_with_its_article_3_point(assistant, question, ref):
    hits = assistant.retrieve(question, as_of=DAY)
    assert (hits[0].provision.ref, hits[0].direct) == (ref, True)
    assert hits[0].provision.unit is Unit.DEFINITION


def test_a_plain_language_question_finds_the_provision_that_answers_it(assistant):
    assert assistant.retrieve(BOT, as_of=DAY)[0].provision.ref == "Article 50(1)"
    credit = refs(assistant.retrieve("Is credit scoring of customers high-risk?", as_of=DAY))
    assert "Annex III, point 5(b)" in credit[:2]


@pytest.mark.parametrize("question", [
    "When do the rules on prohibited practices apply?",
    "Since when are the prohibited practices banned?",
    "From what date do the transparency obligations apply?",
])
def test_a_when_question_consults_the_date_article(assistant, question):
    hits = assistant.retrieve(question, as_of=DAY)
    assert any(r.startswith("Article 113") for r in refs(hits)[:3])


def test_the_same_topic_without_when_does_not_bring_the_date_article(assistant):
    hits = assistant.retrieve("Which AI practices are prohibited?", as_of=DAY)
    assert not any(r.startswith("Article 113") for r in refs(hits))


@pytest.mark.parametrize("question", [
    BOT,
    "Which AI practices are prohibited?",
    "What must deployers of emotion recognition systems do?",
    "Definitions of biometric systems",
])
def test_at_most_two_passages_of_one_article_unless_named(assistant, question):
    hits = assistant.retrieve(question, as_of=DAY, top_k=5)
    assert len(hits) == 5
    per_article = Counter(article_key(h.provision) for h in hits if not h.direct)
    assert max(per_article.values()) <= PER_ARTICLE
    assert len({(h.provision.doc_id, h.provision.ref) for h in hits}) == len(hits)


def test_a_hint_ref_from_the_catalogue_reaches_the_top_results(assistant):
    plain = refs(assistant.retriever.retrieve(BOT, as_of=DAY, top_k=5))
    assert "Article 50(4)" not in plain
    hinted = refs(assistant.retriever.retrieve(BOT, as_of=DAY, top_k=5,
                                               hint_refs=["Article 50(4)", "Article 99"]))
    assert set(hinted[:2]) == {"Article 50(1)", "Article 50(4)"}
    assert len(hinted) == 5


# --- the law of the date ----------------------------------------------------------------------


def test_guidance_adopted_after_the_date_is_not_cited(assistant):
    question = "What do the transparency guidelines say about deployers?"
    before = refs(assistant.retrieve(question, as_of="2026-07-19", top_k=10))
    adopted = refs(assistant.retrieve(question, as_of="2026-07-20", top_k=10))
    assert not any(r.startswith("Guidelines C(2026) 5054") for r in before)
    assert any(r.startswith("Guidelines C(2026) 5054") for r in adopted)


AMENDED_50_1 = ("1. Providers shall ensure that chatbots tell the natural persons using them, "
                "at the start of every conversation, that they are talking to a machine.")
AMENDED_FROM = "2030-01-01"


@pytest.fixture(scope="module")
def amended(template_kb, tmp_path_factory) -> Assistant:
    """The fixture index with Article 50(1) replaced from 2030: its 2024 wording stays in
    force until then, and the new wording gets a chunk and a vector of its own."""
    settings = copy_kb(template_kb, tmp_path_factory.mktemp("amended-kb"))
    store = Store(settings)
    live = store.snapshot()
    content = CatalogContent.read(live.catalog)
    act = next(r.document for r in live.catalog.documents() if r.document.id == "eu-ai-act")
    old = next(p for p in content.provisions[act.id] if p.ref == "Article 50(1)")
    new = replace(old, text=AMENDED_50_1, valid_from=AMENDED_FROM,
                  version_source="Regulation (EU) 2030/1, Article 1, point (1)")
    [new_chunk] = [stored(c) for c in chunk_document([new], act)]
    provisions = [replace(p, valid_until=AMENDED_FROM) if p is old else p
                  for p in content.provisions[act.id]] + [new]
    chunks = [replace(c, valid_until=AMENDED_FROM) if c.ref == "Article 50(1)" else c
              for c in content.chunks[act.id]] + [new_chunk]
    vectors = embed_texts(load_embedder(settings.embed_model), [new_chunk.embed_text])
    with store.new_generation(source=live) as generation:
        for record in content.documents:
            generation.copy_from(record.document.id)
        generation.add([new_chunk], {new_chunk.id: "article"}, vectors)
        generation.commit(replace(content, provisions={**content.provisions, act.id: provisions},
                                  chunks={**content.chunks, act.id: chunks}))
    return Assistant.open(settings)


def article_50_1(hits: list[Hit]) -> list[tuple[str | None, str]]:
    return [(h.chunk.valid_from, h.provision.text) for h in hits
            if h.provision.ref == "Article 50(1)"]


def test_only_the_wording_in_force_on_the_date_is_retrieved(amended):
    for question in (BOT, "Must a chatbot say that people are talking to a machine?",
                     "Article 50(1)"):
        before = article_50_1(amended.retrieve(question, as_of="2029-12-31", top_k=20))
        after = article_50_1(amended.retrieve(question, as_of=AMENDED_FROM, top_k=20))
        assert len(before) == 1 and before[0][0] is None, question
        assert before[0][1].startswith("1. Providers shall ensure that AI systems intended")
        assert after == [(AMENDED_FROM, AMENDED_50_1)], question


def test_a_named_provision_is_the_version_of_the_date(amended):
    assert amended.retrieve("Article 50(1)", as_of="2029-12-31")[0].provision.version_source \
        == ""
    first = amended.retrieve("Article 50(1)", as_of="2030-06-01")[0]
    assert (first.provision.text, first.direct) == (AMENDED_50_1, True)


# --- spelling ---------------------------------------------------------------------------------


def test_misspelt_words_are_corrected_to_corpus_words(assistant):
    speller = assistant.retriever.spelling
    assert speller.correct("Emotoin recogniton in the workplace") == (
        "emotion recognition in the workplace")
    assert speller.correct("Can our chatbot use emotion recognition?") == (
        "Can our chatbot use emotion recognition?")


def test_a_misspelt_question_still_finds_the_provisions(assistant):
    correct = set(refs(assistant.retrieve("emotion recognition at work", as_of=DAY)))
    misspelt = set(refs(assistant.retrieve("emotoin recogniton at work", as_of=DAY)))
    assert {"Article 5(1)(f)", "Article 3(39)"} <= misspelt
    assert len(correct & misspelt) >= 4


def test_the_speller_leaves_short_stop_and_known_words_and_numbers_alone():
    speller = Speller(["Providers shall inform natural persons about emotion recognition"])
    assert speller.correct("emotoin") == "emotion"
    assert speller.correct("Providres") == "providers"  # a fixed word comes back lower case
    assert speller.correct("emotin reconition") == "emotion recognition"
    assert speller.correct("Providers emoji 2026 abcde") == "Providers emoji 2026 abcde"
    assert speller.correct("provider") == "providers"  # not a corpus word, close to one
    assert speller.correct("infm") == "infm"  # under five letters: left alone
    assert speller.correct("which") == "which"  # a stop word, even if not in the corpus


# --- query expansion and question kinds -------------------------------------------------------


def test_expand_adds_the_legal_wording_of_plain_words_in_rule_order():
    rules = load_synonyms()
    assert expand(BOT, rules) == ("AI systems intended to interact directly with natural "
                                  "persons informed transparency obligations natural persons")
    assert "workplace workers employment" in expand("Voice bots in the call centre", rules)
    assert expand("CHATBOTS everywhere", rules) == (
        "AI systems intended to interact directly with natural persons")


def test_expand_matches_whole_words_only():
    rules = [(["bot", "call centre"], "interact directly")]
    assert expand("Our robotic arm is not a robot", rules) == ""
    assert expand("a bot in our call centre", rules) == "interact directly"
    assert expand("a call-centre", rules) == ""


def test_synonym_rules_are_lower_case_phrases_with_legal_wording():
    rules = load_synonyms()
    assert len(rules) > 20
    for phrases, add in rules:
        assert phrases and all(p == p.lower() and p.strip() == p for p in phrases)
        assert add.strip()


@pytest.mark.parametrize("question", [
    "When do the high-risk rules apply?",
    "From what date must we label deepfakes?",
    "What is the deadline for AI literacy?",
    "When does the AI Act enter into force?",
    "How long do we have to comply?",
    "Since when are prohibited practices banned?",
])
def test_asks_when_recognises_date_questions(question):
    assert asks_when(question)


@pytest.mark.parametrize("question", [
    "When is a solely automated decision allowed under the GDPR?",
    "Is emotion recognition banned?",
    BOT,
])
def test_asks_when_ignores_questions_that_are_not_about_dates(question):
    assert not asks_when(question)


@pytest.mark.parametrize("question, term", [
    ("What is a deployer?", "deployer"),
    ("what are general-purpose AI models?", "general-purpose AI models"),
    ('Define "AI system"', "AI system"),
    ("What does the term provider mean under the AI Act?", "provider"),
    ("Definition of a deep fake", "deep fake"),
    ("Meaning of 'placing on the market'", "placing on the market"),
    ("Who counts as an 'importer'?", "importer"),
    ("How does Regulation (EU) 2024/1689 define a 'distributor'?", "distributor"),
    ("What is the penalty for breaching Article 5?", ""),
    ("What is Article 50 about?", ""),
    (BOT, ""),
])
def test_defined_term_asked(question, term):
    assert defined_term_asked(question) == term


@pytest.mark.parametrize("ref, chain", [
    ("Article 5(1)(f)", ["Article 5(1)(f)", "Article 5(1)", "Article 5"]),
    ("Article 5(1)(f) GDPR", ["Article 5(1)(f) GDPR", "Article 5(1) GDPR", "Article 5 GDPR"]),
    ("Annex III, point 5(b)", ["Annex III, point 5(b)", "Annex III, point 5", "Annex III"]),
    ("Guidelines C(2026) 5054, para. 10", ["Guidelines C(2026) 5054, para. 10"]),
    ("Regulation (EU) 2026/1744, Recital 3", ["Regulation (EU) 2026/1744, Recital 3"]),
])
def test_parents_of_a_stored_ref(ref, chain):
    assert parents_of(ref) == chain


def test_parents_of_a_point_of_the_amending_act_are_real_refs():
    assert parents_of("Regulation (EU) 2026/1744, Article 1, point (7)(a)") == [
        "Regulation (EU) 2026/1744, Article 1, point (7)(a)",
        "Regulation (EU) 2026/1744, Article 1, point (7)",
        "Regulation (EU) 2026/1744, Article 1"]


# --- diversify and pin with hand-built hits ---------------------------------------------------


def hit(ref: str, *, doc_id: str = "eu-ai-act", part: int = 0, direct: bool = False,
        unit: Unit = Unit.ARTICLE) -> Hit:
    chunk = StoredChunk(f"{doc_id}:{ref}:{part}", doc_id, ref, part, None, None, "t", "t", "h")
    return Hit(chunk, Provision(doc_id, ref, unit, "t"), 0.5, 0.5, 1.0, direct)


def test_diversify_keeps_two_per_article_and_fills_up_with_the_rest():
    hits = [hit("Article 5(1)(a)"), hit("Article 5(1)(b)"), hit("Article 5(1)(c)"),
            hit("Article 50(1)"), hit("Article 5(2)")]
    assert refs(diversify(hits, 3)) == ["Article 5(1)(a)", "Article 5(1)(b)", "Article 50(1)"]
    # Not enough other articles: the passages held back fill up, in rank order.
    assert refs(diversify(hits, 5)) == ["Article 5(1)(a)", "Article 5(1)(b)", "Article 50(1)",
                                        "Article 5(1)(c)", "Article 5(2)"]


def test_diversify_exempts_direct_hits_and_counts_a_provisions_parts_once():
    hits = [hit("Article 5(1)(a)", direct=True), hit("Article 5(1)(b)", direct=True),
            hit("Article 5(1)(c)", direct=True), hit("Recital 132", part=1),
            hit("Recital 132", part=2), hit("Article 5(1)(d)"), hit("Recital 133")]
    assert refs(diversify(hits, 5)) == ["Article 5(1)(a)", "Article 5(1)(b)", "Article 5(1)(c)",
                                        "Recital 132", "Recital 133"]


def test_the_same_ref_in_two_documents_is_two_articles():
    assert article_key(hit("Article 5(1)").provision) != article_key(
        hit("Article 5(1)", doc_id="gdpr").provision)
    assert article_key(hit("Annex III, point 5(b)").provision) == article_key(
        hit("Annex III").provision)


def test_paragraphs_of_a_guideline_are_not_one_article():
    doc = "guidelines-transparency-art50"
    assert article_key(hit("Guidelines C(2026) 5054, para. 10", doc_id=doc).provision) != \
        article_key(hit("Guidelines C(2026) 5054, para. 11", doc_id=doc).provision)


def test_pin_puts_the_catalogue_ref_second_when_it_was_left_out():
    hits = [hit("Article 50(1)"), hit("Recital 132"), hit("Article 50(3)"), hit("Article 50(4)")]
    chosen = hits[:3]
    assert refs(pin(chosen, hits, ["Article 50(4)"], 3)) == [
        "Article 50(1)", "Article 50(4)", "Recital 132"]
    assert pin(chosen, hits, ["Recital 132"], 3) == chosen  # already there
    assert pin(chosen, hits, ["Article 99"], 3) == chosen  # not retrieved at all
    assert pin(chosen[:1], hits, ["Article 50(4)"], 1) == chosen[:1]  # no room for a second


def test_the_law_is_cited_among_the_first_three_when_guidance_ranks_first():
    def binding(h: Hit) -> bool:
        return h.provision.doc_id == "eu-ai-act"

    guidance = [hit(f"para. {n}", doc_id="guideline") for n in (254, 249, 241, 255)]
    chosen = [*guidance, hit("Article 5(1)(f)")]
    assert refs(law_early(chosen, chosen, binding)) == [
        "para. 254", "para. 249", "Article 5(1)(f)", "para. 241", "para. 255"]
    # From outside the results too: it takes the third place and the last one drops out.
    outside = [*guidance, hit("Article 5(1)(f)")]
    assert refs(law_early(guidance, outside, binding)) == [
        "para. 254", "para. 249", "Article 5(1)(f)", "para. 241"]
    # Nothing moves when the law is already among the first three, or there is none.
    ahead = [guidance[0], hit("Article 5(1)(f)"), *guidance[1:]]
    assert law_early(ahead, ahead, binding) == ahead
    assert law_early(guidance, guidance, binding) == guidance


def test_a_recital_gives_the_lead_to_the_law_among_the_first_three():
    def binding(h: Hit) -> bool:
        return h.provision.unit is not Unit.RECITAL and h.provision.doc_id == "eu-ai-act"

    recital = hit("Recital 96", unit=Unit.RECITAL)
    chosen = [recital, hit("Article 27(1)"), hit("Article 27(4)")]
    assert refs(law_before_recitals(chosen, binding)) == [
        "Article 27(1)", "Recital 96", "Article 27(4)"]
    # Not when the law is only fourth, when the law leads already, or when the recital was named.
    far = [recital, hit("para. 1", doc_id="guideline"), hit("para. 2", doc_id="guideline"),
           hit("Article 27(1)")]
    assert law_before_recitals(far, binding) == far
    assert law_before_recitals(chosen[1:], binding) == chosen[1:]
    named = [hit("Recital 96", unit=Unit.RECITAL, direct=True), *chosen[1:]]
    assert law_before_recitals(named, binding) == named
    # Guidance gives the lead only when asked to (a German or French question).
    guided = [hit("para. 30", doc_id="guideline"), hit("Article 50(1)")]
    assert law_before_recitals(guided, binding) == guided
    assert refs(law_before_recitals(guided, binding, guidance_too=True)) == [
        "Article 50(1)", "para. 30"]


@pytest.mark.corpus
def test_a_broad_question_leads_with_the_article_not_its_recital(full_assistant):
    answer = full_assistant.ask("What is a fundamental rights impact assessment?",
                                as_of="2026-11-27")
    assert answer.citations[0].ref.startswith("Article 27")
    # Asking for the recital still gets the recital.
    asked = full_assistant.ask("Which recital explains the fundamental rights impact assessment?",
                               as_of="2026-11-27")
    assert any(c.ref.startswith("Recital") for c in asked.citations[:3])
