"""ingest.chunking: chunks cut by legal structure, within the model's window, verbatim, with
stable ids.  The fixture excerpts with the real tokenizer, plus small hand-built provisions."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.chunking import (
    DEFAULT_MAX_TOKENS,
    approximate_tokens,
    chunk_document,
    context_line,
)
from ingest.manifest import load_manifest
from ingest.parsers import parse_document
from kb.records import Chunk, Document, Kind, Provision, Unit, stable_id

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"
ENGLISH = ("eu-ai-act", "guidelines-ai-system-definition", "guidelines-transparency-art50")
ACT = Document("act", "An act", Kind.REGULATION, "act.html", "eurlex_html")


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    return {d.id: d for d in load_manifest(FIXTURES / "manifest.toml")}


@pytest.fixture(scope="module")
def parsed(documents) -> dict[str, list[Provision]]:
    return {i: parse_document(FIXTURES, documents[i]) for i in ENGLISH}


@pytest.fixture(scope="module")
def tokenizer():
    """The bundled model's own word-piece counter and window (256)."""
    from kb.index.embeddings import load_embedder, max_tokens, token_counter

    embedder = load_embedder("bundled")
    return token_counter(embedder), max_tokens(embedder)


@pytest.fixture(scope="module")
def act_chunks(documents, parsed) -> list[Chunk]:
    return chunk_document(parsed["eu-ai-act"], documents["eu-ai-act"])


def by_ref(chunks: list[Chunk], ref: str) -> list[Chunk]:
    return [c for c in chunks if c.provision.ref == ref]


def sentences_text(n: int, words: int = 12) -> str:
    """``n`` distinct sentences of ``words`` words, separated by single spaces."""
    return " ".join(" ".join(f"word{i}x{j}" for j in range(words)) + "." for i in range(n))


# --- the window -------------------------------------------------------------------------------


def test_every_fixture_chunk_fits_the_models_window(documents, parsed, tokenizer):
    count, window = tokenizer
    assert window == DEFAULT_MAX_TOKENS
    for doc_id, provisions in parsed.items():
        chunks = chunk_document(provisions, documents[doc_id], count_tokens=count,
                                max_tokens=window)
        sizes = {c.id: count(c.embed_text) for c in chunks}
        assert max(sizes.values()) <= window, doc_id
    # The excerpts do hold provisions too long for one window (so the limit was binding).
    recital = [c for c in chunk_document(parsed["eu-ai-act"], documents["eu-ai-act"],
                                         count_tokens=count, max_tokens=window)
               if c.provision.ref == "Recital 133"]
    assert [c.part for c in recital] == [1, 2]


def test_a_long_provision_is_split_into_numbered_parts_that_cover_it_in_order():
    text = sentences_text(20)
    p = Provision("act", "Recital 9", Unit.RECITAL, text, recital="9")
    chunks = chunk_document([p], ACT, max_tokens=64)
    assert len(chunks) > 3
    assert [c.part for c in chunks] == list(range(1, len(chunks) + 1))
    assert " ".join(c.text for c in chunks) == text  # nothing lost, nothing repeated
    budget = 64 + 2 - approximate_tokens(context_line(p, ACT))
    assert all(approximate_tokens(c.text) <= budget for c in chunks)
    assert all(c.embed_text == f"AI Act Recital 9\n{c.text}" for c in chunks)


def test_one_sentence_longer_than_the_window_is_split_at_word_boundaries():
    text = " ".join(f"w{i}" for i in range(200)) + "."
    p = Provision("act", "Recital 8", Unit.RECITAL, text, recital="8")
    chunks = chunk_document([p], ACT, max_tokens=64)
    assert len(chunks) >= 4
    for chunk in chunks:
        start = text.index(chunk.text)
        end = start + len(chunk.text)
        assert chunk.text == chunk.text.strip()
        assert start == 0 or text[start - 1] == " "
        assert end == len(text) or text[end] == " "
    assert " ".join(c.text for c in chunks) == text


def test_a_short_provision_is_one_chunk_of_its_whole_text():
    p = Provision("act", "Article 4", Unit.ARTICLE, "Providers shall act.", title="AI literacy",
                  article="4")
    [chunk] = chunk_document([p], ACT)
    assert (chunk.part, chunk.text) == (0, "Providers shall act.")
    assert chunk.embed_text == "AI Act Article 4 AI literacy\nProviders shall act."


# --- verbatim text ----------------------------------------------------------------------------


def test_every_chunk_text_is_a_verbatim_slice_of_its_provision_in_order(documents, parsed):
    for doc_id, provisions in parsed.items():
        chunks = chunk_document(provisions, documents[doc_id])
        cursor: dict[str, int] = {}
        for chunk in chunks:
            text = chunk.provision.text
            at = text.find(chunk.text, cursor.get(chunk.provision.ref, 0))
            assert at >= 0, (doc_id, chunk)
            cursor[chunk.provision.ref] = at + len(chunk.text)
            assert chunk.embed_text.endswith("\n" + chunk.text)


# --- structure --------------------------------------------------------------------------------


def test_a_paragraph_with_points_gives_one_chunk_per_point_and_its_own_words(act_chunks):
    refs = [c.provision.ref for c in act_chunks if c.provision.ref.startswith("Article 5(1)")]
    assert refs == ["Article 5(1)", "Article 5(1)", *[f"Article 5(1)({x})" for x in "abc"],
                    "Article 5(1)(c)(i)", "Article 5(1)(c)(ii)",
                    *[f"Article 5(1)({x})" for x in "defgh"],
                    "Article 5(1)(h)(i)", "Article 5(1)(h)(ii)", "Article 5(1)(h)(iii)"]
    intro, closing = by_ref(act_chunks, "Article 5(1)")
    assert intro.text.startswith("1. The following AI practices shall be prohibited:")
    assert closing.text.startswith("Point (h) of the first subparagraph is without prejudice")
    assert (intro.part, closing.part) == (1, 2)


def test_a_point_is_embedded_with_its_ref_title_and_the_paragraphs_opening_words(act_chunks):
    [point] = by_ref(act_chunks, "Article 5(1)(f)")
    assert point.part == 0
    assert point.text == point.provision.text
    assert point.embed_text.startswith(
        "AI Act Article 5(1)(f) Prohibited AI practices\n"
        "The following AI practices shall be prohibited:\n"
        "the placing on the market, the putting into service for this specific purpose")


def test_the_intro_chunk_does_not_carry_the_first_points_label(act_chunks):
    for ref in ("Article 5(1)", "Article 3(45)"):
        intro = by_ref(act_chunks, ref)[0]
        assert not re.search(r"\(\w{1,4}\)\s*$", intro.text), intro.text


@pytest.mark.parametrize("label", ["(a)", "a)", "1."])
def test_an_intro_chunk_ends_before_the_first_points_label_in_every_style(label):
    # "(a)" in English, "a)" in the German and French editions, "1." in Annex III.
    point = "the placing on the market of a system;"
    paragraph = Provision("act", "Article 9(1)", Unit.ARTICLE,
                          f"1. The following practices are prohibited:\n{label} {point}",
                          article="9", paragraph="1")
    kid = Provision("act", "Article 9(1)(a)", Unit.ARTICLE, point, article="9", paragraph="1",
                    point="a", parent="Article 9(1)")
    chunks = chunk_document([paragraph, kid], ACT)
    assert [(c.provision.ref, c.text) for c in chunks] == [
        ("Article 9(1)", "1. The following practices are prohibited:"),
        ("Article 9(1)(a)", point)]


def test_a_label_left_alone_by_the_sentence_splitter_opens_the_next_part():
    # An amending act quotes new paragraphs: "...mutatis mutandis.\n2. Where ...".
    first = sentences_text(6)
    text = f"{first}\n2. Where the office finds an infringement it shall act."
    p = Provision("act", "Article 1, point (32)", Unit.ARTICLE, text, article="1")
    chunks = chunk_document([p], ACT, max_tokens=130)  # "2." would fit after the first six
    assert [c.text for c in chunks] == [
        first, "2. Where the office finds an infringement it shall act."]


def test_a_definition_is_embedded_with_its_term(act_chunks):
    [deployer] = by_ref(act_chunks, "Article 3(4)")
    assert deployer.embed_text.startswith("AI Act Article 3(4) Definition of ‘deployer’\n")


def test_context_line_names_the_document_the_way_it_is_cited(documents, parsed):
    section = parsed["guidelines-transparency-art50"][11]
    line = context_line(section, documents["guidelines-transparency-art50"])
    assert line == f"Guidelines C(2026) 5054 {section.section}"
    gdpr = Document("gdpr", "GDPR", Kind.REGULATION, "g.html", "eurlex_html", cite_as="GDPR")
    article = Provision("gdpr", "Article 22 GDPR", Unit.ARTICLE, "x", title="Automated "
                        "individual decision-making, including profiling")
    assert context_line(article, gdpr) == (
        "Article 22 GDPR Automated individual decision-making, including profiling")


def test_a_deleted_provision_has_no_chunk():
    kept = Provision("act", "Article 4", Unit.ARTICLE, "Providers shall act.")
    gone = Provision("act", "Article 5", Unit.ARTICLE, "Deleted.", valid_from="2030-01-01",
                     deleted=True)
    assert [c.provision.ref for c in chunk_document([kept, gone], ACT)] == ["Article 4"]


def test_unchanged_points_of_an_amended_paragraph_are_chunked_once():
    def point(label: str, text: str, **dates) -> Provision:
        return Provision("act", f"Article 1(1)({label})", Unit.ARTICLE, text, point=label,
                         parent="Article 1(1)", **dates)

    old_b = "the second rule as first adopted;"
    new_b = "the second rule as amended in 2030;"
    a = point("a", "the first rule, never amended;")
    paragraph = Provision("act", "Article 1(1)", Unit.ARTICLE,
                          f"1. Rules:\n(a) {a.text}\n(b) {old_b}", valid_until="2030-01-01")
    amended = replace(paragraph, text=f"1. Rules:\n(a) {a.text}\n(b) {new_b}",
                      valid_from="2030-01-01", valid_until=None)
    chunks = chunk_document(
        [paragraph, a, point("b", old_b, valid_until="2030-01-01"), amended,
         point("b", new_b, valid_from="2030-01-01")], ACT)
    assert len({c.id for c in chunks}) == len(chunks)
    assert [c.text for c in chunks if c.provision.ref == "Article 1(1)(a)"] == [a.text]
    assert sorted(c.text for c in chunks if c.provision.ref == "Article 1(1)(b)") == [
        new_b, old_b]


# --- ids and hashes ---------------------------------------------------------------------------


def test_the_same_input_gives_the_same_ids_and_hashes(documents, parsed):
    first = chunk_document(parsed["eu-ai-act"], documents["eu-ai-act"])
    again = chunk_document(parse_document(FIXTURES, documents["eu-ai-act"]),
                           documents["eu-ai-act"])
    assert [(c.id, c.content_hash) for c in first] == [(c.id, c.content_hash) for c in again]
    assert len({c.id for c in first}) == len(first)


def test_a_changed_text_keeps_the_id_and_changes_the_hash(documents, parsed):
    doc = documents["eu-ai-act"]
    # An edit of Article 50(1) shows in its own text and in Article 50's, which holds it.
    old = "1. Providers shall ensure"
    edited = [replace(p, text=p.text.replace(old, "1. Providers must ensure"))
              for p in parsed["eu-ai-act"]]
    assert [p.ref for p in parsed["eu-ai-act"] if old in p.text] == ["Article 50",
                                                                     "Article 50(1)"]
    before = {c.id: c.content_hash for c in chunk_document(parsed["eu-ai-act"], doc)}
    after = {c.id: c.content_hash for c in chunk_document(edited, doc)}
    assert list(after) == list(before)
    changed = [i for i in before if before[i] != after[i]]
    assert changed == [stable_id("eu-ai-act", "Article 50(1)", "0", "")]


def test_the_id_is_made_of_document_ref_part_date_and_language_not_text():
    p = Provision("act", "Article 4", Unit.ARTICLE, "Providers shall act.")
    chunk = Chunk(p, p.text, p.text)
    assert chunk.id == stable_id("act", "Article 4", "0", "")
    assert Chunk(replace(p, text="Other words."), "Other words.", "x").id == chunk.id
    assert Chunk(p, p.text, p.text, part=1).id != chunk.id
    assert Chunk(replace(p, valid_from="2030-01-01"), p.text, p.text).id != chunk.id
    assert Chunk(replace(p, lang="de"), p.text, p.text).id != chunk.id
