"""Assess an AI system from a plain description: risk tier, role, cited reasons, obligations.

In: a description, optionally a role and answers to deciding facts, the law in force on a
date (a ``text_of(ref)`` lookup and the application table) and the dated obligations
catalogue; out: a frozen :class:`Assessment`.  Matching is lexical and explainable: the
trigger catalogue (:mod:`kb.obligations.triggers`) decides which provisions apply; every
reason quotes its provision's official wording.  No LLM, no network.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kb.errors import BadQuestion, UnknownChoice
from kb.law.dates import ApplicationRule, applies_from
from kb.law.refs import parents
from kb.obligations.catalogue import ROLES, Obligation, obligation_json
from kb.obligations.dense import DenseModel, Embed
from kb.obligations.scenario import GROUPS, ChecklistItem, checklist_items
from kb.obligations.triggers import Catalogue, Evidence, TriggerSpec, default_triggers
from kb.safety import control_character

log = logging.getLogger(__name__)

TIERS = ("prohibited", "high_risk", "limited", "minimal")
RISK_LEVELS = (*TIERS, "unclear")
MAX_DESCRIPTION_CHARS = 5000
DEFAULT_ROLE = "deployer"
_YES, _NO = ("yes", "true", "y", "1"), ("no", "false", "n", "0")
# Derogation of Annex III systems (Article 6(3)) and its profiling rule (third subparagraph).
_DEROGATION = "Article 6(3)"
_ALWAYS = ("ai-literacy-measures",)
PARTIAL_NOTE = ("(Matched in part by similarity to team-written examples of this provision: "
                "check the description against the quoted text.)")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a provision applies: the provision's official words and ours."""

    ref: str
    text: str  # verbatim official wording in force on the as-of date
    why: str  # our plain-language reason (not the law)
    score: float
    matched: tuple[str, ...]  # words of the description that triggered it
    tier: str = ""  # the tier it supports ("" when it applies only later)
    applies_from: str = ""

    def to_dict(self) -> dict:
        return {"ref": self.ref, "text": self.text, "why": self.why,
                "score": round(self.score, 3), "matched": list(self.matched)}


@dataclass(frozen=True, slots=True)
class Considered:
    """An exception or boundary the engine checked, and what it concluded."""

    ref: str
    why: str

    def to_dict(self) -> dict:
        return {"ref": self.ref, "why": self.why}


@dataclass(frozen=True, slots=True)
class Question:
    """A deciding fact still open; ``text`` says what each answer would change."""

    key: str
    text: str
    options: tuple[str, ...] = ("yes", "no")

    def to_dict(self) -> dict:
        return {"key": self.key, "text": self.text, "options": list(self.options)}


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict on one described system, as of a date."""

    description: str
    role: str
    role_assumed: bool
    risk_level: str  # one of RISK_LEVELS
    tiers: tuple[str, ...]
    reasons: tuple[Reason, ...]
    exceptions_considered: tuple[Considered, ...]
    questions: tuple[Question, ...]
    checklist: tuple[ChecklistItem, ...]
    as_of: str
    facts: Mapping[str, bool] = field(default_factory=dict)  # given and read from the text
    timing_ms: float = 0.0

    @property
    def obligations(self) -> list[Obligation]:
        return [item.obligation for item in self.checklist]

    @property
    def deciding(self) -> Reason | None:
        """The reason that sets the risk level (None when minimal)."""
        return next((r for r in self.reasons if r.tier == self.risk_level), None)

    def to_dict(self) -> dict:
        """The documented JSON shape (``python -m kb assess --json``)."""
        return {
            "description": self.description,
            "role": self.role,
            "role_assumed": self.role_assumed,
            "risk_level": self.risk_level,
            "tiers": list(self.tiers),
            "reasons": [r.to_dict() for r in self.reasons],
            "exceptions_considered": [c.to_dict() for c in self.exceptions_considered],
            "questions": [q.to_dict() for q in self.questions],
            "obligations": [obligation_json(o) for o in self.obligations],
            "as_of": self.as_of,
            "timing_ms": round(self.timing_ms, 1),
        }


# --- input --------------------------------------------------------------------------------


def clean_description(description: object) -> str:
    """The description with whitespace collapsed, or BadQuestion naming what is wrong."""
    if not isinstance(description, str):
        raise BadQuestion(f"A description must be text, got {type(description).__name__}.")
    bad = control_character(description)
    if bad:
        raise BadQuestion(f"The description contains a control character ({bad}); remove it "
                          "and try again.")
    text = " ".join(description.split())
    if not text:
        raise BadQuestion("Please describe the AI system, e.g. 'We use a chatbot to answer "
                          "customer questions about our tariffs.'")
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise BadQuestion(f"The description is {len(text)} characters long; the limit is "
                          f"{MAX_DESCRIPTION_CHARS}. Shorten it to what the system does.")
    return text


def check_role(role: str | None) -> str | None:
    if role is None or role == "":
        return None
    if role not in ROLES:
        raise UnknownChoice(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
    return role


def parse_fact_value(key: str, value: object) -> bool:
    """A fact answer as bool: True/False or yes/no text; BadQuestion naming a bad value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES + _NO:
        return value.strip().lower() in _YES
    raise UnknownChoice(f"fact {key!r} must be yes or no, got {value!r}")


def check_facts(facts: Mapping[str, object] | None, catalogue: Catalogue) -> dict[str, bool]:
    if facts is None:
        return {}
    if not isinstance(facts, Mapping):
        raise BadQuestion(f"facts must be a mapping of fact keys to yes/no, got {facts!r}")
    out = {}
    for key, value in facts.items():
        if key not in catalogue.facts:
            valid = ", ".join(sorted(catalogue.facts))
            raise UnknownChoice(f"unknown fact {key!r}; valid: {valid}")
        out[key] = parse_fact_value(key, value)
    return out


# --- the engine ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Fired:
    spec: TriggerSpec
    matched: list[str]
    score: float
    applies_from: str
    basis: str
    partial: bool = False  # fired by the learned combiner on part of its concepts


def assess(
    description: str,
    *,
    text_of: Callable[[str], str | None],
    table: Sequence[ApplicationRule],
    obligations: Sequence[Obligation],
    role: str | None = None,
    facts: Mapping[str, object] | None = None,
    as_of: str,
    catalogue: Catalogue | None = None,
    dense: DenseModel | None = None,
    embed: Embed | None = None,
) -> Assessment:
    """Assess ``description`` as of ``as_of``.

    ``text_of(ref)`` returns the official wording in force on ``as_of`` (None if the corpus
    lacks it: that provision is then cited through its nearest enclosing ref); ``table`` is
    the application table of :mod:`kb.law.dates`; ``obligations`` the dated catalogue.
    With ``dense`` and ``embed`` a learned trigger (Article 5, Annex I/III, Article 50) fires
    when the combiner's probability reaches its threshold and at least one of its concepts
    occurs; without them, on full lexical evidence.
    """
    started = time.perf_counter()
    catalogue = catalogue or default_triggers()
    text = clean_description(description)
    role = check_role(role)
    given = check_facts(facts, catalogue)
    evidence = catalogue.evidence(text)
    read = catalogue.fact_values(evidence)
    values = {**read, **given}
    detected = catalogue.role(evidence)
    role_assumed = role is None
    role = role or detected or DEFAULT_ROLE

    fired: list[_Fired] = []
    considered: dict[str, Considered] = {}
    open_facts: dict[str, list[TriggerSpec]] = {}
    near: list[TriggerSpec] = []
    chance = (dense.probabilities(evidence, dense.embed_description(text, embed))
              if dense is not None and embed is not None else {})
    # A system that only applies rules written by people is not an AI system (Article 3(1)):
    # no provision of the Act's tiers applies to it (the boundary below says so).
    not_ai = "no_ai" in catalogue.spec.concepts and evidence.has("no_ai")
    for spec in catalogue.triggers:
        if not_ai:
            break
        if not _applies(spec, evidence, chance.get(spec.id), dense):
            if spec.anchor and evidence.has(spec.anchor):
                near.append(spec)
            continue
        if any(evidence.has(group) for group in spec.none):
            continue
        ruled_out = [c for c in spec.requires if c.fact in values and values[c.fact] != c.value]
        ruled_out += [c for c in spec.unless if c.fact in values and values[c.fact] == c.value]
        if ruled_out:
            for c in ruled_out:
                if c.ref and c.why:
                    considered.setdefault(c.ref, Considered(c.ref, c.why))
            continue
        unanswered = [c for c in spec.requires + spec.unless if c.fact not in values]
        for c in unanswered:
            open_facts.setdefault(c.fact, []).append(spec)
        if any(c.if_open == "skip" for c in unanswered):
            continue
        if spec.derogable and values.get("narrow_task"):
            if not values.get("profiling"):
                considered.setdefault(_DEROGATION, Considered(_DEROGATION, _derogation_why(spec)))
                continue
            considered.setdefault(_DEROGATION, Considered(
                _DEROGATION, "The system profiles natural persons, so the Article 6(3) "
                "derogation cannot apply: an Annex III system that profiles is always "
                "high-risk (Article 6(3), third subparagraph)."))
        matched = [w for group in spec.all for w in evidence.words(group)]
        scope = spec.scope
        if spec.legacy_fact and values.get(spec.legacy_fact) and spec.legacy_scope:
            scope = spec.legacy_scope
        rule = applies_from(table, spec.ref, scope=scope)
        p = chance.get(spec.id)
        score = p if p is not None else len(spec.all) + 0.1 * len(set(matched))
        partial = not all(evidence.has(group) for group in spec.all)
        fired.append(_Fired(spec, list(dict.fromkeys(matched)), score, rule.applies_from,
                            rule.legal_basis, partial))

    ids = {f.spec.id for f in fired}
    given_refs = {f.spec.ref for f in fired}
    if dense is not None and not not_ai:
        near += _resembling(catalogue, chance, ids, dense.threshold / 2)
    for spec in near:
        if spec.ref not in given_refs and spec.ref not in considered:
            missing = [g for g in spec.all if not evidence.has(g)]
            considered[spec.ref] = Considered(spec.ref, _near_miss_why(spec, missing))
    for boundary in catalogue.spec.boundaries:
        if all(evidence.has(g) for g in boundary.all) and not ids & set(boundary.unless_fired):
            considered.setdefault(boundary.ref, Considered(boundary.ref, boundary.why))

    reasons = _reasons(fired, text_of, as_of)
    tiers = _tiers(reasons)
    risk_level = tiers[0]
    questions = _questions(open_facts, catalogue, {f.spec.id for f in fired})
    checklist = _checklist(fired, reasons, obligations, role, values, as_of)
    return Assessment(
        description=text, role=role, role_assumed=role_assumed, risk_level=risk_level,
        tiers=tiers, reasons=tuple(reasons), exceptions_considered=tuple(considered.values()),
        questions=questions, checklist=checklist, as_of=as_of, facts=values,
        timing_ms=(time.perf_counter() - started) * 1000,
    )


def _applies(spec: TriggerSpec, evidence: Evidence, p: float | None,
             dense: DenseModel | None) -> bool:
    """Whether a trigger's concepts are there: all of them (rules), or, with the learned
    combiner, all but ``max_missing`` of them, none of the missing ones denied, and a
    probability at the threshold (dense similarity alone never fires a provision: every
    reason shows words of the description that match it)."""
    present = [evidence.has(group) for group in spec.all]
    if all(present):
        return True
    # A missing concept the description explicitly denies ("never used to recognise anyone")
    # rules the combiner out: the text says a required element of the provision is absent.
    denied = any(not ok and all(evidence.negated(name) for name in group.split("|")
                                if evidence.hits.get(name))
                 and any(evidence.hits.get(name) for name in group.split("|"))
                 for ok, group in zip(present, spec.all, strict=True))
    return (p is not None and dense is not None and p >= dense.threshold and any(present)
            and present.count(False) <= dense.max_missing and not denied)


def _resembling(catalogue: Catalogue, chance: Mapping[str, float], fired: set[str],
                floor: float, *, top: int = 2) -> list[TriggerSpec]:
    """Triggers that did not fire although the learned combiner finds the description
    halfway or more like their cases: the closest calls, reported as considered."""
    close = sorted((p, spec.id, spec) for spec in catalogue.triggers
                   if spec.id not in fired and (p := chance.get(spec.id, 0.0)) >= floor)
    return [spec for _, _, spec in reversed(close[-top:])]


def _near_miss_why(spec: TriggerSpec, missing: Sequence[str]) -> str:
    if not missing:
        return (f"{spec.ref} was considered, as the description resembles the cases it "
                "covers, but not every condition it sets is met.")
    shown = " or ".join(m.replace("|", " or ").replace("_", " ") for m in missing)
    return (f"{spec.ref} was considered but does not apply: the description does not show "
            f"{shown}.")


def _derogation_why(spec: TriggerSpec) -> str:
    return (f"{spec.ref} was considered, but the description shows a narrow procedural or "
            "preparatory task that does not profile people, so Article 6(3) takes it out of "
            "the high-risk category (document that assessment, Article 6(4)).")


_TIER_RANK = {"prohibited": 0, "high_risk": 1, "limited": 2, "gpai": 3, "literacy": 4, "": 5}


def _reasons(fired: list[_Fired], text_of: Callable[[str], str | None],
             as_of: str) -> list[Reason]:
    out: dict[str, Reason] = {}
    for f in sorted(fired, key=lambda f: (_TIER_RANK[f.spec.tier], -f.score)):
        ref, text = _resolve(f.spec.ref, text_of)
        if text is None:
            log.warning("no text for %s on %s: reason dropped", f.spec.ref, as_of)
            continue
        tier = f.spec.tier
        why = f.spec.why
        if f.partial:
            why = f"{why} {PARTIAL_NOTE}"
        # High-risk classification is reported even before its obligations apply (they are
        # dated in the checklist); a prohibition or duty that applies later is not yet the law.
        if f.applies_from > as_of and tier != "high_risk":
            why = (f"{why} Not yet on {as_of}: this applies from {f.applies_from} "
                   f"({f.basis}).")
            tier = ""
        if ref not in out:
            out[ref] = Reason(ref, text, why, f.score, tuple(f.matched), tier, f.applies_from)
    return sorted(out.values(), key=lambda r: (_TIER_RANK[r.tier], -r.score))


def _resolve(ref: str, text_of: Callable[[str], str | None]) -> tuple[str, str | None]:
    for candidate in parents(ref):
        text = text_of(candidate)
        if text:
            return candidate, text
    return ref, None


def _tiers(reasons: Sequence[Reason]) -> tuple[str, ...]:
    present = {r.tier for r in reasons}
    if "prohibited" in present:
        return ("prohibited",)  # once banned, the other tiers are moot
    tiers = tuple(t for t in ("high_risk", "limited") if t in present)
    return tiers or ("minimal",)


def _questions(open_facts: Mapping[str, list[TriggerSpec]], catalogue: Catalogue,
               fired: set[str]) -> tuple[Question, ...]:
    out = []
    for key, specs in open_facts.items():
        refs = ", ".join(dict.fromkeys(s.ref for s in specs))
        fact = catalogue.facts[key]
        out.append(Question(key, f"{fact.question} (Decides {refs}.)"))
    return tuple(out)


def _checklist(fired: list[_Fired], reasons: Sequence[Reason], obligations: Sequence[Obligation],
               role: str, values: Mapping[str, bool], as_of: str) -> tuple[ChecklistItem, ...]:
    """The catalogue entries of the fired triggers, filtered by role and facts, dated."""
    ids: list[str] = list(_ALWAYS)
    prohibited = any(r.tier == "prohibited" for r in reasons)
    for f in fired:
        if prohibited and f.spec.tier != "prohibited" and not _later(f, reasons):
            continue
        for item in f.spec.obligations:
            ids += GROUPS.get(item[1:], ()) if item.startswith("@") else [item]
    by_id = {o.id: o for o in obligations}
    selected = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    answers = {k: v for k, v in values.items()}
    answers.setdefault("high_risk", any(r.tier == "high_risk" for r in reasons))
    answers.setdefault("interacts_directly", any(f.spec.ref == "Article 50(1)" for f in fired))
    answers.setdefault("generates_content", any(f.spec.ref == "Article 50(2)" for f in fired))
    items, _ = checklist_items(selected, role, answers, as_of)
    return tuple(items)


def _later(f: _Fired, reasons: Sequence[Reason]) -> bool:
    return any(r.ref == f.spec.ref and not r.tier for r in reasons)


# --- presentation helpers (CLI, app, ask) -------------------------------------------------

_LABELS = {"prohibited": "Prohibited", "high_risk": "High-risk",
           "limited": "Transparency duties only (limited risk)", "minimal": "No specific duties "
           "(minimal risk)", "unclear": "Unclear: a deciding fact is open"}


def tier_label(tier: str) -> str:
    """A tier for people: "high_risk" → "High-risk"."""
    return _LABELS.get(tier, tier)


def summary(data: Mapping) -> str:
    """Our one-paragraph verdict from the JSON shape of an assessment (plain language,
    labelled as ours by the callers; never the legal text)."""
    level = data["risk_level"]
    also = [tier_label(t) for t in data["tiers"] if t != level and t != "minimal"]
    parts = [tier_label(level) + (f" (also: {', '.join(also)})" if also else "") + "."]
    reasons = data["reasons"]
    if level in ("prohibited", "high_risk", "limited") and reasons:
        parts.append(f"Deciding provision: {reasons[0]['ref']}. {reasons[0]['why']}")
    parts += [f"{r['ref']}: {r['why'].split('Not yet on ', 1)[1]}" for r in reasons
              if "Not yet on " in r["why"]]
    role = data["role"].replace("_", " ")
    parts.append(f"Role: {role}" + (" (assumed from the description)." if data["role_assumed"]
                                   else "."))
    return " ".join(parts)


def lead_quote(reason: Reason) -> str:
    """The part of a reason's provision quoted to lead an answer: its first line, verbatim."""
    return reason.text.split("\n", 1)[0].strip()


def to_markdown(assessment: Assessment, *, corpus_version: str = "") -> str:
    """The assessment as Markdown for a governance ticket: verdict, reasons with the quoted
    law, exceptions, open questions, dated checklist, corpus version and as-of date."""
    a = assessment
    lines = ["# AI Act assessment", "", f"System described as: {_md(a.description)}", "",
             f"**Our summary** (plain language, not legal advice): {_md(summary(a.to_dict()))}", "",
             f"Law as of {a.as_of}" + (f"; corpus version {corpus_version}" if corpus_version
                                       else "") + ".", "", "## Reasons", ""]
    for r in a.reasons:
        lines += [f"### {r.ref}", "", f"{_md(r.why)}", ""]
        lines += ["> " + line for line in r.text.splitlines()] + [""]
        if r.matched:
            lines += [f"Matched in the description: {_md(', '.join(r.matched))}", ""]
    if not a.reasons:
        lines += ["No provision of Article 5, Article 6 with Annexes I and III, or Article 50 "
                  "matched the description.", ""]
    if a.exceptions_considered:
        lines += ["## Exceptions considered", ""]
        lines += [f"- **{c.ref}**: {_md(c.why)}" for c in a.exceptions_considered] + [""]
    if a.questions:
        lines += ["## Open questions", ""] + [f"- {_md(q.text)}" for q in a.questions] + [""]
    from kb.obligations.scenario import checklist_table

    lines += ["## Obligations", ""] + checklist_table(a.checklist)
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


# --- ask: does a question describe a system and ask what applies? ---------------------------

_DESCRIBES = re.compile(
    r"(?<!\bdo )(?<!\bdid )\b(?:we|i)(?:'re| are| 've| have)? (?:\w+ ){0,2}(?:use|using|"
    r"built|build|building|deploy|deploying|run|running|developed|develop|sell|selling|offer|"
    r"offering|bought|made|make|"
    r"launched|plan|want)\b|\bour (?:\w+ ){0,3}(?:uses|scores|ranks|reads|detects|analyses|"
    r"analyzes|generates|decides|monitors|predicts|recognises|recognizes|infers|chats|answers)\b",
    re.I)
_ASKS = re.compile(
    r"\b(?:is (?:it|this|that|our|such|a|the)\b[^?]*\b(?:allowed|legal|lawful|permitted|"
    r"prohibited|banned|forbidden|high[- ]risk|ok|okay|compliant)|are we allowed|am i allowed|"
    r"what (?:do|must|should|does) (?:we|i|the ai act)|what (?:applies|rules apply|obligations|"
    r"duties)|which (?:rules|obligations|duties)|do we (?:need|have) to do|what are (?:our|my) "
    r"(?:obligations|duties)|how (?:is|would) (?:it|this|that) (?:be )?classified|what risk|"
    r"which risk|what tier|does the ai act (?:apply|allow))", re.I)
MIN_SYSTEM_QUESTION_CHARS = 60


def describes_system(question: str) -> bool:
    """Whether a question describes a system and asks what applies or whether it is allowed
    (two regexes: cheap enough to run on every question).

    >>> describes_system("We use a voice bot to collect overdue bills. What must we do?")
    True
    >>> describes_system("Must our chatbot tell customers it is an AI?")
    False
    """
    return (len(question) >= MIN_SYSTEM_QUESTION_CHARS and bool(_DESCRIBES.search(question))
            and bool(_ASKS.search(question)))
