"""An answer as a Markdown document, ready to paste into a governance ticket.

In: an :class:`kb.records.Answer`, the corpus version hash and the time of export; out: a
Markdown string with the question, the answer, and every citation with its verbatim text.
Corpus and user text is Markdown-escaped so that it renders exactly as written.
"""

from __future__ import annotations

import re
from datetime import datetime

from kb.records import LANGUAGES, Answer, Citation

# Markdown syntax characters (CommonMark, GFM, Streamlit's `$math$` and `:color[...]`): escaped
# everywhere; block markers ("# ", "- ", "1. ", "=") only at the start of a line.  Without an
# unescaped "[" or "<" no link, image or HTML can form, whatever the text says.
_INLINE = re.compile(r"([\\`*_{}\[\]<>|~$&])")
_BLOCK = re.compile(r"^(?:([#+\-=])|(\d+)([.)]))", re.MULTILINE)
_MARKER = re.compile(r"\s*\[(\d+)\]")

KIND_LABELS = {
    "regulation": "Regulation",
    "amending_regulation": "Amending regulation",
    "guideline": "Guideline",
    "faq": "FAQ",
    "code_of_practice": "Code of practice",
    "national_guidance": "National guidance",
}


def escape_markdown(text: str, *, strip: bool = True) -> str:
    r"""``text`` escaped so that Markdown shows it literally; its line breaks are kept.

    >>> print(escape_markdown("<b>**[x](javascript:y)**</b>"))
    \<b\>\*\*\[x\](javascript:y)\*\*\</b\>
    >>> escape_markdown("as follows:\n1. first\n- (a) point").split("  \n")
    ['as follows:', '1\\. first', '\\- (a) point']

    ``strip=False`` keeps spaces at the ends of lines, for fragments of a longer text.
    """
    lines = "\n".join(line.strip() for line in text.split("\n")) if strip else text
    escaped = _BLOCK.sub(_escape_block, _INLINE.sub(r"\\\1", lines))
    return escaped.replace("\n", "  \n")


def _escape_block(match: re.Match) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return match.group(2) + "\\" + match.group(3)


def kind_label(kind: str, *, cite_as: str = "") -> str:
    """A reader's name for a document kind ("GDPR" for the GDPR, "Guideline", ...)."""
    if cite_as == "GDPR":
        return "GDPR"
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize() or "Document")


def citation_line(citation: Citation) -> str:
    """One line to paste: "Article 50(1), Regulation (EU) 2024/1689 (...) — <url>".

    Guideline and GDPR refs already name their document, so the title is not repeated.
    """
    line = citation.ref
    if citation.doc_title and not _names_its_document(citation.ref):
        line += f", {citation.doc_title}"
    if citation.url:
        line += f" — {citation.url}"
    return line


def _names_its_document(ref: str) -> bool:
    return not re.match(r"^(Article|Recital|Annex)\b", ref) or ref.endswith(" GDPR")


def version_note(citation: Citation) -> str:
    """ "As amended by ..., in force from ..." for an amended wording, else ""."""
    if not citation.version_source or not citation.valid_from:
        return ""
    return f"As amended by {citation.version_source}, in force from {citation.valid_from}"


def used_refs(answer: Answer) -> list[str]:
    """The refs an answer quotes (its [n] markers), in citation order; all if none quoted."""
    quoted = {s.n for s in answer.sentences}
    refs = [c.ref for c in answer.citations if c.n in quoted]
    return refs or [c.ref for c in answer.citations]


def answer_markdown(answer: Answer, *, corpus_version: str, generated_at: datetime) -> str:
    """The answer, its citations with verbatim text, and where it came from, as Markdown."""
    stamp = generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    lines = [
        "# EU AI Act knowledge base: answer",
        "",
        f"**Question:** {escape_markdown(answer.question)}",
        "",
        f"**Law as of:** {answer.as_of or 'today'}",
        "",
        *([f"**Question read as:** {LANGUAGES.get(answer.lang, answer.lang)}", ""]
          if answer.lang != "en" else []),
        "## Answer",
        "",
    ]
    if answer.abstained:
        lines += [f"*{escape_markdown(answer.text)}*", ""]
    elif answer.sentences:
        for sentence in answer.sentences:
            lines.append(f"- {escape_markdown(sentence.text)} \\[{sentence.n}\\]")
        lines.append("")
    else:
        lines += [_MARKER.sub(r" \\[\1\\]", escape_markdown(answer.text)), ""]
    if answer.message:
        lines += [f"*Note: {escape_markdown(answer.message)}*", ""]
    citations = answer.citations if not answer.abstained else answer.related
    if citations:
        lines += ["## Sources" if not answer.abstained else "## Passages you may want to read", ""]
    for c in citations:
        heading = f"### \\[{c.n}\\] {escape_markdown(c.ref)}" if not answer.abstained else (
            f"### {escape_markdown(c.ref)}")
        lines += [heading, ""]
        document = c.doc_title + (f" ({kind_label(c.doc_kind)})" if c.doc_kind else "")
        if document:
            lines.append(f"- Document: {escape_markdown(document)}")
        if c.title:
            lines.append(f"- Title: {escape_markdown(c.title)}")
        if c.url:
            lines.append(f"- Link: <{c.url}>")
        note = version_note(c)
        lines.append(f"- Version: {escape_markdown(note) if note else 'original text'}")
        if c.note:
            lines.append(f"- Language: {escape_markdown(c.note)}")
        lines.append("")
        lines += [f"> {line}" if line else ">" for line in escape_markdown(c.text).split("\n")]
        lines.append("")
    lines += [
        "---",
        "",
        f"Corpus version `{corpus_version}`, generated {stamp}. Quotations are verbatim from "
        "the official texts indexed; check the linked source before relying on them.",
        "",
    ]
    return "\n".join(lines)
