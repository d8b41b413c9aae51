"""Is a question about the law in this knowledge base at all?

Similarity alone cannot tell "Which LLM has the lowest latency for voice bots?" (AI words,
no legal question) from "Must our voice bot say it is an AI?".  Two documented signals
help the answerer abstain: the question asks about another jurisdiction's law, or it asks
for advice, products, prices or how-tos without any legal cue (must, allowed, obliged,
comply, fine, deadline, Article …).  Both only lower the bar; evidence decides.
"""

from __future__ import annotations

import re

# Words that make a question a question about rules, rights, duties or the texts.
_LEGAL_CUES = re.compile(
    r"\b(?:must|mandatory|have to|has to|need to|needs to|required?|requirements?|allowed|"
    r"permitted|may (?:we|i|a|an|the|our)|can (?:we|i|a|an|the|our|they|it)|prohibit\w*|ban\w*|"
    r"illegal|unlawful|lawful|legal\w*|law|laws|comply|complian\w*|oblig\w*|duty|duties|"
    r"rules?|regulat\w*|act|article|art\.|recital|annex|gdpr|guidelines?|fines?|penalt\w*|"
    r"sanction\w*|deadlines?|when|appl(?:y|ies|ied|icable)|in force|defin\w*|means?|meaning|"
    r"what (?:is|are|counts)|who (?:is|are|must)|responsib\w*|liab\w*|risk\w*|transparen\w*|"
    r"disclos\w*|inform\w*|tell|label\w*|rights?|oversight|registration|register|document\w*|"
    r"assess\w*|provider|deployer|importer|distributor|exempt\w*|exception|consent|"
    r"ai act|eu|european|commission|authority|authorities|supervis\w*|audit\w*|report\w*)\b",
    re.IGNORECASE,
)
# Advice, shopping and how-to questions the texts cannot answer.
_ADVICE = re.compile(
    r"\b(?:best|cheapest|fastest|most accurate|lowest latency|recommend\w*|which (?:vendor|tool|"
    r"api|model|product|platform|llm)|how much does|cost of|price of|salary|salaries|benchmark|"
    r"write me|scrape|set up|configure|improve|raise|increase|cut|reduce|weather|exchange rate|"
    r"who won|capital of|should (?:i|we) use)\b",
    re.IGNORECASE,
)
# Jurisdictions and laws outside the corpus (EU AI Act, its amendment, GDPR, guidelines).
_FOREIGN = re.compile(
    r"\b(?:california|colorado|texas|new york|united states|u\.s\.|us federal|federal income|"
    r"colorado ai act|ccpa|cpra|hipaa|uk gdpr|united kingdom|china|chinese|canada|canadian|"
    r"australia\w*|"
    r"japan\w*|india\w*|brazil\w*|iso/iec|iso \d+|nist|german labour|employment contract|"
    r"notice period|annual leave|income tax|vat rate)\b",
    re.IGNORECASE,
)


def legal_cue(question: str) -> bool:
    """Whether the question asks about rules, duties, rights or the texts.

    >>> legal_cue("Must our voice bot say it is an AI?"), legal_cue("Which LLM is fastest?")
    (True, False)
    """
    return bool(_LEGAL_CUES.search(question))


def off_topic_reason(question: str) -> str:
    """Why a question is probably outside the knowledge base ("" when it may be inside).

    >>> off_topic_reason("What does the California Consumer Privacy Act require for chatbots?")
    'asks about a law or jurisdiction outside the EU texts indexed here'
    >>> off_topic_reason("Which sentiment-analysis API is most accurate for German emails?")
    'asks for advice, products or how-tos rather than what the law says'
    >>> off_topic_reason("Do I have to tell customers they're talking to a bot?")
    ''
    """
    if _FOREIGN.search(question) and not re.search(r"\b(?:eu|european|gdpr|union)\b",
                                                   question, re.IGNORECASE):
        return "asks about a law or jurisdiction outside the EU texts indexed here"
    if _ADVICE.search(question) and not _strong_cue(question):
        return "asks for advice, products or how-tos rather than what the law says"
    return ""


_STRONG = re.compile(
    r"\b(?:must|allowed|permitted|prohibit\w*|banned|illegal|lawful|oblig\w*|comply|"
    r"complian\w*|ai act|gdpr|article|fines?|penalt\w*|required?|deadline)\b",
    re.IGNORECASE,
)


def _strong_cue(question: str) -> bool:
    return bool(_STRONG.search(question))
