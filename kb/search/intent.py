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
_DEFINITION = re.compile(
    r"^(?:what\s+(?:is|are)\s+(?:an?\s+|the\s+)?[\w\s'‘’\"-]{2,60}\??$|define\b|"
    r"what\s+does\s+[\w\s'‘’\"-]{2,60}\s+mean\b)"
    r"|\b(?:definition of|meaning of|what is meant by|what counts as|who counts as|"
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
_GDPR = re.compile(r"\bgdpr\b|2016/679|data protection regulation|personal data",
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
        definition=bool(_DEFINITION.search(question.strip())),
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
