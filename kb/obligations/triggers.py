"""The trigger catalogue of the assessment engine and its lexical matcher.

In: ``kb/obligations/triggers.yaml`` (team-written concept lexicons, deciding facts with
yes/no cues, one trigger per deciding provision), validated by pydantic at load time; out:
:class:`Evidence` for a description (which concepts occur, negated or not, and with which
words) and the facts it answers.  The verdict itself is built by :mod:`kb.obligations.assess`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from kb.errors import CatalogueError
from kb.law.dates import SCOPES
from kb.obligations.catalogue import FACT_KEY, REF
from kb.obligations.schema import one_line, validate

log = logging.getLogger(__name__)

TRIGGERS_PATH = Path(__file__).with_name("triggers.yaml")
Tier = Literal["prohibited", "high_risk", "limited", "gpai", "literacy"]

# A concept match is negated when one of these words stands before it in the same clause
# ("It does not try to read emotions", "The police are not involved").
_NEGATOR = re.compile(
    r"\b(?:not|no(?!-)|never|nothing|nobody|no one|none|nor|neither|cannot|without any)\b|n't\b")
_CLAUSE_END = re.compile(r"[.;:!?()]|,\s*(?:but|and|then|so|which|while)\b|\bbut\b|\bwhile\b")
NEGATION_WINDOW = 6  # words before a match in which a negator counts
WITHOUT_WINDOW = 4  # "without any X" negates X, not what follows it


# --- the data file ------------------------------------------------------------------------


class FactSpec(BaseModel):
    """A deciding yes/no fact: the question, and the concepts that answer it from the text."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str
    yes_cues: tuple[str, ...] = ()  # concepts whose (non-negated) match answers yes
    yes_all: tuple[str, ...] = ()  # concept groups ("a|b") that together also answer yes...
    yes_all_unless: tuple[str, ...] = ()  # ...unless one of these concepts occurs
    no_cues: tuple[str, ...] = ()  # concepts whose match answers no; a negated `yes` too
    negated_yes_is_no: bool = True
    prefer: Literal["yes", "no"] = "yes"  # which answer wins when both kinds of cue occur

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, value: object) -> str:
        text = one_line(value)
        if not text.endswith("?"):
            raise ValueError(f"must be a question ending in '?', got {text!r}")
        return text


class Condition(BaseModel):
    """A fact a trigger depends on, and what is reported when it rules the trigger out."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    fact: str
    value: bool = True
    if_open: Literal["fire", "skip"] = "fire"  # an unanswered fact: assume it holds, or not
    ref: str | None = None  # reported under exceptions_considered when it decides
    why: str | None = None

    @field_validator("why", mode="before")
    @classmethod
    def _why(cls, value: object) -> str | None:
        return None if value is None else one_line(value)


class Boundary(BaseModel):
    """A near miss worth reporting: concepts that occur while no listed trigger fired."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ref: str
    why: str
    all: tuple[str, ...]
    unless_fired: tuple[str, ...] = ()

    @field_validator("why", mode="before")
    @classmethod
    def _why(cls, value: object) -> str:
        return one_line(value)


class TriggerSpec(BaseModel):
    """One deciding provision and when a description falls under it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    ref: str  # the deciding provision, a canonical AI Act ref
    tier: Tier
    scope: str  # kb.law.dates scope that dates it
    why: str  # our plain-language reason, one or two sentences
    all: tuple[str, ...] = ()  # concept groups that must all occur ("a|b": either)
    none: tuple[str, ...] = ()  # concept groups any of which rules the trigger out
    requires: tuple[Condition, ...] = ()  # facts that must have this value (open: assumed)
    unless: tuple[Condition, ...] = ()  # facts whose value rules it out (an exception)
    derogable: bool = False  # Annex III: Article 6(3) may take it out, unless profiling
    anchor: str | None = None  # a concept group that, alone, makes it a near miss to report
    obligations: tuple[str, ...] = ()  # catalogue ids (or @groups of systems.yaml)
    legacy_scope: str | None = None  # scope used when `legacy_fact` is yes (Article 111)
    legacy_fact: str | None = None
    exemplars: tuple[str, ...] = ()  # short descriptions that fall under it (docs, dense)

    @field_validator("why", mode="before")
    @classmethod
    def _why(cls, value: object) -> str:
        return one_line(value)

    @field_validator("ref")
    @classmethod
    def _ref(cls, ref: str) -> str:
        if not REF.match(ref) and not ref.startswith("Annex I, Section"):
            raise ValueError(f"ref {ref!r} is not a canonical ref")
        return ref

    @field_validator("scope", "legacy_scope")
    @classmethod
    def _scope(cls, scope: str | None) -> str | None:
        if scope is not None and scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
        return scope


class TriggerFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    concepts: dict[str, tuple[str, ...]]
    facts: dict[str, FactSpec]
    role_cues: dict[str, tuple[str, ...]]
    triggers: tuple[TriggerSpec, ...]
    boundaries: tuple[Boundary, ...] = ()

    @field_validator("concepts")
    @classmethod
    def _patterns(cls, concepts: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, patterns in concepts.items():
            if not patterns:
                raise ValueError(f"concept {name!r} has no patterns")
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"concept {name!r}: bad pattern {pattern!r}: {exc}") from None
        return concepts

    @model_validator(mode="after")
    def _names(self) -> TriggerFile:
        known = set(self.concepts)
        for key, fact in self.facts.items():
            if not FACT_KEY.match(key):
                raise ValueError(f"bad fact key {key!r}; use lower_case_with_underscores")
            names = fact.yes_cues + fact.no_cues + fact.yes_all_unless + tuple(
                n for group in fact.yes_all for n in group.split("|"))
            for name in names:
                if name not in known:
                    raise ValueError(f"fact {key!r}: unknown concept {name!r}")
        for role, names in self.role_cues.items():
            for name in names:
                if name not in known:
                    raise ValueError(f"role cue {role!r}: unknown concept {name!r}")
        ids = set()
        for t in self.triggers:
            if t.id in ids:
                raise ValueError(f"duplicate trigger id {t.id!r}")
            ids.add(t.id)
            for group in t.all + t.none + ((t.anchor,) if t.anchor else ()):
                for name in group.split("|"):
                    if name not in known:
                        raise ValueError(f"trigger {t.id!r}: unknown concept {name!r}")
            keys = [c.fact for c in t.requires + t.unless] + [t.legacy_fact or ""]
            for key in filter(None, keys):
                if key not in self.facts:
                    raise ValueError(f"trigger {t.id!r}: unknown fact {key!r}")
        for b in self.boundaries:
            for group in b.all:
                for name in group.split("|"):
                    if name not in known:
                        raise ValueError(f"boundary {b.ref!r}: unknown concept {name!r}")
            for tid in b.unless_fired:
                if tid not in ids:
                    raise ValueError(f"boundary {b.ref!r}: unknown trigger {tid!r}")
        return self


def load_triggers(path: Path | str | None = None) -> Catalogue:
    """Read, validate and compile ``triggers.yaml``."""
    path = Path(path) if path is not None else TRIGGERS_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read trigger catalogue {path}: {exc}") from exc
    spec = validate(TriggerFile, data, source=path.name, where="triggers")
    log.info("loaded %d triggers, %d concepts from %s", len(spec.triggers), len(spec.concepts),
             path)
    return Catalogue(spec)


@lru_cache(maxsize=1)
def default_triggers() -> Catalogue:
    return load_triggers()


# --- matching -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a concept: the words matched and whether a negator governs it."""

    concept: str
    words: str
    start: int
    negated: bool


@dataclass(slots=True)
class Evidence:
    """What a description says, concept by concept."""

    text: str
    hits: dict[str, list[Hit]] = field(default_factory=dict)

    def has(self, group: str) -> bool:
        """Whether any concept of ``group`` ("a|b") occurs un-negated."""
        return any(not h.negated for name in group.split("|") for h in self.hits.get(name, ()))

    def negated(self, name: str) -> bool:
        hits = self.hits.get(name, ())
        return bool(hits) and all(h.negated for h in hits)

    def words(self, group: str) -> list[str]:
        return [h.words for name in group.split("|") for h in self.hits.get(name, ())
                if not h.negated]


class Catalogue:
    """The compiled trigger catalogue: concept regexes, facts, triggers."""

    def __init__(self, spec: TriggerFile):
        self.spec = spec
        self.facts = spec.facts
        self.triggers = spec.triggers
        self._regex = {
            name: re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")[a-z0-9'-]*")
            for name, patterns in spec.concepts.items()
        }

    def evidence(self, description: str) -> Evidence:
        """Every concept occurrence in ``description`` (lower-cased, quotes normalised)."""
        text = normalise(description)
        clauses = [m.end() for m in _CLAUSE_END.finditer(text)]
        found = Evidence(text)
        for name, regex in self._regex.items():
            hits = []
            for m in regex.finditer(text):
                start = max((c for c in clauses if c <= m.start()), default=0)
                before = text[start:m.start()].split()[-NEGATION_WINDOW:]
                negated = _negated(before)
                hits.append(Hit(name, m.group(0).strip(), m.start(), negated))
            if hits:
                found.hits[name] = hits
        return found

    def fact_values(self, evidence: Evidence) -> dict[str, bool]:
        """The facts the text answers: yes when a `yes` concept occurs, no when a `no`
        concept occurs (or every `yes` occurrence is negated); unanswered facts are absent."""
        values = {}
        for key, fact in self.facts.items():
            yes = any(evidence.has(name) for name in fact.yes_cues) or (
                bool(fact.yes_all) and all(evidence.has(g) for g in fact.yes_all)
                and not any(evidence.has(name) for name in fact.yes_all_unless))
            no = any(evidence.has(name) for name in fact.no_cues) or (
                fact.negated_yes_is_no and not yes
                and any(evidence.negated(name) for name in fact.yes_cues))
            if yes and no:
                values[key] = fact.prefer == "yes"
            elif yes or no:
                values[key] = yes
        return values

    def role(self, evidence: Evidence) -> str | None:
        """The role the text states ("we build" → provider), or None."""
        for role, names in self.spec.role_cues.items():
            if any(evidence.has(name) for name in names):
                return role
        return None


def _negated(before: list[str]) -> bool:
    """Whether a negator governs the word after ``before`` (the words before it in its
    clause); "without any" governs only the next few words ("without any targeting to build
    a database": the database is not negated).

    >>> _negated("it does not read".split()), _negated("without any targeting to build a".split())
    (True, False)
    """
    words = list(before)
    for i in range(len(words) - 1):
        if words[i] == "without" and words[i + 1] == "any" and len(words) - i > WITHOUT_WINDOW:
            words[i] = words[i + 1] = ""
    return bool(_NEGATOR.search(" ".join(words)))


def normalise(text: str) -> str:
    """Lower case, straight quotes and single spaces, so lexicons stay simple.

    >>> normalise("Our  ‘AI’ can’t")
    "our 'ai' can't"
    """
    text = re.sub(r"\byes/no\b", "yes-or-no", text, flags=re.I)  # "no" there negates nothing
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.lower().split())
