"""The obligations catalogue, the CX scenario finder and question matching.

In: ``kb/obligations/obligations.yaml`` (plain-language summaries with canonical refs, no
dates) and the application table of :mod:`kb.law.dates`; out: dated :class:`Obligation`
records, scenario :class:`Checklist` exports (Markdown, CSV) and the obligations a question
is about.
Dates are never written here: :func:`dated` takes them from ``kb.law.dates.applies_from``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import yaml

from kb.errors import KbError
from kb.law.dates import SCOPES, ApplicationRule, applies_from
from kb.law.refs import find_refs
from kb.text import words

log = logging.getLogger(__name__)

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

_REQUIRED = ("id", "title", "summary", "roles", "applies_to", "refs", "cx_examples")
_OPTIONAL = ("recitals", "guidelines", "condition", "unless", "keywords")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FACT_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# Canonical local refs of the AI Act (see the common brief): articles, points, annex points.
_REF = re.compile(
    r"^(?:Article \d+[a-z]*(?:\(\d+[a-z]*\))?(?:\([a-z]+\))*"
    r"|Annex [IVXL]+(?:, point \d+(?:\([a-z]+\))?)?)$"
)
_RECITAL = re.compile(r"^(?:Regulation \(EU\) \d{4}/\d+, )?Recital \d+$")
_GUIDELINE = re.compile(r"^Guidelines C\(\d{4}\) \d+, para\. \d+$")
# Dates belong to kb/law/dates.py; a date in the catalogue text would silently go stale.
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b(?:19|20)\d{2}\b|\b\d{1,2} (?:January|February|March|April|May|"
    r"June|July|August|September|October|November|December)\b"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘(])")

# The classification rule whose date every high-risk duty waits for (Article 113(c)).
_CLASSIFICATION = {"high_risk_annex_iii": "Article 6(2)", "high_risk_annex_i": "Article 6(1)"}
_ALWAYS = frozenset({"ai-literacy-measures"})  # kept even when a prohibition applies
_PROHIBITED_NOTE = (
    "A prohibited practice applies: the system must not be offered or used as described. "
    "Other obligations are listed once an exception in the open questions applies."
)
_STATUS_RANK = {"prohibited": 0, "applies": 1, "applies from": 2, "depends on": 3}


class CatalogueError(KbError):
    """The obligations catalogue is malformed; the message names the bad value."""


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


# --- loading and validation -------------------------------------------------------------


def load_catalogue(path: Path | str | None = None) -> list[ObligationSpec]:
    """Read and validate the catalogue YAML (default ``kb/obligations/obligations.yaml``)."""
    path = Path(path) if path is not None else CATALOGUE_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read obligations catalogue {path}: {exc}") from exc
    specs = parse_catalogue(data)
    log.info("loaded %d obligations from %s", len(specs), path)
    return specs


def parse_catalogue(data: object) -> list[ObligationSpec]:
    """Validate parsed YAML (``facts`` mapping, ``obligations`` list) into specs."""
    if not isinstance(data, Mapping) or not isinstance(data.get("obligations"), list):
        raise CatalogueError("catalogue must be a mapping with an 'obligations' list")
    facts = _parse_facts(data.get("facts") or {})
    specs: list[ObligationSpec] = []
    seen: set[str] = set()
    for entry in data["obligations"]:
        spec = _parse_entry(entry, facts)
        if spec.id in seen:
            raise CatalogueError(f"duplicate obligation id {spec.id!r}; ids must be unique")
        seen.add(spec.id)
        specs.append(spec)
    used = {f.key for spec in specs for f in spec.conditions + spec.unless}
    unused = sorted(set(facts) - used)
    if unused:
        raise CatalogueError(f"facts not used by any obligation: {', '.join(unused)}")
    return specs


def _parse_facts(raw: object) -> dict[str, Fact]:
    if not isinstance(raw, Mapping):
        raise CatalogueError("'facts' must map fact keys to questions")
    facts = {}
    for key, question in raw.items():
        if not isinstance(key, str) or not _FACT_KEY.match(key):
            raise CatalogueError(f"bad fact key {key!r}; use lower_case_with_underscores")
        if not isinstance(question, str) or not question.strip().endswith("?"):
            raise CatalogueError(f"fact {key!r} must be a question ending in '?'")
        _check_no_date(f"fact {key!r}", question)
        facts[key] = Fact(key, " ".join(question.split()))
    return facts


def _parse_entry(entry: object, facts: Mapping[str, Fact]) -> ObligationSpec:
    if not isinstance(entry, Mapping):
        raise CatalogueError(f"each obligation must be a mapping, got {entry!r}")
    where = f"obligation {entry.get('id')!r}"
    missing = [key for key in _REQUIRED if not entry.get(key)]
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    oid = _text(entry["id"], where, "id")
    if not _ID.match(oid):
        raise CatalogueError(f"bad obligation id {oid!r}; use lower-case words joined by '-'")
    title = _text(entry["title"], where, "title")
    summary = _text(entry["summary"], where, "summary")
    roles = _strings(entry["roles"], where, "roles")
    for role in roles:
        if role not in ROLES:
            raise CatalogueError(f"{where}: unknown role {role!r}; valid: {', '.join(ROLES)}")
    scope = _text(entry["applies_to"], where, "applies_to")
    if scope not in SCOPES:
        raise CatalogueError(f"{where}: unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
    refs = _matching(entry["refs"], _REF, where, "ref")
    recitals = _matching(entry.get("recitals", []), _RECITAL, where, "recital")
    guidelines = _matching(entry.get("guidelines", []), _GUIDELINE, where, "guideline ref")
    examples = _strings(entry["cx_examples"], where, "cx_examples")
    if not 1 <= len(examples) <= 3:
        raise CatalogueError(f"{where}: needs 1 to 3 cx_examples, got {len(examples)}")
    if sentence_count(summary) > 2:
        raise CatalogueError(f"{where}: summary has more than two sentences: {summary!r}")
    for text in (title, summary, *examples):
        _check_no_date(where, text)
    keywords = tuple(k.lower() for k in _strings(entry.get("keywords", []), where, "keywords"))
    return ObligationSpec(
        id=oid,
        title=title,
        summary=summary,
        roles=roles,
        applies_to=scope,
        refs=refs,
        recitals=recitals,
        guidelines=guidelines,
        cx_examples=examples,
        conditions=_facts(entry.get("condition"), facts, where),
        unless=_facts(entry.get("unless"), facts, where),
        keywords=keywords,
    )


def _text(value: object, where: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: {name} must be non-empty text, got {value!r}")
    return " ".join(value.split())


def _strings(value: object, where: str, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise CatalogueError(f"{where}: {name} must be a list, got {value!r}")
    return tuple(_text(item, where, name) for item in value)


def _matching(value: object, pattern: re.Pattern, where: str, name: str) -> tuple[str, ...]:
    items = _strings(value, where, name)
    for item in items:
        if not pattern.match(item):
            raise CatalogueError(f"{where}: {name} {item!r} is not a canonical ref")
    return items


def _facts(value: object, facts: Mapping[str, Fact], where: str) -> tuple[Fact, ...]:
    keys = _strings(value, where, "condition") if value else ()
    for key in keys:
        if key not in facts:
            raise CatalogueError(f"{where}: unknown fact {key!r}; define it under 'facts'")
    return tuple(facts[key] for key in keys)


def _check_no_date(where: str, text: str) -> None:
    found = _DATE.search(text)
    if found:
        raise CatalogueError(
            f"{where}: date {found.group()!r} in text; dates come from kb.law.dates")


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


def _phrase_tokens(phrase: str) -> list[tuple[str, bool]]:
    """Tokens of a keyword phrase; a trailing ``*`` on a word makes it a prefix."""
    tokens = []
    for part in phrase.split():
        prefix = part.endswith("*")
        sub = words(part.rstrip("*"))
        tokens += [(tok, prefix and i == len(sub) - 1) for i, tok in enumerate(sub)]
    return tokens


PHRASE_GAP = 2  # words a question may put between two words of a keyword phrase


def _phrase_hit(phrase: list[tuple[str, bool]], tokens: list[str]) -> bool:
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


# --- scenario finder --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class System:
    """A CX system of the scenario finder and what decides its obligations."""

    key: str
    label: str
    scopes: tuple[str, ...]  # scopes of kb.law.dates it may fall under
    annex_iii: tuple[str, ...]  # Annex III points it may fall under
    obligations: tuple[str, ...]  # catalogue ids to check, filtered by role and facts
    given: tuple[tuple[str, bool], ...] = ()  # facts true or false by definition
    deciding: tuple[str, ...] = ()  # facts that decide the classification: asked first
    notes: tuple[str, ...] = ()


_LITERACY = ("ai-literacy-measures",)
_MANIPULATION = ("prohibited-harmful-manipulation", "prohibited-exploiting-vulnerabilities")
_INTERACTIVE = ("transparency-chatbot-disclosure", "transparency-clear-and-timely")
_GENERATIVE = ("transparency-synthetic-content-marking", "transparency-legacy-generative-marking")
_GPAI = (
    "gpai-technical-documentation",
    "gpai-downstream-information",
    "gpai-copyright-policy",
    "gpai-training-data-summary",
    "gpai-modification-makes-provider",
    "gpai-systemic-evaluation",
    "gpai-systemic-risk-mitigation",
    "gpai-systemic-incident-reporting",
    "gpai-systemic-cybersecurity",
)
_HIGH_RISK = (
    "high-risk-derogation-assessment",
    "high-risk-derogation-documentation",
    "high-risk-risk-management",
    "high-risk-data-governance",
    "high-risk-technical-documentation",
    "high-risk-logging",
    "high-risk-instructions-for-use",
    "high-risk-human-oversight-design",
    "high-risk-accuracy-robustness-security",
    "provider-ensure-compliance",
    "provider-identification",
    "provider-quality-management",
    "provider-documentation-and-logs-retention",
    "provider-conformity-assessment",
    "provider-corrective-action",
    "provider-accessibility",
    "provider-registration",
    "provider-appoint-authorised-representative",
    "authorised-representative-tasks",
    "importer-checks",
    "importer-records-and-cooperation",
    "distributor-checks",
    "distributor-corrective-action",
    "value-chain-becoming-provider",
    "value-chain-initial-provider-cooperation",
    "value-chain-supplier-agreements",
    "deployer-use-as-instructed",
    "deployer-human-oversight",
    "deployer-input-data",
    "deployer-monitor-and-report",
    "deployer-keep-logs",
    "deployer-inform-workers",
    "deployer-public-authority-registration",
    "deployer-dpia-input",
    "deployer-inform-affected-persons",
    "deployer-cooperate-with-authorities",
    "fundamental-rights-impact-assessment",
    "fundamental-rights-impact-notification",
    "post-market-monitoring",
    "serious-incident-reporting",
    "right-to-explanation",
)
_PROFILING_NOTE = (
    "It evaluates individuals' economic situation, which is profiling, so the Article 6(3) "
    "exception for low-impact Annex III uses cannot apply (Article 6(3), third subparagraph)."
)

SYSTEMS: dict[str, System] = {
    s.key: s
    for s in (
        System(
            key="customer_service_chatbot",
            label="Customer-service chatbot",
            scopes=("all_ai_systems", "transparency", "prohibited_practice", "gpai_model"),
            annex_iii=(),
            obligations=_LITERACY
            + _INTERACTIVE
            + _GENERATIVE
            + _MANIPULATION
            + ("value-chain-becoming-provider",)
            + _GPAI,
            given=(("interacts_directly", True),),
            deciding=("generates_content",),
            notes=(
                "Article 50(1) binds the provider, whoever builds the bot (your vendor, or you if "
                "you build it in-house); as deployer, check the AI disclosure is switched on.",
                "A chatbot that decides on credit, insurance or benefits is high-risk: choose "
                "that system instead (Article 25(1)(c) can make you its provider).",
            ),
        ),
        System(
            key="voice_bot",
            label="Voice bot",
            scopes=("all_ai_systems", "transparency", "prohibited_practice", "gpai_model"),
            annex_iii=(),
            obligations=_LITERACY
            + _INTERACTIVE
            + _GENERATIVE
            + ("transparency-deep-fake-disclosure",)
            + _MANIPULATION
            + ("value-chain-becoming-provider",)
            + _GPAI,
            given=(("interacts_directly", True), ("generates_content", True)),
            deciding=("on_market_before_art50", "deep_fake"),
            notes=(
                "Tell callers at the start of the call that they are speaking to an AI "
                "(Guidelines C(2026) 5054, para. 37).",
                "A synthetic voice that imitates a real person can be a deep fake (Article 50(4)).",
            ),
        ),
        System(
            key="agent_assist",
            label="Agent-assist tool",
            scopes=("all_ai_systems", "transparency", "prohibited_practice", "high_risk_annex_iii"),
            annex_iii=("Annex III, point 1(c)", "Annex III, point 4"),
            obligations=_LITERACY
            + _GENERATIVE
            + (
                "prohibited-emotion-recognition-work-education",
                "annex-iii-employment",
                "annex-iii-emotion-recognition",
                "transparency-emotion-recognition-notice",
            )
            + _HIGH_RISK,
            given=(("interacts_directly", False),),
            deciding=("workplace_or_education", "evaluates_staff", "infers_emotions"),
            notes=(
                "Article 50(1) does not apply: customers talk to your agent, not to the AI "
                "(Guidelines C(2026) 5054, para. 30).",
                "If the tool scores agents or reads their emotions, the employment and "
                "workplace rules below decide.",
            ),
        ),
        System(
            key="customer_emotion_analytics",
            label="Sentiment or emotion analytics on customers",
            scopes=("all_ai_systems", "transparency", "prohibited_practice", "high_risk_annex_iii"),
            annex_iii=("Annex III, point 1(c)",),
            obligations=_LITERACY
            + _MANIPULATION
            + ("annex-iii-emotion-recognition", "transparency-emotion-recognition-notice")
            + _HIGH_RISK,
            given=(("infers_emotions", True), ("workplace_or_education", False)),
            deciding=("text_only",),
            notes=(
                "The Article 5(1)(f) prohibition covers only workplaces and education: reading "
                "customers' emotions is not prohibited by it (Guidelines C(2025) 5052, para. 266).",
                "Emotion recognition from voice, face or typing patterns is high-risk "
                "(Annex III, point 1(c)) and needs the Article 50(3) notice; sentiment scored "
                "only from the words is not emotion recognition (para. 251).",
            ),
        ),
        System(
            key="staff_emotion_analytics",
            label="Emotion analytics on staff",
            scopes=("prohibited_practice", "high_risk_annex_iii"),
            annex_iii=("Annex III, point 1(c)", "Annex III, point 4"),
            obligations=_LITERACY
            + (
                "prohibited-emotion-recognition-work-education",
                "annex-iii-emotion-recognition",
                "transparency-emotion-recognition-notice",
            )
            + _HIGH_RISK,
            given=(
                ("infers_emotions", True),
                ("workplace_or_education", True),
                ("workers_affected", True),
            ),
            deciding=("medical_or_safety", "text_only"),
            notes=(
                "Inferring the emotions of agents or other staff is prohibited by Article 5(1)(f) "
                "unless it is strictly for medical or safety reasons (Guidelines C(2025) 5052, "
                "paras. 254 and 257).",
            ),
        ),
        System(
            key="credit_scoring",
            label="Credit-scoring step",
            scopes=("all_ai_systems", "prohibited_practice", "high_risk_annex_iii"),
            annex_iii=("Annex III, point 5(b)",),
            obligations=_LITERACY
            + (
                "annex-iii-credit-scoring",
                "prohibited-social-scoring",
                "prohibited-exploiting-vulnerabilities",
            )
            + _HIGH_RISK,
            given=(("high_risk", True), ("fria_required", True), ("decisions_about_people", True)),
            deciding=("fraud_detection_only",),
            notes=(
                "Credit scoring of individuals is high-risk (Annex III, point 5(b)). "
                + _PROFILING_NOTE,
                "Every deployer of a credit-scoring system must carry out a fundamental rights "
                "impact assessment, not only public bodies (Article 27(1)).",
            ),
        ),
        System(
            key="insurance_pricing",
            label="Life or health insurance pricing",
            scopes=("all_ai_systems", "prohibited_practice", "high_risk_annex_iii"),
            annex_iii=("Annex III, point 5(c)",),
            obligations=_LITERACY
            + (
                "annex-iii-life-health-insurance",
                "prohibited-social-scoring",
                "prohibited-exploiting-vulnerabilities",
            )
            + _HIGH_RISK,
            given=(("high_risk", True), ("fria_required", True), ("decisions_about_people", True)),
            notes=(
                "Risk assessment and pricing for life and health insurance is high-risk "
                "(Annex III, point 5(c)); other lines such as car or home insurance are not "
                "covered by that point. " + _PROFILING_NOTE,
                "Every deployer must carry out a fundamental rights impact assessment "
                "(Article 27(1)).",
            ),
        ),
        System(
            key="marketing_content",
            label="AI-generated marketing content",
            scopes=("all_ai_systems", "transparency", "prohibited_practice", "gpai_model"),
            annex_iii=(),
            obligations=_LITERACY
            + _GENERATIVE
            + (
                "transparency-deep-fake-disclosure",
                "transparency-public-interest-text",
                "transparency-clear-and-timely",
                "prohibited-intimate-deepfakes",
                "prohibited-csam-generation",
            )
            + _MANIPULATION
            + _GPAI,
            given=(("generates_content", True),),
            deciding=("deep_fake",),
            notes=(
                "Machine-readable marking (Article 50(2)) is the tool provider's duty; the "
                "visible deep-fake label (Article 50(4)) is yours as deployer.",
                "Marketing copy is normally not text published to inform the public on matters "
                "of public interest, so Article 50(4), second subparagraph, rarely applies.",
            ),
        ),
        System(
            key="biometrics",
            label="Biometric identification or categorisation",
            scopes=("prohibited_practice", "high_risk_annex_iii", "transparency"),
            annex_iii=("Annex III, point 1(a)", "Annex III, point 1(b)"),
            obligations=_LITERACY
            + (
                "prohibited-sensitive-biometric-categorisation",
                "prohibited-facial-scraping",
                "prohibited-realtime-rbi-law-enforcement",
                "annex-iii-remote-biometric-identification",
                "annex-iii-biometric-categorisation",
                "transparency-biometric-categorisation-notice",
            )
            + _HIGH_RISK,
            deciding=(
                "remote_identification",
                "biometric_categorisation",
                "sensitive_categorisation",
            ),
            notes=(
                "Biometric verification that only confirms a customer is who they claim to be "
                "(voice or face login) is not remote biometric identification "
                "(Annex III, point 1(a)).",
            ),
        ),
        System(
            key="emergency_triage",
            label="Emergency-call triage",
            scopes=(
                "all_ai_systems",
                "transparency",
                "high_risk_annex_iii",
                "public_authority_legacy",
            ),
            annex_iii=("Annex III, point 5(d)",),
            obligations=_LITERACY
            + ("annex-iii-emergency-triage", "public-authority-legacy-systems")
            + _INTERACTIVE
            + _HIGH_RISK,
            deciding=("interacts_directly", "high_risk", "fria_required"),
            notes=(
                "Emergency services run by public bodies must also carry out a fundamental "
                "rights impact assessment (Article 27(1)).",
                "Voice monitors that analyse emergency calls are not prohibited emotion "
                "recognition (Guidelines C(2025) 5052, para. 269).",
            ),
        ),
        System(
            key="other",
            label="Other (describe it)",
            scopes=SCOPES,
            annex_iii=(),
            obligations=_LITERACY + _INTERACTIVE + _GENERATIVE + _MANIPULATION,
            deciding=("interacts_directly", "generates_content"),
            notes=("Obligations matching your description are added; check them with a lawyer.",),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One obligation of a scenario with its status on the checklist date."""

    obligation: Obligation
    status: str  # "applies", "applies from <date>", "depends on: <question>", "prohibited"
    date: str  # ISO date the obligation applies from


@dataclass(frozen=True, slots=True)
class Checklist:
    """What a role must do for a system, as of a date, and what is still to be asked."""

    role: str
    system: str  # the system label
    as_of: str
    items: tuple[ChecklistItem, ...]
    open_questions: tuple[str, ...]
    notes: tuple[str, ...] = ()
    free_text: str = ""

    def to_markdown(self) -> str:
        """A Markdown checklist: a table of items, then open questions and notes."""
        title = f"# AI Act checklist: {_md(self.system)}, {_md(self.role.replace('_', ' '))}"
        lines = [title, ""]
        if self.free_text:
            lines += [f"System described as: {_md(self.free_text)}", ""]
        lines += [
            f"Status as of {self.as_of}. Plain-language summaries, not legal advice: the cited "
            "provisions are authoritative.",
            "",
            "| Status | Obligation | Legal basis | Applies from |",
            "|---|---|---|---|",
        ]
        for item in self.items:
            o = item.obligation
            cell = f"**{_md(o.title)}**: {_md(o.summary)}"
            lines.append(
                f"| {_md(item.status)} | {cell} | {_md(', '.join(o.refs))} | {item.date} |"
            )
        if not self.items:
            lines.append("| none | No obligation in the catalogue matches. | | |")
        if self.open_questions:
            lines += ["", "## Open questions", ""] + [f"- {_md(q)}" for q in self.open_questions]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {_md(n)}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV with one row per item: status, id, title, summary, refs, applies_from, roles."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["status", "id", "title", "summary", "refs", "applies_from", "roles"])
        for item in self.items:
            o = item.obligation
            row = [item.status, o.id, o.title, o.summary, "; ".join(o.refs), item.date]
            writer.writerow(row + [" ".join(o.roles)])
        return buffer.getvalue()

    def to_dict(self) -> dict:
        """JSON-ready form: items carry the obligation JSON shape plus status."""
        return {
            "role": self.role,
            "system": self.system,
            "as_of": self.as_of,
            "items": [{**obligation_json(i.obligation), "status": i.status} for i in self.items],
            "open_questions": list(self.open_questions),
            "notes": list(self.notes),
        }


def _md(text: str) -> str:
    """Escape text for a Markdown table cell or list item."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


@lru_cache(maxsize=1)
def _default_specs() -> tuple[ObligationSpec, ...]:
    return tuple(load_catalogue())


def scenario(
    role: str,
    system: str,
    *,
    table: Sequence[ApplicationRule] | None,
    facts: Mapping[str, bool] | None = None,
    free_text: str = "",
    as_of: str | None = None,
    catalogue: Sequence[ObligationSpec] | None = None,
    chapter_of: Callable[[str], str] | None = None,
) -> Checklist:
    """The checklist of a role for a CX system (a key of :data:`SYSTEMS`) as of a date.

    ``facts`` answer the catalogue's fact questions by key and override the system's own
    (e.g. ``{"high_risk": False}``).  An unanswered condition gives "depends on: <question>";
    an unanswered exception is assumed not to apply and is listed as an open question.
    ``catalogue`` defaults to ``kb/obligations/obligations.yaml``, dated with ``table``; a
    catalogue of :class:`Obligation` records is used as dated.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; valid: {', '.join(ROLES)}")
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; valid: {', '.join(SYSTEMS)}")
    as_of = as_of or date.today().isoformat()
    _check_iso(as_of)
    spec = SYSTEMS[system]
    obligations = {o.id: o for o in _dated_catalogue(catalogue, table, chapter_of)}
    known = {f.key: f for o in obligations.values() for f in o.conditions + o.unless}
    for key in facts or {}:
        if key not in known:
            raise ValueError(f"unknown fact {key!r}; valid: {', '.join(sorted(known))}")
    ids = list(spec.obligations)
    if system == "other" and free_text.strip():
        ids += [o.id for o in match_obligations(free_text, list(obligations.values()), limit=10)]
    selected = [obligations[i] for i in dict.fromkeys(ids)]
    answers = _answers(spec, selected, facts or {})
    items, asked = _items(selected, role, answers, as_of)
    notes = list(spec.notes)
    if any(item.status == "prohibited" for item in items):
        # Other duties are moot while the practice is banned; its exception questions stay.
        items = [i for i in items if i.obligation.is_prohibition or i.obligation.id in _ALWAYS]
        notes.insert(0, _PROHIBITED_NOTE)
    deciding = [known[k].question for k in spec.deciding if k in known and k not in answers]
    questions = [q for item in items for q in asked[item.obligation.id]]
    return Checklist(
        role=role,
        system=spec.label,
        as_of=as_of,
        items=tuple(items),
        open_questions=tuple(dict.fromkeys(deciding + questions)),
        notes=tuple(notes),
        free_text=free_text.strip(),
    )


def _dated_catalogue(
    catalogue: Sequence[ObligationSpec] | None,
    table: Sequence[ApplicationRule] | None,
    chapter_of: Callable[[str], str] | None,
) -> list[Obligation]:
    """The catalogue with dates; an already dated catalogue is used as given."""
    specs = list(catalogue) if catalogue is not None else list(_default_specs())
    if all(isinstance(o, Obligation) for o in specs):
        return specs
    if table is None:
        raise ValueError("table is required to date the catalogue (kb.law.dates.application_table)")
    return dated(specs, table, chapter_of=chapter_of)


def _check_iso(value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"as_of must be an ISO date like 2026-11-27, got {value!r}") from None


def _excluded(o: ObligationSpec, answers: Mapping[str, bool]) -> bool:
    """True when a condition is answered no or an exception is answered yes."""
    return any(answers.get(f.key) is False for f in o.conditions) or any(
        answers.get(f.key) is True for f in o.unless
    )


def _answers(spec: System, selected: Sequence[Obligation], facts: Mapping[str, bool]) -> dict:
    """The system's given facts, derived facts, then the user's answers (which win)."""
    answers = dict(spec.given)
    annex = [o for o in selected if o.id.startswith("annex-iii-")]
    # A system whose every Annex III point is ruled out cannot be high-risk under Article 6(2).
    if annex and all(_excluded(o, {**answers, **facts}) for o in annex):
        answers["high_risk"] = False
    answers.update(facts)
    return answers


def _items(
    selected: Sequence[Obligation], role: str, answers: Mapping[str, bool], as_of: str
) -> tuple[list[ChecklistItem], dict[str, list[str]]]:
    """The role's items, best first, and the unanswered questions of each (by id)."""
    items, asked = [], {}
    for o in selected:
        if role not in o.roles or _excluded(o, answers):
            continue
        unknown = [f.question for f in o.conditions if f.key not in answers]
        asked[o.id] = unknown + [f.question for f in o.unless if f.key not in answers]
        items.append(ChecklistItem(o, _status(o, unknown, as_of), o.applies_from))
    order = {o.id: n for n, o in enumerate(selected)}
    items.sort(key=lambda i: (_rank(i.status), i.date, order[i.obligation.id]))
    return items, asked


def _status(o: Obligation, unknown: Sequence[str], as_of: str) -> str:
    if unknown:
        return f"depends on: {unknown[0]}"
    if o.applies_from > as_of:
        return f"applies from {o.applies_from}"
    return "prohibited" if o.is_prohibition else "applies"


def _rank(status: str) -> int:
    return next(rank for prefix, rank in _STATUS_RANK.items() if status.startswith(prefix))
