"""The obligations catalogue: parse, date, match questions.

In: ``kb/obligations/obligations.yaml`` (plain-language summaries with canonical refs, no
dates) validated by pydantic models, and the application table of :mod:`kb.law.dates`; out:
dated :class:`Obligation` records and the obligations a question is about.  Dates are never
written here: :func:`dated` takes them from ``kb.law.dates.applies_from``.  The scenario
finder lives in :mod:`kb.obligations.scenario`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator

from kb.errors import CatalogueError
from kb.law.dates import SCOPES, ApplicationRule, applies_from
from kb.law.refs import find_refs
from kb.obligations.schema import check_no_date, one_line, validate
from kb.text import words

log = logging.getLogger(__name__)

__all__ = ["CATALOGUE_PATH", "ROLES", "SCOPES", "CatalogueError", "Fact", "Obligation",
           "ObligationSpec", "dated", "load_catalogue", "match_obligations", "obligation_json",
           "parse_catalogue", "sentence_count"]

CATALOGUE_PATH = Path(__file__).with_name("obligations.yaml")

ROLES: tuple[str, ...] = (
    "provider",
    "deployer",
    "importer",
    "distributor",
    "authorised_representative",
    "product_manufacturer",
    "gpai_model_provider",
)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FACT_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# Canonical local refs of the AI Act (see the common brief): articles, points, annex points.
REF = re.compile(
    r"^(?:Article \d+[a-z]*(?:\(\d+[a-z]*\))?(?:\([a-z]+\))*"
    r"|Annex [IVXL]+(?:, point \d+(?:\([a-z]+\))?)?)$"
)
_RECITAL = re.compile(r"^(?:Regulation \(EU\) \d{4}/\d+, )?Recital \d+$")
_GUIDELINE = re.compile(r"^Guidelines C\(\d{4}\) \d+, para\. \d+$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘(])")

# The classification rule whose date every high-risk duty waits for (Article 113(c)).
_CLASSIFICATION = {"high_risk_annex_iii": "Article 6(2)", "high_risk_annex_i": "Article 6(1)"}


@dataclass(frozen=True, slots=True)
class Fact:
    """A yes/no fact a scenario depends on, asked as a question."""

    key: str
    question: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ObligationSpec:
    """One catalogue entry as written in the YAML: no date yet."""

    id: str
    title: str
    summary: str  # our plain-language words, at most two sentences; never the legal text
    roles: tuple[str, ...]
    applies_to: str  # a kb.law.dates scope
    refs: tuple[str, ...]  # canonical refs; the first decides the application date
    recitals: tuple[str, ...] = ()
    guidelines: tuple[str, ...] = ()
    cx_examples: tuple[str, ...] = ()
    conditions: tuple[Fact, ...] = ()  # all must be true for the entry to apply
    unless: tuple[Fact, ...] = ()  # exceptions: any true means it does not apply
    keywords: tuple[str, ...] = ()

    @property
    def condition(self) -> str:
        """The question(s) the entry depends on, "" when it applies unconditionally."""
        return " ".join(fact.question for fact in self.conditions)

    @property
    def is_prohibition(self) -> bool:
        return self.applies_to == "prohibited_practice" and self.refs[0].startswith("Article 5(")


@dataclass(frozen=True, slots=True, kw_only=True)
class Obligation(ObligationSpec):
    """A catalogue entry with its application date from the table of kb.law.dates."""

    applies_from: str  # ISO date
    date_basis: str = ""  # the provision that sets the date, from the application rule


# --- loading and validation (pydantic models of obligations.yaml) -----------------------


def _texts(value: object) -> object:
    """A single string where a list is expected counts as a one-item list."""
    return [value] if isinstance(value, str) else value


def _matching(items: tuple[str, ...], pattern: re.Pattern, name: str) -> tuple[str, ...]:
    for item in items:
        if not pattern.match(item):
            raise ValueError(f"{name} {item!r} is not a canonical ref")
    return items


class _CatalogueFile(BaseModel):
    """The file's top level: a ``facts`` mapping and an ``obligations`` list."""

    model_config = ConfigDict(extra="forbid")
    facts: dict[str, str] | None = None
    obligations: list[Any]

    @field_validator("facts")
    @classmethod
    def _facts(cls, facts: dict[str, str] | None) -> dict[str, str]:
        out = {}
        for key, question in (facts or {}).items():
            if not FACT_KEY.match(key):
                raise ValueError(f"bad fact key {key!r}; use lower_case_with_underscores")
            question = one_line(question)
            if not question.endswith("?"):
                raise ValueError(f"fact {key!r} must be a question ending in '?'")
            try:
                check_no_date(question)
            except ValueError as exc:
                raise ValueError(f"fact {key!r}: {exc}") from None
            out[key] = question
        return out


_REQUIRED = ("id", "title", "summary", "roles", "applies_to", "refs", "cx_examples")


class _Entry(BaseModel):
    """One obligation as written; ``context={"facts": ...}`` checks its fact keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    summary: str
    roles: tuple[str, ...]
    applies_to: str
    refs: tuple[str, ...]
    cx_examples: tuple[str, ...]
    recitals: tuple[str, ...] = ()
    guidelines: tuple[str, ...] = ()
    condition: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _present(cls, data: object) -> object:
        if not isinstance(data, dict):
            raise ValueError(f"each obligation must be a mapping, got {data!r}")
        missing = [key for key in _REQUIRED if not data.get(key)]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return data

    @field_validator("roles", "refs", "cx_examples", "recitals", "guidelines", "condition",
                     "unless", "keywords", mode="before")
    @classmethod
    def _listed(cls, value: object) -> object:
        value = _texts(value)
        return [one_line(item) for item in value] if isinstance(value, list) else value

    @field_validator("id", "title", "summary", "applies_to", mode="before")
    @classmethod
    def _one_line(cls, value: object) -> str:
        return one_line(value)

    @field_validator("id")
    @classmethod
    def _id(cls, oid: str) -> str:
        if not _ID.match(oid):
            raise ValueError(f"bad obligation id {oid!r}; use lower-case words joined by '-'")
        return oid

    @field_validator("title")
    @classmethod
    def _title(cls, title: str) -> str:
        return check_no_date(title)

    @field_validator("summary")
    @classmethod
    def _summary(cls, summary: str) -> str:
        if sentence_count(summary) > 2:
            raise ValueError(f"summary has more than two sentences: {summary!r}")
        return check_no_date(summary)

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        for role in roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
        return roles

    @field_validator("applies_to")
    @classmethod
    def _scope(cls, scope: str) -> str:
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
        return scope

    @field_validator("refs")
    @classmethod
    def _refs(cls, refs: tuple[str, ...]) -> tuple[str, ...]:
        return _matching(refs, REF, "ref")

    @field_validator("recitals")
    @classmethod
    def _recitals(cls, refs: tuple[str, ...]) -> tuple[str, ...]:
        return _matching(refs, _RECITAL, "recital")

    @field_validator("guidelines")
    @classmethod
    def _guidelines(cls, refs: tuple[str, ...]) -> tuple[str, ...]:
        return _matching(refs, _GUIDELINE, "guideline ref")

    @field_validator("cx_examples")
    @classmethod
    def _examples(cls, examples: tuple[str, ...]) -> tuple[str, ...]:
        if not 1 <= len(examples) <= 3:
            raise ValueError(f"needs 1 to 3 cx_examples, got {len(examples)}")
        for example in examples:
            check_no_date(example)
        return examples

    @field_validator("condition", "unless")
    @classmethod
    def _known_facts(cls, keys: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        facts = (info.context or {}).get("facts", {})
        for key in keys:
            if key not in facts:
                raise ValueError(f"unknown fact {key!r}; define it under 'facts'")
        return keys

    def spec(self, facts: dict[str, Fact]) -> ObligationSpec:
        return ObligationSpec(
            id=self.id, title=self.title, summary=self.summary, roles=self.roles,
            applies_to=self.applies_to, refs=self.refs, recitals=self.recitals,
            guidelines=self.guidelines, cx_examples=self.cx_examples,
            conditions=tuple(facts[k] for k in self.condition),
            unless=tuple(facts[k] for k in self.unless),
            keywords=tuple(k.lower() for k in self.keywords),
        )


def load_catalogue(path: Path | str | None = None) -> list[ObligationSpec]:
    """Read and validate the catalogue YAML (default ``kb/obligations/obligations.yaml``)."""
    path = Path(path) if path is not None else CATALOGUE_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read obligations catalogue {path}: {exc}") from exc
    specs = parse_catalogue(data, source=path.name)
    log.info("loaded %d obligations from %s", len(specs), path)
    return specs


def parse_catalogue(data: object, *, source: str = "obligations.yaml") -> list[ObligationSpec]:
    """Validate parsed YAML (``facts`` mapping, ``obligations`` list) into specs.

    Errors name ``source`` (the file), the entry and the bad value.
    """
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: catalogue must be a mapping with an 'obligations' list")
    top = validate(_CatalogueFile, data, source=source, where="catalogue")
    facts = {key: Fact(key, question) for key, question in (top.facts or {}).items()}
    specs: list[ObligationSpec] = []
    seen: set[str] = set()
    for entry in top.obligations:
        where = f"obligation {entry.get('id')!r}" if isinstance(entry, dict) else "obligation"
        spec = validate(_Entry, entry, source=source, where=where, context={"facts": facts})
        if spec.id in seen:
            raise CatalogueError(f"{source}: duplicate obligation id {spec.id!r}; ids must be "
                                 "unique")
        seen.add(spec.id)
        specs.append(spec.spec(facts))
    used = {f.key for spec in specs for f in spec.conditions + spec.unless}
    unused = sorted(set(facts) - used)
    if unused:
        raise CatalogueError(f"{source}: facts not used by any obligation: {', '.join(unused)}")
    return specs


def sentence_count(text: str) -> int:
    """Number of sentences in a summary: splits after ``.?!`` before a capital.

    >>> sentence_count("You must act. It applies from Article 4(1). Really?")
    3
    """
    return len([part for part in _SENTENCE_END.split(text.strip()) if part])


# --- dates ------------------------------------------------------------------------------


def dated(
    specs: Sequence[ObligationSpec],
    table: Sequence[ApplicationRule],
    *,
    chapter_of: Callable[[str], str] | None = None,
) -> list[Obligation]:
    """Fill each spec's ``applies_from`` from the application table of kb.law.dates.

    The first ref and the spec's scope select the rule (``kb.law.dates.applies_from``); a
    high-risk duty never applies before the classification of high-risk systems does.
    """
    out = []
    for spec in specs:
        rule = _rule_for(spec, table, chapter_of)
        values = {f.name: getattr(spec, f.name) for f in fields(ObligationSpec)}
        out.append(
            Obligation(**values, applies_from=rule.applies_from, date_basis=rule.legal_basis)
        )
    return out


def _rule_for(
    spec: ObligationSpec,
    table: Sequence[ApplicationRule],
    chapter_of: Callable[[str], str] | None,
) -> ApplicationRule:
    rule = applies_from(table, spec.refs[0], scope=spec.applies_to, chapter_of=chapter_of)
    classification = _CLASSIFICATION.get(spec.applies_to)
    if classification:
        # Duties on high-risk systems outside Chapter III (Articles 49, 72, 73, 86) bite only
        # once systems are classified high-risk: Article 6 applies from Article 113(c), and
        # Article 111(2) spares systems placed on the market before that date.
        start = applies_from(table, classification, scope=spec.applies_to, chapter_of=chapter_of)
        if start.applies_from > rule.applies_from:
            return start
    return rule


def obligation_json(o: Obligation) -> dict:
    """The documented JSON shape of an obligation."""
    return {
        "id": o.id,
        "title": o.title,
        "summary": o.summary,
        "roles": list(o.roles),
        "refs": list(o.refs),
        "applies_from": o.applies_from,
    }


# --- matching questions -----------------------------------------------------------------

_O = TypeVar("_O", bound=ObligationSpec)


def _ref_hit(asked: str, ref: str) -> bool:
    """A catalogue ref matches an asked ref when equal or nested in it.

    >>> _ref_hit("Annex III", "Annex III, point 5(b)"), _ref_hit("Article 5(1)", "Article 50(1)")
    (True, False)
    """
    return ref == asked or ref.startswith((asked + "(", asked + ","))


@lru_cache(maxsize=8192)
def _phrase_tokens(phrase: str) -> tuple[tuple[str, bool], ...]:
    """Tokens of a keyword phrase; a trailing ``*`` on a word makes it a prefix (parsed once
    per phrase, not once per question)."""
    tokens: list[tuple[str, bool]] = []
    for part in phrase.split():
        prefix = part.endswith("*")
        sub = words(part.rstrip("*"))
        tokens += [(tok, prefix and i == len(sub) - 1) for i, tok in enumerate(sub)]
    return tuple(tokens)


PHRASE_GAP = 2  # words a question may put between two words of a keyword phrase


def _phrase_hit(phrase: Sequence[tuple[str, bool]], tokens: list[str]) -> bool:
    """Whether the phrase's words occur in order, at most PHRASE_GAP words apart
    ("emotion recognition on our call centre employees" matches "... on employees").

    >>> _phrase_hit(_phrase_tokens("emotion recognition on employees"),
    ...             words("emotion recognition on our call employees"))
    True
    >>> _phrase_hit(_phrase_tokens("staff emotion*"), words("staff training sessions on emotions"))
    False
    """

    def hit(word: tuple[str, bool], token: str) -> bool:
        return token.startswith(word[0]) if word[1] else token == word[0]

    def rest(i: int, at: int) -> bool:
        if i == len(phrase):
            return True
        window = tokens[at : at + PHRASE_GAP + 1]
        return any(hit(phrase[i], t) and rest(i + 1, at + k + 1) for k, t in enumerate(window))

    return any(hit(phrase[0], t) and rest(1, start + 1) for start, t in enumerate(tokens))


def match_obligations(question: str, catalogue: Sequence[_O], *, limit: int = 5) -> list[_O]:
    """The obligations a plain-language question is about, best first.

    Precision over recall: an obligation matches only when the question cites one of its
    AI Act refs (``kb.law.refs.find_refs``; an enclosing ref such as "Article 26" matches
    "Article 26(7)"; "Article 22 GDPR" matches nothing here), scoring 10 each, or
    contains one of its keyword phrases word for word (a trailing ``*`` is a prefix), scoring
    the phrase's word count.  Ties keep catalogue order.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    asked = [m.local for m in find_refs(question) if m.act == ""]  # AI Act refs only
    tokens = words(question)
    scored = []
    for index, o in enumerate(catalogue):
        score = 10 * sum(any(_ref_hit(a, r) for r in o.refs) for a in asked)
        for phrase in o.keywords:
            parsed = _phrase_tokens(phrase)
            if parsed and _phrase_hit(parsed, tokens):
                score += len(parsed)
        if score:
            scored.append((-score, index, o))
    scored.sort(key=lambda item: item[:2])
    return [o for _, _, o in scored[:limit]]
