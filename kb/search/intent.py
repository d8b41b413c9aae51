"""What kind of question this is: a definition, a date, a fine, a role, a prohibition…

In: the question text; out: an :class:`Intent` of yes/no flags that retrieval uses to route
(a fines question leads with Article 99, a date question with Article 113) and that the
ranker reads as features.  Pure regular expressions over the question: cheap and
deterministic.  What the question is *about* is left to the ranked lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WHEN = re.compile(
    r"\b(?:since when|from when|by when|until when|from (?:what|which) date|what date|"
    r"deadlines?|timeline|transition(?:al)? period|grace period|appl(?:y|ies) from|"
    r"start(?:s|ing)? to apply|enters? into force|come into (?:force|effect)|take effect|"
    r"how long do we have(?!\s+to\s+(?:keep|retain|store|hold|archive))|kicks? in|"
    r"already (?:appl(?:y|ies)|in force|banned|prohibited)|"
    r"appl(?:y|ies) (?:today|yet|now)|(?:not )?yet (?:in force|applicable)|"
    r"(?:appl(?:y|ies)|applicable) (?:on|since|as of)|"
    r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4})\b"
    r"|\bwhen\b[^?.]*\b(?:apply|applies|applicable|start|begin|kick in|enforced|enforceable|"
    r"in force|effective)\b",
    re.IGNORECASE,
)
_PENALTY = re.compile(
    r"(?<!is it )(?<!is that )(?<!that's )(?<!be )"
    r"\b(?:fines?(?![-\s]?tun)|fined|penalt(?:y|ies)|sanctions?|how much (?:can|could|would) we|"
    r"money-?wise|financial (?:risk|consequences?|exposure)|what (?:could|can|would|will) "
    r"happen (?:to us |to me |to the company )?if|consequences? (?:of|for|if)|"
    r"administrative fines?|turnover|eur\s?\d|€|punish\w*|enforcement action)\b",
    re.IGNORECASE,
)
# "... under the AI Act", "... according to the EU AI Act", "... for the purposes of this
# Regulation": where a definition question names the act.
_IN_THE_ACT = (r"(?:\s+(?:under|in|according\s+to|within\s+the\s+meaning\s+of|for\s+the\s+"
               r"purposes\s+of)\s+(?:the\s+|this\s+)?(?:eu\s+)?(?:ai\s+act|artificial\s+"
               r"intelligence\s+act|regulation))?")
_DEFINITION_QUESTION = re.compile(
    r"^(?:(?:what|who)\s+(?:exactly\s+|precisely\s+)?(?:is|are)\s+(?:an?\s+|the\s+)?|"
    r"define\s+(?:an?\s+|the\s+)?|"
    r"(?:what|who)\s+(?:counts|qualifies)\s+as\s+(?:an?\s+|the\s+)?|"
    r"what\s+is\s+meant\s+by\s+(?:an?\s+|the\s+)?|"
    r"what\s+(?:exactly\s+|precisely\s+)?does\s+(?:the\s+)?(?:term\s+)?|definition\s+of\s+(?:an?\s+|the\s+)?|"
    r"meaning\s+of\s+(?:an?\s+|the\s+)?)"
    r"[‘'\"“]?([a-z][a-z -]{1,60}?)[’'\"”]?(?:\s+mean)?"
    + _IN_THE_ACT + r"\s*\??$",
    re.IGNORECASE,
)
_HOW_DEFINED = re.compile(
    r"^how\s+(?:is|are)\s+(?:an?\s+|the\s+)?[‘'\"“]?([a-z][a-z -]{1,60}?)[’'\"”]?\s+defined"
    + _IN_THE_ACT + r"\s*\??$",
    re.IGNORECASE,
)


_DEFINES = re.compile(
    r"\b(?:define|defines|definition of|meaning of|what is meant by|what counts as|"
    r"who counts as)\s+(?:an?\s+|the\s+)?[‘'\"“]([^’'\"”]{2,60})[’'\"”]",
    re.IGNORECASE,
)


def defined_term_asked(question: str) -> str:
    """The term a "what is X?" / "define X" question asks about ("" otherwise).

    >>> defined_term_asked("What is a deployer?"), defined_term_asked("Define 'AI system'")
    ('deployer', 'AI system')
    >>> defined_term_asked("How does Regulation (EU) 2024/1689 define a 'distributor'?")
    'distributor'
    >>> defined_term_asked("What counts as a general-purpose AI model?")
    'general-purpose AI model'
    >>> defined_term_asked("How is an importer defined in the AI Act?")
    'importer'
    >>> defined_term_asked("What is an AI system according to the EU AI Act?")
    'AI system'
    """
    match = (_DEFINITION_QUESTION.match(question.strip()) or _HOW_DEFINED.match(question.strip())
             or _DEFINES.search(question))
    return match.group(1).strip() if match else ""


# Cues of a definition question that does not start like one ("the meaning of 'provider'").
_DEFINITION_CUE = re.compile(
    r"\b(?:definition of|meaning of|what is meant by|what counts as|who counts as|"
    r"is defined as|defined term)\b",
    re.IGNORECASE,
)
_WHO = re.compile(
    r"\b(?:who (?:is|are|must|has|have|should|bears?)|whose (?:duty|obligation|job)|"
    r"which (?:role|party|operator)|responsib\w*|liab\w*|provider or (?:the )?deployer|"
    r"deployer or (?:the )?provider)\b",
    re.IGNORECASE,
)
_ALLOWED = re.compile(
    r"\b(?:allowed|permitted|prohibited|banned|ban|illegal|lawful|unlawful|forbidden|"
    r"can (?:we|i|a company|companies|our)|may (?:we|i)|is it (?:ok|okay|legal)|"
    r"off[- ]limits)\b",
    re.IGNORECASE,
)
_TRANSPARENCY = re.compile(
    r"\b(?:tell|inform\w*|disclos\w*|label\w*|watermark\w*|mark(?:ed|ing)?|notif\w*|"
    r"transparen\w*|aware)\b",
    re.IGNORECASE,
)
# The GDPR by name, or by concepts only it regulates (a data subject's rights, a DPIA, ...).
_GDPR = re.compile(
    r"\bgdpr\b|2016/679|data protection|personal data|\bdpia\b|data subjects?|"
    r"privacy (?:notice|policy|statement)|(?:subject )?access requests?|"
    r"right (?:to|of) (?:access|object|erasure|rectification|be forgotten|data portability)|"
    r"\bobject to\b|special categor(?:y|ies)|health data|lawful basis|legal basis for|"
    r"legitimate interests?|direct marketing|solely (?:automated|by (?:an? )?(?:algorithm|"
    r"machine|computer))|data (?:controller|processor)s?|\berasure\b|portability",
    re.IGNORECASE)
_GUIDANCE = re.compile(r"\bguidelines?\b|\bguidance\b|\bcommission(?:'s)? (?:says|view)\b",
                       re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Intent:
    """Yes/no flags read off a question."""

    when: bool = False  # asks for a date or deadline
    penalty: bool = False  # asks about fines or sanctions
    definition: bool = False  # asks what a term means
    who: bool = False  # asks which role carries a duty
    allowed: bool = False  # asks whether something is allowed or banned
    transparency: bool = False  # asks about telling, labelling, disclosing
    gdpr: bool = False  # names the GDPR or personal data
    guidance: bool = False  # names the Commission guidelines

    def flags(self) -> list[float]:
        """The flags as numbers, in field order (ranker features)."""
        return [float(getattr(self, name)) for name in self.__slots__]


def intent(question: str) -> Intent:
    """The flags of ``question``.

    >>> intent("What fines can we get if our chatbot does not disclose it is AI?").penalty
    True
    >>> i = intent("When do the high-risk rules apply?"); (i.when, i.penalty)
    (True, False)
    >>> intent("What is a deployer?").definition
    True
    """
    return Intent(
        when=bool(_WHEN.search(question)),
        penalty=bool(_PENALTY.search(question)),
        definition=bool(defined_term_asked(question) or _DEFINITION_CUE.search(question)),
        who=bool(_WHO.search(question)),
        allowed=bool(_ALLOWED.search(question)),
        transparency=bool(_TRANSPARENCY.search(question)),
        gdpr=bool(_GDPR.search(question)),
        guidance=bool(_GUIDANCE.search(question)),
    )


def asks_when(question: str) -> bool:
    """Whether a question asks about dates.

    >>> asks_when("When do the high-risk rules apply?"), asks_when("Is emotion recognition banned?")
    (True, False)
    >>> asks_when("When is a solely automated decision allowed under the GDPR?")
    False
    >>> asks_when("How long do we have to keep the logs?"), asks_when("How long do we have left?")
    (False, True)
    """
    return bool(_WHEN.search(question))


# What a date question asks when it is not about a time limit: when the law applies.
_APPLICATION = re.compile(
    r"\b(?:appl(?:y|ies|ied|icable|ication)|in force|enforce\w*|compl(?:y|iance|iant)|"
    r"start\w*|begin\w*|kicks? in|effect\w*|banned|prohibited|grace|transition\w*|"
    r"grandfather\w*|\d{4})\b",
    re.IGNORECASE,
)
_ON_THE_MARKET = re.compile(
    r"\b(?:already (?:on the market|in (?:use|service)|placed|deployed|live|running)|"
    r"(?:placed|put) on the market (?:before|prior)|(?:on the market|in service|live|"
    r"in use|deployed|running|launched|released) (?:since|before|in) (?:\w+ )?(?:19|20)\d\d|"
    r"went live|existing (?:ai )?(?:systems?|models?|tools?)|legacy)\b",
    re.IGNORECASE,
)


def asks_time_limit(question: str) -> bool:
    """Whether a date question asks for a time limit the provision itself sets ("the
    deadline to report a serious incident"), not when the law applies.

    >>> asks_time_limit("What is the deadline for reporting a serious incident?")
    True
    >>> asks_time_limit("When do the high-risk rules apply?")
    False
    """
    return asks_when(question) and not _APPLICATION.search(question)


def already_on_the_market(question: str) -> bool:
    """Whether a question is about a system or model already on the market, which
    Article 111 dates apart.

    >>> already_on_the_market("Our generator has been on the market since March 2026.")
    True
    >>> already_on_the_market("When must a new chatbot tell users it is AI?")
    False
    """
    return bool(_ON_THE_MARKET.search(question))

