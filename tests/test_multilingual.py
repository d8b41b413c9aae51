"""kb.search.multilingual: German and French questions bridged to English, their own-language
ranked lists (stemmed BM25 through kb.index.store, titles), the retrieval hook, and passages
rendered in the question's language; on the indexed fixture corpus."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kb.errors import KbError
from kb.index.store import LexicalIndex
from kb.search.languages import tokenize
from kb.search.multilingual import (
    DEFAULT_SIGNALS,
    RULES_PATH,
    Signals,
    english_refs,
    load_rules,
)

DAY = "2026-11-27"


@pytest.fixture(scope="module")
def multilingual(assistant):
    return assistant._current().multilingual


@pytest.mark.parametrize("question, lang, refs", [
    ("Was verbietet Art. 5 Abs. 1 Buchst. f KI-VO?", "de", ["Article 5(1)(f)"]),
    ("Gilt Artikel 50 Absatz 4 auch für Werbung?", "de", ["Article 50(4)"]),
    ("Was steht in Anhang III Nummer 5 Buchstabe b und Erwägungsgrund 132?", "de",
     ["Annex III, point 5(b)", "Recital 132"]),
    ("Que dit l'article 5, paragraphe 1, point f) ?", "fr", ["Article 5(1)(f)"]),
    ("l'annexe III, point 5 b) et le considérant 133", "fr",
     ["Annex III, point 5(b)", "Recital 133"]),
    ("Muss unser Chatbot sagen, dass er eine KI ist?", "de", []),
])
def test_provisions_named_in_german_or_french_become_english_refs(question, lang, refs):
    assert english_refs(question, lang) == refs


def test_definition_questions_ask_for_the_english_defined_term(multilingual):
    bridge = multilingual.bridge
    german = bridge.bridge("Was ist ein Betreiber im Sinne der KI-Verordnung?", "de")
    assert (german.defined, german.english) == ("deployer", "What is a deployer?")
    french = bridge.bridge("Qu'est-ce qu'un déployeur ?", "fr")
    assert french.english == "What is a deployer?"
    # A defined term inside a longer question is a word of it, not the question.
    longer = bridge.bridge("Was muss ein Betreiber eines Hochrisiko-KI-Systems tun?", "de")
    assert longer.defined == "" and "deployer" in longer.english


def test_bridge_uses_defined_terms_rules_and_named_provisions(multilingual):
    bridged = multilingual.bridge.bridge(
        "Müssen Betreiber nach Art. 50 Abs. 4 Deepfakes kennzeichnen?", "de")
    assert bridged.refs == ("Article 50(4)",)
    assert bridged.english.startswith("Article 50(4) ")
    words = dict(bridged.words)
    assert words["betreiber"] == "deployer"  # Article 3(4), paired by ref
    assert words["kennzeichnen"] == "disclose inform label"  # synonyms_i18n.toml
    assert "art" not in words  # "Art." is part of the ref, not the German word "Art"


def test_bridge_falls_back_on_aligned_words_then_on_english_spelling(multilingual):
    bridge = multilingual.bridge
    bridged = bridge.bridge("Pflichten der Anbieter", "de", Signals(rules=False))
    assert dict(bridged.words)["pflichten"].startswith("obligation")  # aligned texts
    plain = bridge.bridge("Pflichten der Anbieter", "de",
                          Signals(rules=False, terms=False, alignment=False))
    assert plain.english == ""  # no English spelling of either word
    assert bridge.bridge("Chatbot Transparenz", "de", Signals(rules=False)).english \
        .startswith("chatbot")  # the English texts use the word as it is


def test_every_signal_switched_off_leaves_the_question_as_typed(assistant):
    question = "Muss unser Chatbot sagen, dass er eine KI ist?"
    off = Signals(bridge=False, native_lexical=0.0, native_titles=0.0, raw_dense=0.0,
                  law_first=False)
    assistant.signals = off
    try:
        plain = assistant.retrieve(question, as_of=DAY, top_k=5)
    finally:
        assistant.signals = DEFAULT_SIGNALS
    english = assistant.retrieve(question, as_of=DAY, top_k=5, lang="en")
    assert [h.chunk.id for h in plain] == [h.chunk.id for h in english]
    bridged = assistant.retrieve(question, as_of=DAY, top_k=5)
    assert bridged[0].provision.ref == "Article 50(1)"


def test_rules_file_is_valid_and_errors_name_the_entry(tmp_path):
    rules = load_rules(RULES_PATH)
    assert {r.lang for r in rules} == {"de", "fr"}
    assert any(("ab", "wann") in r.when for r in rules)
    bad = tmp_path / "synonyms_i18n.toml"
    bad.write_text('[[rule]]\nlang = "de"\nwhen = ["chatbot"]\nadd = "chatbot"\n'
                   '[[rule]]\nlang = "it"\nwhen = ["chatbot"]\nadd = "chatbot"\n',
                   encoding="utf-8")
    with pytest.raises(KbError, match=r"synonyms_i18n.toml, rule 2: lang must be one of de, "
                                      r"fr, got 'it'"):
        load_rules(bad)
    bad.write_text('[[rule]]\nlang = "fr"\nwhen = []\nadd = "x"\n', encoding="utf-8")
    with pytest.raises(KbError, match="rule 1: when must be a list of phrases"):
        load_rules(bad)


def test_lexical_index_with_an_analyser_matches_inflected_german(assistant):
    catalog = assistant._current().snapshot.catalog
    chunks = catalog.translation_chunks("de")
    index = LexicalIndex(chunks, {}, top_k=5, analyse=lambda text: tokenize(text, "de"))
    by_id = {c.id: c for c in chunks}
    # "Betreibers", "Deepfakes" and "offenlegen" are inflected as in no passage.
    found = [by_id[i].ref for i, _ in index.search("Deepfake eines Betreibers offenlegen")]
    assert found[0] == "Article 50(4)"
    assert index.search("und der die") == []  # only stop words: nothing to search


def test_own_language_lists_are_english_chunk_ids_in_force(assistant, multilingual):
    retriever = assistant._current().retriever
    lexical = multilingual.lexical("Ist Emotionserkennung am Arbeitsplatz verboten?", "de", DAY)
    refs = [retriever.chunks[i].ref for i in lexical]
    assert refs[0] == "Article 5(1)(f)"
    assert all(retriever.chunks[i].doc_id == "eu-ai-act" for i in lexical)
    titles = multilingual.titles("Transparenzpflichten für Anbieter und Betreiber von KI-Systemen",
                                 "de", DAY)
    assert {retriever.chunks[i].ref for i in titles} <= {
        "Article 50", *(f"Article 50({n})" for n in range(1, 8))}
    assert titles
    lists = multilingual.extra_lists("Was ist ein Betreiber?", "de", DAY,
                                     replace(DEFAULT_SIGNALS, native_titles=0.0))
    assert [weight for weight, _ in lists] == [DEFAULT_SIGNALS.native_lexical]


def test_retrieve_without_extra_lists_is_the_english_retrieval(assistant):
    retriever = assistant._current().retriever
    question = "Must our chatbot tell customers it is an AI?"
    plain = retriever.retrieve(question, as_of=DAY, top_k=5)
    hooked = retriever.retrieve(question, as_of=DAY, top_k=5, extra_lists=[])
    assert [(h.chunk.id, h.score) for h in plain] == [(h.chunk.id, h.score) for h in hooked]
    recital = [c.id for c in retriever.chunks.values() if c.ref == "Recital 1"]
    lists = retriever.gather(question, as_of=DAY, extra_lists=[(5.0, recital)])
    assert set(recital) <= set(lists.candidates())  # an extra list brings its passages in
    before = retriever.fuse(retriever.gather(question, as_of=DAY))
    after = retriever.fuse(lists)
    assert all(after[i] > before.get(i, 0.0) for i in recital)  # and raises their fusion score


def test_render_quotes_the_language_or_says_why_not(assistant, multilingual):
    hits = assistant.retrieve("Must our chatbot tell customers it is an AI?", as_of=DAY,
                              top_k=10, lang="en")
    article = next(h for h in hits if h.provision.ref == "Article 50(1)")
    german, note = multilingual.render(article, "de", DAY)
    assert (german.provision.lang, note) == ("de", "")
    assert german.chunk.text in german.provision.text
    assert german.chunk.text.startswith("(1) Die Anbieter stellen sicher")
    guideline = next(h for h in hits if h.provision.doc_id.startswith("guidelines"))
    same, note = multilingual.render(guideline, "fr", DAY)
    assert same is guideline
    assert note.startswith("No French wording of Commission Guidelines")

