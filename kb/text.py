"""Text helpers shared by ingest, search and answers: whitespace, sentences, words.

Sentence spans are half-open ``[start, end)`` offsets into the original string, so a
sentence is always a verbatim slice of the official text.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Abbreviations that end with a full stop without ending a sentence.
_ABBREVIATIONS = {
    "art", "arts", "no", "nos", "para", "paras", "e.g", "i.e", "cf", "etc", "p", "pp",
    "vol", "seq", "op", "cit", "ibid", "mr", "mrs", "dr", "st", "u.s", "approx", "fig",
}
_BOUNDARY = re.compile(r"(?<=[.?!;:])[\"'’”)]*\s+(?=[A-Z‘“(\"'])|\n+")


def normalise_space(text: str) -> str:
    """Collapse runs of blanks (including no-break spaces) and strip each line.

    >>> normalise_space("  Article\\u00a050 \\n  (1)  text ")
    'Article 50\\n(1) text'
    """
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def words(text: str) -> list[str]:
    """Lower-case word tokens, accents folded.

    >>> words("Providers shall ensure AI-generated ‘deep fakes’")
    ['providers', 'shall', 'ensure', 'ai-generated', 'deep', 'fakes']
    """
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _WORD.findall(folded.replace("’", "'"))


# Words too common in questions to tell passages apart.
STOP_WORDS = frozenset(
    "a an the of to in on for and or is are be do does did must should shall we our us i my "
    "you your it its it's they them their this that these those with as at by from what which "
    "who whom when how can may about any if there have has need needs under into than then "
    "so such also not no yes all get got would could will was were been being tell say says"
    .split()
)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning: no stop words, no single letters.

    >>> content_words("What must the deployer of an AI system do?")
    ['deployer', 'ai', 'system']
    """
    return [w for w in words(text) if w not in STOP_WORDS and len(w) > 1]


def _ends_with_abbreviation(text: str, end: int) -> bool:
    start = text.rfind(" ", 0, end - 1) + 1
    token = text[start:end].strip("(‘“\"'").rstrip(".").lower()
    if token in _ABBREVIATIONS:
        return True
    # "Article 3." or "point 1." inside a sentence: a bare number or single letter.
    return len(token) == 1 or token.isdigit() and text[end - 1] == "."


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Half-open spans of the sentences of ``text``.

    Splits at line breaks and after ``.?!;:`` followed by a capital or an opening bracket,
    except after abbreviations ("Art.", "e.g.") and bare numbers.

    >>> t = "Providers shall act. See Art. 5 of it.\\n(a) first; (b) second"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['Providers shall act.', 'See Art. 5 of it.', '(a) first;', '(b) second']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        if match.group(0).strip() and _ends_with_abbreviation(text, end):
            continue
        # Keep closing quotes/brackets with the sentence they close.
        end = end + len(match.group(0)) - len(match.group(0).lstrip("\"'’”)"))
        if text[start:end].strip():
            spans.append(_strip_span(text, start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(_strip_span(text, start, len(text)))
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`)."""
    return [text[a:b] for a, b in sentence_spans(text)]
