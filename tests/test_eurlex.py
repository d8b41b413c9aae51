"""ingest.eurlex: EUR-Lex OJ HTML of the AI Act and the GDPR into provisions.

Fast tests read the trimmed real excerpt in tests/fixtures/corpus; tests marked ``corpus``
read the full files listed in corpus/manifest.toml.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.eurlex import parse_eurlex, parse_file
from kb.errors import BadDocument
from kb.records import Document, Kind, Provision, Unit

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
EXCERPT = ROOT / "tests" / "fixtures" / "corpus" / "eu-ai-act-excerpt.html"

ART_50_1 = (
    "1. Providers shall ensure that AI systems intended to interact directly with natural "
    "persons are designed and developed in such a way that the natural persons concerned are "
    "informed that they are interacting with an AI system, unless this is obvious from the point "
    "of view of a natural person who is reasonably well-informed, observant and circumspect, "
    "taking into account the circumstances and the context of use. This obligation shall not "
    "apply to AI systems authorised by law to detect, prevent, investigate or prosecute criminal "
    "offences, subject to appropriate safeguards for the rights and freedoms of third parties, "
    "unless those systems are available for the public to report a criminal offence."
)
ART_5_1_F = (
    "the placing on the market, the putting into service for this specific purpose, or the use "
    "of AI systems to infer emotions of a natural person in the areas of workplace and education "
    "institutions, except where the use of the AI system is intended to be put in place or into "
    "the market for medical or safety reasons;"
)
ANNEX_III_5_B = (
    "AI systems intended to be used to evaluate the creditworthiness of natural persons or "
    "establish their credit score, with the exception of AI systems used for the purpose of "
    "detecting financial fraud;"
)
ART_113_POINTS = {
    "Article 113(a)": "Chapters I and II shall apply from 2 February 2025;",
    "Article 113(b)": (
        "Chapter III Section 4, Chapter V, Chapter VII and Chapter XII and Article 78 shall apply "
        "from 2 August 2025, with the exception of Article 101;"
    ),
    "Article 113(c)": (
        "Article 6(1) and the corresponding obligations in this Regulation shall apply from "
        "2 August 2027."
    ),
}
GDPR_22_1 = (
    "1. The data subject shall have the right not to be subject to a decision based solely on "
    "automated processing, including profiling, which produces legal effects concerning him or "
    "her or similarly significantly affects him or her."
)
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII"]


def manifest_document(doc_id: str) -> Document:
    data = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))
    entry = next(d for d in data["document"] if d["id"] == doc_id)
    return Document(**{**entry, "kind": Kind.from_str(entry["kind"])})


AI_ACT = Document(
    id="eu-ai-act",
    title="Regulation (EU) 2024/1689 (Artificial Intelligence Act)",
    kind=Kind.REGULATION,
    file="eu-ai-act/OJ_L_202401689_EN_TXT.html",
    parser="eurlex_html",
    url="https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng",
    cite_as="",
)


def by_ref(provisions: list[Provision]) -> dict[str, Provision]:
    return {p.ref: p for p in provisions}


@pytest.fixture(scope="module")
def excerpt() -> list[Provision]:
    return parse_file(EXCERPT, AI_ACT)


@pytest.fixture(scope="module")
def ai_act() -> list[Provision]:
    doc = manifest_document("eu-ai-act")
    return parse_file(CORPUS / doc.file, doc)


@pytest.fixture(scope="module")
def gdpr() -> list[Provision]:
    doc = manifest_document("gdpr")
    return parse_file(CORPUS / doc.file, doc)


def whole_articles(provisions: list[Provision]) -> list[Provision]:
    return [p for p in provisions if p.unit is Unit.ARTICLE and p.parent == ""]


# --- the excerpt (fast) ------------------------------------------------------------------


def test_excerpt_yields_its_recitals_articles_and_annex_in_reading_order(excerpt):
    tops = [p.ref for p in excerpt if p.parent == ""]
    assert tops == [
        "Recital 1",
        "Recital 132",
        "Recital 133",
        "Recital 134",
        "Article 3",
        "Article 5",
        "Article 6",
        "Article 50",
        "Article 113",
        "Annex III",
    ]
    assert [p.order for p in excerpt] == list(range(len(excerpt)))


def test_article_50_paragraph_1_is_the_official_wording(excerpt):
    paragraph = by_ref(excerpt)["Article 50(1)"]
    assert paragraph.text == ART_50_1
    assert (paragraph.article, paragraph.paragraph, paragraph.parent) == ("50", "1", "Article 50")
    assert paragraph.url == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001"


def test_hostile_script_in_the_source_never_reaches_the_text(excerpt):
    texts = "\n".join(p.text + p.intro + p.title for p in excerpt)
    assert "alert(" not in texts and "pwned" not in texts and "IGNORE PREVIOUS" not in texts


def test_whole_article_joins_its_numbered_paragraphs(excerpt):
    refs = by_ref(excerpt)
    article = refs["Article 50"]
    assert article.title == (
        "Transparency obligations for providers and deployers of certain AI systems"
    )
    paragraphs = [refs[f"Article 50({n})"].text for n in range(1, 8)]
    assert article.text == "\n".join(paragraphs)
    assert article.text.startswith("1. Providers shall ensure")
    assert "\n7. The AI Office" in article.text


def test_points_carry_article_paragraph_point_and_intro(excerpt):
    point = by_ref(excerpt)["Article 5(1)(f)"]
    assert point.text == ART_5_1_F
    assert (point.article, point.paragraph, point.point, point.subpoint) == ("5", "1", "f", None)
    assert point.parent == "Article 5(1)"
    assert point.intro == "The following AI practices shall be prohibited:"
    assert point.anchor == "005.001"


def test_paragraph_text_lists_its_points_with_labels(excerpt):
    text = by_ref(excerpt)["Article 5(1)"].text
    assert text.startswith("1. The following AI practices shall be prohibited:\n(a) the placing")
    assert "\n(f) " + ART_5_1_F + "\n" in text
    assert "\n(i) the targeted search for specific victims" in text
    assert text.endswith("for purposes other than law enforcement.")


def test_sub_points_are_their_own_provisions(excerpt):
    refs = by_ref(excerpt)
    sub = refs["Article 5(1)(h)(iii)"]
    assert (sub.point, sub.subpoint, sub.parent) == ("h", "iii", "Article 5(1)(h)")
    assert sub.text.startswith("the localisation or identification of a person suspected")
    assert sub.intro.startswith("the use of ‘real-time’ remote biometric identification systems")
    assert "\n(iii) the localisation" in refs["Article 5(1)(h)"].text


def test_article_113_has_points_without_a_paragraph(excerpt):
    refs = by_ref(excerpt)
    for ref, text in ART_113_POINTS.items():
        assert refs[ref].text == text
        assert (refs[ref].paragraph, refs[ref].parent) == (None, "Article 113")
    assert refs["Article 113(a)"].intro.endswith("It shall apply from 2 August 2026.\nHowever:")
    assert "Article 113(d)" not in refs


def test_article_3_yields_68_definitions_with_their_terms(excerpt):
    definitions = [p for p in excerpt if p.unit is Unit.DEFINITION]
    assert [p.ref for p in definitions] == [f"Article 3({n})" for n in range(1, 69)]
    refs = by_ref(excerpt)
    assert refs["Article 3(1)"].term == "AI system"
    assert refs["Article 3(4)"].term == "deployer"
    assert refs["Article 3(39)"].term == "emotion recognition system"
    assert refs["Article 3(14)"].term == "safety component"
    assert refs["Article 3(4)"].text.startswith("‘deployer’ means a natural or legal person")
    assert refs["Article 3(1)"].point == "1" and refs["Article 3(1)"].paragraph is None


def test_points_inside_a_definition_are_articles_not_definitions(excerpt):
    sub = by_ref(excerpt)["Article 3(49)(c)"]
    assert sub.unit is Unit.ARTICLE and (sub.point, sub.subpoint) == ("49", "c")
    deepest = by_ref(excerpt)["Article 3(61)(a)(i)"]
    assert deepest.text == "the act or omission originated or took place;"


def test_chapter_and_section_metadata(excerpt):
    refs = by_ref(excerpt)
    assert refs["Article 3"].chapter == "Chapter I — General provisions"
    assert refs["Article 5(1)(f)"].chapter == "Chapter II — Prohibited AI practices"
    assert refs["Article 6(1)"].chapter == "Chapter III — High-risk AI systems"
    assert refs["Article 6(1)"].section == "Section 1 — Classification of AI systems as high-risk"
    assert refs["Article 50"].chapter == (
        "Chapter IV — Transparency obligations for providers and deployers of certain AI systems"
    )
    assert refs["Article 50"].section == ""
    assert refs["Article 113"].chapter == "Chapter XIII — Final provisions"


def test_annex_iii_points_and_sub_points(excerpt):
    refs = by_ref(excerpt)
    annex = refs["Annex III"]
    assert annex.title == "High-risk AI systems referred to in Article 6(2)"
    assert annex.text.startswith("High-risk AI systems pursuant to Article 6(2) are")
    point = refs["Annex III, point 5(b)"]
    assert point.text == ANNEX_III_5_B
    assert (point.annex, point.point, point.subpoint) == ("III", "5", "b")
    assert point.parent == "Annex III, point 5"
    assert point.url.endswith("#anx_III")
    assert refs["Annex III, point 5"].text.startswith(
        "Access to and enjoyment of essential private services"
    )
    assert [r for r in refs if re.fullmatch(r"Annex III, point \d", r)] == [
        f"Annex III, point {n}" for n in range(1, 9)
    ]


def test_refs_are_unique_and_urls_point_at_anchors(excerpt):
    refs = [p.ref for p in excerpt]
    assert len(refs) == len(set(refs))
    for p in excerpt:
        assert p.url == f"{AI_ACT.url}#{p.anchor}"


def test_regulation_refs_are_qualified_by_cite_as():
    doc = Document(
        "gdpr-like", "A regulation", Kind.REGULATION, "x.html", "eurlex_html", cite_as="XYZ"
    )
    refs = by_ref(parse_file(EXCERPT, doc))
    point = refs["Article 5(1)(f) XYZ"]
    assert point.parent == "Article 5(1) XYZ"
    assert refs["Recital 1 XYZ"].url == ""


def test_str_and_bytes_input_give_the_same_provisions():
    data = EXCERPT.read_bytes()
    assert parse_eurlex(data.decode("utf-8"), AI_ACT) == parse_eurlex(data, AI_ACT)


def test_footnote_markers_and_notes_are_removed():
    html = """<html><body><div class="eli-subdivision" id="rct_10"><table><tbody><tr>
      <td valign="top"><p class="oj-normal">(10)</p></td>
      <td valign="top"><p class="oj-normal">safeguarded by Regulation (EU) 2016/679\u00a0<a
        id="ntc11-L_202401689EN.000101-E0011" href="#ntr11-L_202401689EN.000101-E0011"
        >(<span class="oj-super oj-note-tag">11</span>)</a> and (EU) 2018/1725 of the
        Council\u00a0<a
        id="ntc13-L_202401689EN.000101-E0013" href="#ntr13-L_202401689EN.000101-E0013"
        >(<span class="oj-super oj-note-tag">13</span>)</a>. Directive <span
        class="oj-italic">2002/58/EC</span> applies.</p></td></tr></tbody></table></div>
      <hr class="oj-note"/><p class="oj-note"><a id="ntr11-L_202401689EN.000101-E0011"
        href="#ntc11-L_202401689EN.000101-E0011">(<span class="oj-super">11</span>)</a>
        Regulation (EU) 2016/679 (OJ L 119, 4.5.2016, p. 1).</p></body></html>"""
    (recital,) = parse_eurlex(html, AI_ACT)
    assert recital.text == (
        "safeguarded by Regulation (EU) 2016/679 and (EU) 2018/1725 of the Council. "
        "Directive 2002/58/EC applies."
    )
    assert (recital.ref, recital.recital, recital.anchor) == ("Recital 10", "10", "rct_10")


def test_dash_lists_stay_in_the_text_without_provisions():
    html = """<html><body><div class="eli-subdivision" id="art_9"><p class="oj-ti-art">Article 9</p>
      <div class="eli-title"><p class="oj-sti-art">Test</p></div>
      <div id="009.001"><p class="oj-normal">1.\u00a0\u00a0\u00a0Offences:</p>
      <table><tbody><tr><td><p class="oj-normal">—</p></td>
      <td><p class="oj-normal">terrorism,</p></td></tr></tbody></table>
      <table><tbody><tr><td><p class="oj-normal">—</p></td>
      <td><p class="oj-normal">rape.</p></td></tr></tbody></table></div></div></body></html>"""
    assert [(p.ref, p.text) for p in parse_eurlex(html, AI_ACT)] == [
        ("Article 9", "1. Offences:\n— terrorism,\n— rape."),
        ("Article 9(1)", "1. Offences:\n— terrorism,\n— rape."),
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        ("", "is empty"),
        (b"   \n", "is empty"),
        ("<html><body><p>Not an act</p></body></html>", "no recitals or articles"),
        (b"\xff\xfe<\x00h\x00", "not UTF-8"),
    ],
)
def test_unusable_input_raises_bad_document(data, message):
    with pytest.raises(BadDocument, match=message):
        parse_eurlex(data, AI_ACT)


def test_missing_file_raises_bad_document(tmp_path):
    with pytest.raises(BadDocument, match="cannot read"):
        parse_file(tmp_path / "missing.html", AI_ACT)


# --- the full AI Act -------------------------------------------------------------------


@pytest.mark.corpus
def test_ai_act_has_180_recitals_113_articles_and_13_annexes(ai_act):
    units = Counter(p.unit for p in ai_act)
    assert units[Unit.RECITAL] == 180
    assert [p.ref for p in whole_articles(ai_act)] == [f"Article {n}" for n in range(1, 114)]
    annexes = [p.ref for p in ai_act if p.unit is Unit.ANNEX and p.parent == ""]
    assert annexes == [f"Annex {n}" for n in ROMAN]
    assert units[Unit.DEFINITION] == 68


@pytest.mark.corpus
def test_ai_act_key_provisions_are_verbatim(ai_act):
    refs = by_ref(ai_act)
    assert refs["Article 50(1)"].text == ART_50_1
    assert refs["Article 5(1)(f)"].text == ART_5_1_F
    assert refs["Annex III, point 5(b)"].text == ANNEX_III_5_B
    for ref, text in ART_113_POINTS.items():
        assert refs[ref].text == text
    assert refs["Article 3(39)"].term == "emotion recognition system"


@pytest.mark.corpus
def test_ai_act_every_article_has_a_title_and_refs_are_unique(ai_act):
    assert all(p.title for p in whole_articles(ai_act))
    assert len({p.ref for p in ai_act}) == len(ai_act)
    assert [p.order for p in ai_act] == list(range(len(ai_act)))


@pytest.mark.corpus
def test_ai_act_texts_have_no_footnotes_or_markup(ai_act):
    marker = re.compile(r"[A-Za-z’]\((?:\d+|\*)\)|\(\*\)|(?:Council|Committee|Regions)\s\(\d+\)")
    for p in ai_act:
        assert not marker.search(p.text), p.ref
        assert not re.search(r"<[a-zA-Z/!]|&[a-z]+;|\u00a0| {2}", p.text), p.ref
        if p.unit is not Unit.ANNEX:  # Annexes I and X cite the OJ in their official text
            assert not re.search(r"OJ [LC] \d", p.text), p.ref
    refs = by_ref(ai_act)
    assert "of the European Parliament and of the Council. Directive 2002/58/EC" in (
        refs["Recital 10"].text
    )


@pytest.mark.corpus
def test_ai_act_second_list_of_a_paragraph_is_cited_by_subparagraph(ai_act):
    refs = by_ref(ai_act)
    assert refs["Article 43(1)(a)"].text == "the internal control referred to in Annex VI; or"
    second = refs["Article 43(1), second subparagraph, point (a)"]
    assert second.text.startswith("harmonised standards referred to in Article 40 do not exist")
    assert (second.paragraph, second.point, second.parent) == ("1", "a", "Article 43(1)")


@pytest.mark.corpus
def test_ai_act_annex_sections_and_numbered_headings(ai_act):
    refs = by_ref(ai_act)
    section = refs["Annex VIII, Section A"]
    assert section.title.startswith("Information to be submitted by providers of high-risk AI")
    assert refs["Annex VIII, Section A, point 1"].section == "Section A — " + section.title
    assert refs["Annex VII, point 3.1(a)"].parent == "Annex VII, point 3.1"
    assert refs["Annex X, point 1(a)"].text.startswith("Regulation (EU) 2018/1860")
    assert refs["Annex XIII, point (a)"].text.startswith("the number of parameters of the model")


@pytest.mark.corpus
def test_excerpt_texts_equal_the_full_file(excerpt, ai_act):
    full = by_ref(ai_act)
    for p in excerpt:  # everything but the running order is the same
        assert replace(p, order=0) == replace(full[p.ref], order=0), p.ref


# --- the full GDPR ---------------------------------------------------------------------


@pytest.mark.corpus
def test_gdpr_has_173_recitals_and_99_articles(gdpr):
    assert Counter(p.unit for p in gdpr)[Unit.RECITAL] == 173
    assert [p.ref for p in whole_articles(gdpr)] == [f"Article {n} GDPR" for n in range(1, 100)]
    assert all(p.ref.endswith(" GDPR") for p in gdpr)
    assert len({p.ref for p in gdpr}) == len(gdpr)


@pytest.mark.corpus
def test_gdpr_article_22_1_and_definitions(gdpr):
    refs = by_ref(gdpr)
    assert refs["Article 22(1) GDPR"].text == GDPR_22_1
    assert refs["Article 22(1) GDPR"].section == (
        "Section 4 — Right to object and automated individual decision-making"
    )
    definitions = [p for p in gdpr if p.unit is Unit.DEFINITION]
    assert [p.ref for p in definitions] == [f"Article 4({n}) GDPR" for n in range(1, 27)]
    assert refs["Article 4(1) GDPR"].term == "personal data"
    assert refs["Article 4(7) GDPR"].term == "controller"


# --- German and French editions: same parser, same refs ------------------------------------

EXCERPTS = {lang: ROOT / "tests" / "fixtures" / "corpus" / f"eu-ai-act-excerpt-{lang}.html"
            for lang in ("de", "fr")}
ART_50_1_IN = {
    "de": (
        "(1) Die Anbieter stellen sicher, dass KI-Systeme, die für die direkte Interaktion mit "
        "natürlichen Personen bestimmt sind, so konzipiert und entwickelt werden, dass die "
        "betreffenden natürlichen Personen informiert werden, dass sie mit einem KI-System "
        "interagieren, es sei denn, dies ist aus Sicht einer angemessen informierten, "
        "aufmerksamen und verständigen natürlichen Person aufgrund der Umstände und des "
        "Kontexts der Nutzung offensichtlich. Diese Pflicht gilt nicht für gesetzlich zur "
        "Aufdeckung, Verhütung, Ermittlung oder Verfolgung von Straftaten zugelassene "
        "KI-Systeme, wenn geeignete Schutzvorkehrungen für die Rechte und Freiheiten Dritter "
        "bestehen, es sei denn, diese Systeme stehen der Öffentlichkeit zur Anzeige einer "
        "Straftat zur Verfügung."
    ),
    "fr": (
        "1. Les fournisseurs veillent à ce que les systèmes d’IA destinés à interagir "
        "directement avec des personnes physiques soient conçus et développés de manière que "
        "les personnes physiques concernées soient informées qu’elles interagissent avec un "
        "système d’IA, sauf si cela ressort clairement du point de vue d’une personne physique "
        "normalement informée et raisonnablement attentive et avisée, compte tenu des "
        "circonstances et du contexte d’utilisation. Cette obligation ne s’applique pas aux "
        "systèmes d’IA dont la loi autorise l’utilisation à des fins de prévention ou de "
        "détection des infractions pénales, d’enquêtes ou de poursuites en la matière, sous "
        "réserve de garanties appropriées pour les droits et libertés des tiers, sauf si ces "
        "systèmes sont mis à la disposition du public pour permettre le signalement d’une "
        "infraction pénale."
    ),
}
EURLEX_LANG = {"de": "deu", "fr": "fra"}


def language_version(lang: str) -> Document:
    return replace(AI_ACT, id=f"eu-ai-act-{lang}", language=lang,
                   url=f"https://eur-lex.europa.eu/eli/reg/2024/1689/oj/{EURLEX_LANG[lang]}")


@pytest.fixture(scope="module", params=["de", "fr"])
def edition(request) -> tuple[str, list[Provision]]:
    lang = request.param
    return lang, parse_file(EXCERPTS[lang], language_version(lang))


def test_language_excerpts_have_the_english_refs_in_the_same_order(excerpt, edition):
    _, provisions = edition
    assert [p.ref for p in provisions] == [p.ref for p in excerpt]
    fields = ("unit", "article", "paragraph", "point", "subpoint", "annex", "recital", "parent")
    for english, other in zip(excerpt, provisions, strict=True):
        assert [getattr(other, f) for f in fields] == [getattr(english, f) for f in fields]


def test_article_50_1_in_each_language_is_the_official_wording(edition):
    lang, provisions = edition
    paragraph = by_ref(provisions)["Article 50(1)"]
    assert paragraph.text == ART_50_1_IN[lang]
    base = f"https://eur-lex.europa.eu/eli/reg/2024/1689/oj/{EURLEX_LANG[lang]}"
    assert paragraph.url == f"{base}#050.001"


def test_defined_terms_are_read_from_german_and_french_quote_marks(edition):
    lang, provisions = edition
    refs = by_ref(provisions)
    definitions = [p for p in provisions if p.unit is Unit.DEFINITION]
    assert len(definitions) == 68 and all(p.term for p in definitions)
    assert refs["Article 3(4)"].term == {"de": "Betreiber", "fr": "déployeur"}[lang]
    assert refs["Article 3(1)"].term == {"de": "KI-System", "fr": "système d’IA"}[lang]


def test_points_labelled_a_bracket_become_english_style_refs(edition):
    lang, provisions = edition
    refs = by_ref(provisions)
    point = refs["Article 5(1)(f)"]
    assert point.intro == {"de": "Folgende Praktiken im KI-Bereich sind verboten:",
                           "fr": "Les pratiques en matière d’IA suivantes sont interdites:"}[lang]
    # The paragraph keeps its points with their labels as printed ("a) ...").
    assert "\na) " in refs["Article 5(1)"].text
    ending = {"de": "gelten ab dem 2. August 2027.", "fr": "s’appliquent à partir du 2 août 2027."}
    assert refs["Article 113(c)"].text.endswith(ending[lang])


def test_titles_and_chapters_are_in_the_language(edition):
    lang, provisions = edition
    article = by_ref(provisions)["Article 50"]
    assert article.title == {
        "de": "Transparenzpflichten für Anbieter und Betreiber bestimmter KI-Systeme",
        "fr": "Obligations de transparence pour les fournisseurs et les déployeurs de certains "
              "systèmes d’IA",
    }[lang]
    # German headings keep their capitals (nouns); French ones are sentence-cased.
    assert article.chapter == {
        "de": "Kapitel IV — TRANSPARENZPFLICHTEN FÜR ANBIETER UND BETREIBER BESTIMMTER "
              "KI-SYSTEME",
        "fr": "Chapitre IV — Obligations de transparence pour les fournisseurs et les déployeurs "
              "de certains systèmes d’IA",
    }[lang]


def test_a_language_the_parser_does_not_know_is_refused():
    with pytest.raises(BadDocument, match="reads languages en, de, fr, not 'it'"):
        parse_file(EXCERPTS["fr"], replace(AI_ACT, language="it"))


@pytest.fixture(scope="module", params=["de", "fr"])
def full_edition(request) -> tuple[str, list[Provision]]:
    doc = manifest_document(f"eu-ai-act-{request.param}")
    return request.param, parse_file(CORPUS / doc.file, doc)


@pytest.mark.corpus
def test_each_language_has_180_recitals_113_articles_13_annexes_68_definitions(full_edition):
    _, provisions = full_edition
    units = Counter(p.unit for p in provisions)
    assert units[Unit.RECITAL] == 180
    assert [p.ref for p in whole_articles(provisions)] == [f"Article {n}" for n in range(1, 114)]
    annexes = [p.ref for p in provisions if p.unit is Unit.ANNEX and p.parent == ""]
    assert annexes == [f"Annex {n}" for n in ROMAN]
    assert units[Unit.DEFINITION] == 68


@pytest.mark.corpus
def test_each_language_has_article_50_1_verbatim_and_its_defined_terms(full_edition):
    lang, provisions = full_edition
    refs = by_ref(provisions)
    assert refs["Article 50(1)"].text == ART_50_1_IN[lang]
    terms = {p.term for p in provisions if p.unit is Unit.DEFINITION}
    assert {"de": "Betreiber", "fr": "déployeur"}[lang] in terms


@pytest.mark.corpus
def test_every_english_ref_has_its_german_and_french_counterpart(ai_act, full_edition):
    _, provisions = full_edition
    assert [p.ref for p in provisions] == [p.ref for p in ai_act]
    assert all(p.text for p in provisions)
    # Same structure: as many lines (points) in each provision as in English.
    english = by_ref(ai_act)
    assert [p.ref for p in provisions if p.text.count("\n") != english[p.ref].text.count("\n")] \
        == []
