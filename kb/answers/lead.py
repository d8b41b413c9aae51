"""Lead an answer with a deciding provision: quoted verbatim as sentence ``[1]``.

In: an :class:`kb.records.Answer` and the :class:`kb.records.Citation` of the provision that
decides an assessment, with the verbatim quote; out: a new Answer whose first sentence is
the quote with marker ``[1]`` and whose other markers are renumbered.  Nothing is paraphrased.
"""

from __future__ import annotations

from dataclasses import replace

from kb.records import Answer, Citation, Sentence


def lead_with(answer: Answer, lead: Citation, quote: str) -> Answer:
    """``answer`` with ``quote`` (verbatim text of ``lead``) as its first sentence ``[1]``.

    A citation of the same provision already in the answer merges into ``[1]``; an abstained
    answer becomes an answer of that one sentence (its related passages stay as citations).
    """
    old = answer.citations if not answer.abstained else answer.related
    same = {c.n for c in old if c.ref == lead.ref and c.doc_id == lead.doc_id}
    renumber, n = {}, 2
    citations = [replace(lead, n=1)]
    for c in old:
        if c.n in same:
            renumber[c.n] = 1
            continue
        renumber[c.n] = n
        citations.append(replace(c, n=n))
        n += 1
    sentences = [Sentence(quote, 1)]
    if not answer.abstained:
        sentences += [Sentence(s.text, renumber[s.n]) for s in answer.sentences
                      if s.text != quote]
    text = " ".join(f"{s.text} [{s.n}]" for s in sentences)
    return replace(answer, text=text, abstained=False, citations=citations, sentences=sentences,
                   related=[], message="" if answer.abstained else answer.message)
