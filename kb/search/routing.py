"""Question-type routing: the fine or the date that answers a question about a subject.

"What fines can we get if our chatbot does not disclose it is AI?" is answered by the point
of Article 99 that fines breaches of Article 50 (point (g) of paragraph 4), not by the fine for
prohibited practices; "Since when has emotion recognition of employees been banned?" by the
point of Article 113 that dates Chapter II.  In: the question's subject provisions (its best
candidates); out: the refs to lead with.  Both maps are read from the law in force, never
typed here: Article 99's points name the articles whose breach they fine (one hop further
for the articles those name, and Chapter V for Article 101), and :mod:`kb.law.dates` names
what applies when.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from kb.law.dates import ApplicationRule, applies_from
from kb.law.library import Library
from kb.law.refs import find_refs
from kb.records import Provision, Unit
from kb.search.intent import already_on_the_market

PENALTY_NUMBERS = ("99", "101")  # fines for operators; for general-purpose model providers
DATE_NUMBERS = ("113", "111")
_SECTION = re.compile(r"\bSections? (\d+)\b")
_GPAI = re.compile(r"general-purpose AI models?", re.IGNORECASE)
_TIME_LIMIT = re.compile(
    r"\b(?:within|(?:not|no) later than|at the latest|immediately|without undue delay)\b|"
    r"\b\d+ (?:working )?(?:days|months|years)\b|\bby \d{1,2} [A-Z][a-z]+ \d{4}\b")
_PUBLIC_AUTHORITY = re.compile(r"\bpublic (?:authorit|bod|sector|administration)", re.IGNORECASE)
_LARGE_SCALE_IT = re.compile(r"\blarge[- ]scale IT\b|\bAnnex X\b", re.IGNORECASE)


def article_number(ref: str) -> str | None:
    """The article a local AI Act ref belongs to ("Article 5(1)(f)" → "5").

    >>> article_number("Article 5(1)(f)"), article_number("Annex III, point 5(b)")
    ('5', None)
    """
    match = re.match(r"^Article (\d+[a-z]*)\b", ref)
    return match.group(1) if match else None


class Router:
    """The penalty map of one act (built once from its provisions in force)."""

    def __init__(self, library: Library, as_of: str):
        self.library = library
        self.as_of = as_of
        self.act = library.main_act()
        law = library.in_force(self.act, as_of)
        self._articles = [p for p in law if p.unit is Unit.ARTICLE and not p.parent]
        self.penalties = self._penalty_map(law)

    def _cited(self, p: Provision) -> list[str]:
        """Local AI Act refs a provision's text names ("Article 25(2)"), and the articles of
        a "Section 2" of its own chapter."""
        out = [m.local for m in find_refs(p.text) if m.act == "" and article_number(m.local)]
        for section in _SECTION.findall(p.text):
            out += [a.ref for a in self._articles if a.chapter == p.chapter
                    and a.section.startswith(f"Section {section} ")]
        return list(dict.fromkeys(out))

    def _penalty_map(self, law: Sequence[Provision]) -> dict[str, str]:
        """Article number → the ref that fines its breach."""
        claims: dict[str, str] = {}
        cited_by: dict[str, list[str]] = {}
        fining = [p for p in law if p.article == "99" and p.paragraph in ("3", "4")
                  and (p.point or p.paragraph == "3")]
        for p in fining:
            cited_by[p.ref] = self._cited(p)
            for ref in cited_by[p.ref]:
                claims.setdefault(article_number(ref), p.ref)
        for fine, refs in cited_by.items():  # one hop: what the fined provisions name
            for ref in refs:
                named = self.library.version(ref, self.as_of)
                if named is None or fine.startswith("Article 99(3)"):
                    continue  # Article 5 names other acts' practices, not more duties
                for p in [named, *self.library.children(named.ref, self.as_of)]:
                    for cited in self._cited(p):
                        claims.setdefault(article_number(cited), fine)
        gpai_fine = self.library.version("Article 101(1)", self.as_of)
        if gpai_fine is not None and _GPAI.search(gpai_fine.text):
            for a in self._articles:
                if _GPAI.search(a.chapter):
                    claims[a.article] = gpai_fine.ref
        return claims

    def penalty(self, subjects: Iterable[str]) -> str | None:
        """The ref fining a breach of the first subject that has one."""
        for ref in subjects:
            number = article_number(ref)
            if number and number not in PENALTY_NUMBERS and number in self.penalties:
                return self.penalties[number]
        return None

    def date(self, subjects: Iterable[str], table: Sequence[ApplicationRule],
             chapter_of: Callable[[str], str] | None = None,
             legacy: Sequence[str] = ()) -> str | None:
        """The provision of Article 113 (or 111) dating the first subject: for a system
        already on the market, the point of Article 111 of the first ``legacy`` scope that
        covers it."""
        for ref in subjects:
            number = article_number(ref)
            if not number or number in DATE_NUMBERS:
                continue
            rule = self._legacy_rule(ref, table, chapter_of, legacy) or \
                applies_from(table, ref, chapter_of=chapter_of)
            basis = rule.legal_basis.split(",")[0].strip()  # "Article 113, second paragraph"
            if self.library.version(basis, self.as_of) is not None:
                return basis
        return None

    @staticmethod
    def _legacy_rule(ref: str, table: Sequence[ApplicationRule],
                     chapter_of: Callable[[str], str] | None,
                     legacy: Sequence[str]) -> ApplicationRule | None:
        """The Article 111 rule of the first ``legacy`` scope that covers ``ref``, if any."""
        for scope in legacy:
            rule = applies_from(table, ref, scope=scope, chapter_of=chapter_of)
            if rule.scope == scope:  # else applies_from fell back to the general rules
                return rule
        return None

    def time_limit(self, subjects: Sequence[str]) -> str | None:
        """The first of the best few subjects whose own text sets a time limit ("not later
        than 15 days after ...")."""
        for ref in subjects[:3]:
            p = self.library.version(ref, self.as_of)
            if p is not None and _TIME_LIMIT.search(p.text):
                return ref
        return None


def legacy_scopes(question: str) -> tuple[str, ...]:
    """The Article 111 scopes a question about a system already on the market may fall
    under (none when it is not about one).

    >>> legacy_scopes("Our chatbot has been live since 2025 and serves public authorities.")
    ('legacy_generative_system', 'legacy_gpai_model', 'public_authority_legacy')
    """
    if not already_on_the_market(question):
        return ()
    out = ("legacy_generative_system", "legacy_gpai_model")
    if _PUBLIC_AUTHORITY.search(question):
        out += ("public_authority_legacy",)
    if _LARGE_SCALE_IT.search(question):
        out += ("legacy_large_scale_it",)
    return out


def subjects(refs: Iterable[str], cited: Callable[[str], list[str]]) -> list[str]:
    """The AI Act provisions a question is about, best first: the candidates themselves
    when they are articles, and the articles that guidance or recitals among them cite."""
    out: list[str] = []
    for ref in refs:
        if ref.startswith("Article ") and " GDPR" not in ref and "," not in ref:
            out.append(ref)
        else:
            out += cited(ref)
    return list(dict.fromkeys(out))
