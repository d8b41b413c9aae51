"""When each part of the AI Act applies, read from its own text as in force on a date.

In: the AI Act's provisions (every version, as ``ingest.consolidate`` returns them); out:
the application table of Article 113 and the transitional rules of Article 111, one
:class:`ApplicationRule` per date, and :func:`applies_from` to pick the rule for a ref.
No date is typed here: change the text (an amending act) and the table follows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from kb.errors import BadQuestion
from kb.index.catalog import in_force
from kb.records import Provision, Unit

log = logging.getLogger(__name__)

SCOPES: tuple[str, ...] = (
    "all_ai_systems",
    "prohibited_practice",
    "high_risk_annex_iii",
    "high_risk_annex_i",
    "transparency",
    "gpai_model",
    "gpai_model_systemic_risk",
    "legacy_generative_system",
    "public_authority_legacy",
)
# Rows for systems already on the market (Article 111) apply only when asked for by scope.
_LEGACY = frozenset({"legacy_generative_system", "public_authority_legacy",
                     "legacy_large_scale_it", "legacy_gpai_model"})
_HIGH_RISK = ("high_risk_annex_iii", "high_risk_annex_i")
# Where a scope's rules sit when the ref itself says nothing (an annex, an unknown article).
_SCOPE_HOME = {
    "prohibited_practice": "Chapter II",
    "transparency": "Chapter IV",
    "gpai_model": "Chapter V",
    "gpai_model_systemic_risk": "Chapter V",
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}})\b")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
_REF_TOKENS = re.compile(
    r"Chapter (?P<ch>[IVXLC]+),?\s+Sections? (?P<secs>\d+(?:(?:,\s*|,?\s*and\s+)\d+)*)"
    r"|Chapters? (?P<chs>[IVXLC]+\b(?:(?:,\s*|\s+and\s+)[IVXLC]+\b)*)"
    r"|Articles (?P<a1>\d+) to (?P<a2>\d+)"
    r"|Articles? (?P<art>\d+[a-z]*)(?P<parens>(?:\(\w+\))*)(?P<more>(?:\s+and\s+\(\w+\))*)"
    r"(?:,\s*(?:first|second|third) subparagraph)?"
    r"(?:,\s*points? (?P<pts>\(\w+\)(?:(?:,\s*|\s+and\s+)\(\w+\))*))?"
)


@dataclass(frozen=True)
class ApplicationRule:
    """One date of application: what applies from when, for which systems, and why.

    ``refs`` are the provisions the rule covers: the chapters, sections and articles its
    text names, followed by the articles of those chapters and sections (from the
    provisions' ``chapter``/``section`` metadata) that no narrower rule claims.
    """

    key: str  # "article_113_c_i"
    description: str  # the rule's own words
    applies_from: str  # ISO date
    scope: str  # one of SCOPES (or a legacy scope of Article 111)
    refs: tuple[str, ...]
    legal_basis: str  # "Article 113(c)(i)"


# --- reading the law in force ---------------------------------------------------------------


def _in_force(provisions: Iterable[Provision], on: str) -> dict[str, Provision]:
    return {p.ref: p for p in provisions
            if not p.deleted and in_force(p.valid_from, p.valid_until, on)}


def iso(text: str) -> str:
    """ "2 August 2026" -> "2026-08-02".

    >>> iso("2 December 2027")
    '2027-12-02'
    """
    match = _DATE.search(text)
    if not match:
        raise ValueError(f"no date in {text!r}")
    day, month, year = match.groups()
    return f"{year}-{_MONTHS.index(month) + 1:02d}-{int(day):02d}"


def parse_refs(phrase: str) -> list[str]:
    """The chapters, sections and provisions a phrase of Article 113 names, canonical.

    >>> parse_refs("Chapter III Section 4, Chapter V, Chapter VII and Chapter XII and Article 78")
    ['Chapter III, Section 4', 'Chapter V', 'Chapter VII', 'Chapter XII', 'Article 78']
    >>> parse_refs("Article 5(1), first subparagraph, points (ba) and (bb), "
    ...            "and Article 5(1a) and (1b)")
    ['Article 5(1)(ba)', 'Article 5(1)(bb)', 'Article 5(1a)', 'Article 5(1b)']
    >>> parse_refs("Chapters I and II"), parse_refs("Articles 102 to 104")
    (['Chapter I', 'Chapter II'], ['Article 102', 'Article 103', 'Article 104'])
    """
    refs: list[str] = []
    for m in _REF_TOKENS.finditer(phrase):
        if m.group("ch"):
            refs += [f"Chapter {m.group('ch')}, Section {s}"
                     for s in re.findall(r"\d+", m.group("secs"))]
        elif m.group("chs"):
            refs += [f"Chapter {c}" for c in re.findall(r"[IVXLC]+", m.group("chs"))]
        elif m.group("a1"):
            refs += [f"Article {n}" for n in range(int(m.group("a1")), int(m.group("a2")) + 1)]
        else:
            base = f"Article {m.group('art')}{m.group('parens')}"
            if m.group("pts"):
                refs += [base + p for p in re.findall(r"\(\w+\)", m.group("pts"))]
            elif m.group("more"):
                stem = base[: base.rfind("(")] if m.group("parens") else base
                refs += [base] + [stem + p for p in re.findall(r"\(\w+\)", m.group("more"))]
            else:
                refs.append(base)
    return refs


def _scope_of(words: str) -> str:
    if re.search(r"Article 6\(2\)|Annex III\b", words):
        return "high_risk_annex_iii"
    if re.search(r"Article 6\(1\)|Annex I\b", words):
        return "high_risk_annex_i"
    return "all_ai_systems"


def _roman(text: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
    digits = [values.get(c, 0) for c in text]
    return sum(-v if i + 1 < len(digits) and digits[i + 1] > v else v
               for i, v in enumerate(digits))


def _chapter_parts(label: str) -> tuple[str, str]:
    """ "Chapter III — High-risk ..." + "Section 2 — ..." -> ("III", "2")."""
    chapter = re.search(r"\bChapter ([IVXLC]+)\b", label)
    section = re.search(r"\bSection (\d+)\b", label)
    return (chapter.group(1) if chapter else "", section.group(1) if section else "")


@dataclass
class _Draft:
    key: str
    description: str
    applies_from: str
    scope: str
    named: list[str]  # refs the text names
    legal_basis: str
    excepted: tuple[str, ...] = ()


# --- the table ----------------------------------------------------------------------------


def application_table(provisions: Sequence[Provision], as_of: str) -> list[ApplicationRule]:
    """The dates of application of the AI Act as its text stands on ``as_of`` (ISO).

    Rows: the general date (Article 113, second paragraph), each point of Article 113's
    third paragraph (and its exceptions), and the deadlines of Article 111 for systems and
    models already on the market.  Raises ValueError when Article 113 is not in force.
    """
    law = _in_force(provisions, as_of)
    article = law.get("Article 113")
    if article is None or "shall apply from" not in article.text:
        raise ValueError(f"Article 113 (application dates) is not among the provisions "
                         f"in force on {as_of}")
    law = {ref: p for ref, p in law.items() if p.doc_id == article.doc_id}
    drafts = _article_113(article, law)
    drafts += _article_111(law)
    articles = _articles(law)
    rules = [_rule(d, drafts, articles) for d in drafts]
    log.debug("application table on %s: %d rules", as_of, len(rules))
    return rules


def _points(law: dict[str, Provision], parent: str) -> list[Provision]:
    return sorted((p for p in law.values() if p.parent == parent and p.point),
                  key=lambda p: p.order)


def _article_113(article: Provision, law: dict[str, Provision]) -> list[_Draft]:
    points = _points(law, "Article 113")
    own: list[str] = []  # the article's unnumbered paragraphs, before its list of points
    for line in article.text.splitlines():
        if re.match(r"^\(\w+\) ", line):
            break
        own.append(line)
    general = next((i for i, line in enumerate(own) if line.startswith("It shall apply from")),
                   None)
    if general is None:
        raise ValueError("Article 113 has no 'It shall apply from' paragraph")
    nth = _ORDINALS[general] if general < len(_ORDINALS) else f"{general + 1}th"
    basis = f"Article 113, {nth} paragraph"
    general_date = iso(own[general])
    drafts = [_Draft("article_113_general", own[general], general_date, "all_ai_systems", [],
                     basis)]
    for point in points:
        drafts += _point_113(point, law, general_date, basis)
    scopes = {d.scope for d in drafts}
    if "high_risk_annex_iii" not in scopes:
        # Before 2026/1744 no point named Annex III systems: Chapter III applied to them
        # from the general date.
        drafts.append(_Draft(
            "article_113_general_high_risk_annex_iii",
            f"{own[general]} (Chapter III for high-risk AI systems referred to in Article 6(2) "
            "and Annex III, not dated otherwise)",
            general_date, "high_risk_annex_iii", ["Chapter III"], basis))
    return drafts


def _point_113(point: Provision, law: dict[str, Provision], general: str, general_basis: str
               ) -> list[_Draft]:
    label = point.point
    key = f"article_113_{label}"
    basis = f"Article 113({label})"
    first = point.text.splitlines()[0]
    match = re.match(r"^(?P<subject>.+?) shall apply from:?\s*(?P<rest>.*)$", first)
    if not match:
        log.warning("Article 113(%s) gives no date: %r", label, first)
        return []
    subject, rest = match.group("subject"), match.group("rest")
    subject, _, subject_exception = subject.partition(", with the exception of ")
    named = parse_refs(subject)
    scope = _scope_of(subject)
    if "corresponding obligations" in subject and scope in _HIGH_RISK:
        named.append("Chapter III")  # "Article 6(1) and the corresponding obligations"
    out: list[_Draft] = []
    exception = re.search(r"with the exception of (?P<what>.+?)(?: which shall apply from "
                          r"(?P<date>\d{1,2} \w+ \d{4}))?[;.]?$", rest)
    excepted = parse_refs(subject_exception) + (parse_refs(exception.group("what"))
                                                if exception else [])
    subs = sorted((p for p in law.values() if p.parent == point.ref), key=lambda p: p.order)
    if _DATE.match(rest):
        out.append(_Draft(key, first, iso(rest), scope, named, basis, tuple(excepted)))
    elif subs:
        for sub in subs:
            words = sub.text.splitlines()[0]
            if not _DATE.match(words):
                log.warning("%s gives no date: %r", sub.ref, words)
                continue
            sub_scope = _scope_of(words)
            out.append(_Draft(f"{key}_{sub.subpoint}", f"{first} {words}", iso(words),
                              sub_scope if sub_scope != "all_ai_systems" else scope, named,
                              f"{basis}({sub.subpoint})", tuple(excepted)))
    if exception and exception.group("date"):
        what = parse_refs(exception.group("what"))
        kind = "prohibited_practice" if all(r.startswith("Article 5(") for r in what) else scope
        out.append(_Draft(f"{key}_exception", first, iso(exception.group("date")), kind, what,
                          basis))
    elif excepted:
        out.append(_Draft(
            f"{key}_exception",
            f"{', '.join(excepted)}: excepted from {basis}, so the general date applies",
            general, "all_ai_systems", excepted, general_basis))
    return out


def _article_111(law: dict[str, Provision]) -> list[_Draft]:
    """Deadlines for AI systems and models already on the market (Article 111)."""
    out: list[_Draft] = []
    members: dict[str, set[str]] = {}
    for ref, chapter, _ in _articles(law):
        if chapter:
            members.setdefault(chapter, set()).add(ref)
    chapters = sorted(members, key=_roman)
    for paragraph in sorted((p for p in law.values() if p.parent == "Article 111"),
                            key=lambda p: p.order):
        text = paragraph.text
        deadline = [m for m in _DATE.finditer(text)
                    if text[max(0, m.start() - 3):m.start()] == "by "]
        if not deadline:
            continue
        when = iso(deadline[-1].group(0))
        basis = paragraph.ref
        key = "article_111_" + (paragraph.paragraph or "")
        spared = parse_refs(m.group(1)) if (m := re.search(
            r"Without prejudice to the application of (Article \d+)", text)) else []
        # "This Regulation", less the chapters made only of articles it leaves aside.
        everything = [f"Chapter {c}" for c in chapters if members[c] - set(spared)]
        comply = re.search(r"comply with (Article \d+\(\d+\))", text)
        if comply:
            scope, named = "legacy_generative_system", parse_refs(comply.group(1))
        elif "public authorities" in text:
            scope, named = "public_authority_legacy", list(everything)
        elif "general-purpose AI models" in text:
            scope, named = "legacy_gpai_model", ["Chapter V"]
        elif "large-scale IT systems" in text:
            scope, named = "legacy_large_scale_it", list(everything)
        else:
            log.warning("%s: deadline %s for no known kind of system", basis, when)
            continue
        out.append(_Draft(key, text, when, scope, named, basis, tuple(spared)))
    return out


def _articles(law: dict[str, Provision]) -> list[tuple[str, str, str]]:
    """(ref, chapter number, section number) of each article in force."""
    out = []
    for p in law.values():
        if p.unit is Unit.ARTICLE and p.article and p.ref == f"Article {p.article}":
            chapter, _ = _chapter_parts(p.chapter)
            _, section = _chapter_parts(p.section)
            out.append((p.ref, chapter, section))
    return out


def _covers(named: str, chapter: str, section: str) -> int:
    """How narrowly a named chapter ("Chapter III") or section covers an article: 0 not."""
    match = re.match(r"^Chapter ([IVXLC]+)(?:, Section (\d+))?$", named)
    if not match or match.group(1) != chapter:
        return 0
    if match.group(2) is None:
        return 1
    return 2 if match.group(2) == section else 0


def _rule(draft: _Draft, drafts: list[_Draft], articles: list[tuple[str, str, str]]
          ) -> ApplicationRule:
    """The rule with its articles: those of its chapters and sections that no rule names
    more narrowly, less the ones it excepts."""
    refs = list(draft.named)
    peers = [d for d in drafts if (d.scope in _LEGACY) == (draft.scope in _LEGACY)]
    for ref, chapter, section in articles:
        mine = max((_covers(n, chapter, section) for n in draft.named), default=0)
        if not mine or ref in refs or _excepted(ref, draft.excepted):
            continue
        best = max((_covers(n, chapter, section) for d in peers for n in d.named), default=0)
        if mine == best:
            refs.append(ref)
    return ApplicationRule(draft.key, draft.description, draft.applies_from, draft.scope,
                           tuple(refs), draft.legal_basis)


def _excepted(ref: str, excepted: Iterable[str]) -> bool:
    return any(ref == e for e in excepted)


# --- picking the rule for a provision ----------------------------------------------------


def _ancestors(ref: str) -> list[str]:
    """ "Article 5(1)(ba)" -> ["Article 5(1)(ba)", "Article 5(1)", "Article 5"]."""
    out = [ref]
    while re.search(r"\(\w+\)$", ref):
        ref = ref[: ref.rfind("(")]
        out.append(ref)
    return out


def _match(rule: ApplicationRule, ref: str, chapter_of: Callable[[str], str] | None) -> int:
    """How specifically ``rule`` names ``ref``: deeper refs beat articles beat sections beat
    chapters; 0 if it does not."""
    chain = _ancestors(ref)
    for depth, ancestor in enumerate(chain):
        if ancestor in rule.refs:
            return 10 + len(chain) - depth
    if chapter_of is not None:
        article = chain[-1]
        try:
            chapter, section = _chapter_parts(chapter_of(article) or "")
        except Exception:  # a resolver that does not know the ref
            return 0
        return max((_covers(r, chapter, section) for r in rule.refs), default=0)
    return 0


def applies_from(
    table: Sequence[ApplicationRule],
    ref: str,
    *,
    scope: str | None = None,
    chapter_of: Callable[[str], str] | None = None,
) -> ApplicationRule:
    """The rule that dates ``ref`` ("Article 26(1)", "Article 5(1)(ba)", "Annex III").

    The most specific rule naming the ref (or its article, section or chapter) wins; among
    equals, the one for ``scope``.  ``chapter_of`` maps an article ref to its chapter and
    section label ("Chapter III — ..., Section 2 — ...") for articles the table does not
    list.  Rules for systems already on the market (Article 111) are only chosen when their
    scope is asked for.  Falls back to the general date.
    """
    if scope is not None and scope not in SCOPES and scope not in _LEGACY:
        raise ValueError(f"unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
    if not table:
        raise ValueError("empty application table")
    if scope in _LEGACY:
        for rule in table:
            if rule.scope == scope and _match(rule, ref, chapter_of):
                return rule
        scope = None
    candidates = [r for r in table if r.scope not in _LEGACY and _compatible(r.scope, scope)]
    scored = [(_match(r, ref, chapter_of), r) for r in candidates]
    best = max((s for s, _ in scored), default=0)
    if best:
        tied = [r for s, r in scored if s == best]
        return _prefer(tied, scope)
    if scope in _HIGH_RISK and not ref.startswith("Article "):
        # An annex ("Annex IV") serves the articles of the rule for that kind of system; an
        # article that no rule names applies from the general date, as Article 113 says.
        dedicated = [r for r in candidates if r.scope == scope]
        if dedicated:
            return dedicated[0]
    home = _SCOPE_HOME.get(scope or "")
    if home:
        for rule in candidates:
            if home in rule.refs:
                return rule
    return table[0]


def _compatible(rule_scope: str, scope: str | None) -> bool:
    if rule_scope in _HIGH_RISK:
        # Without a high-risk scope, a high-risk system is taken to be one of Annex III.
        return rule_scope == (scope if scope in _HIGH_RISK else "high_risk_annex_iii")
    return True


def _prefer(rules: list[ApplicationRule], scope: str | None) -> ApplicationRule:
    for rule in rules:
        if rule.scope == scope:
            return rule
    return rules[0]


def chapter_resolver(provisions: Iterable[Provision]) -> Callable[[str], str]:
    """A ``chapter_of`` for :func:`applies_from`: article ref -> "Chapter ..., Section ..."."""
    labels: dict[str, str] = {}
    for p in provisions:
        if p.unit is Unit.ARTICLE and p.article and p.ref == f"Article {p.article}":
            labels[p.ref] = ", ".join(x for x in (p.chapter, p.section) if x)

    def chapter_of(ref: str) -> str:
        match = re.match(r"^(Article \d+[a-z]*)", ref)
        return labels.get(match.group(1), "") if match else ""

    return chapter_of


def parse_date(value: str | None, *, name: str = "as-of") -> str:
    """The one date validator: an ISO date (today when empty), or BadQuestion naming it.

    >>> parse_date("2026-12-02")
    '2026-12-02'
    """
    if not value:
        return date.today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise BadQuestion(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None
