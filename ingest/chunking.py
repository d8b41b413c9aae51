"""Chunking by legal structure: one chunk per paragraph, per point where a paragraph has
points, and per sentence group where a text is longer than the embedding model reads.

Every chunk's ``text`` is a verbatim slice of its provision's text; its ``embed_text``
prefixes a short context line (ref, article title, a point's opening words) and is kept
within the model's token window so the end of a provision is never invisible.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from kb.records import Chunk, Document, Provision, Unit
from kb.text import sentence_spans

TokenCounter = Callable[[str], int]

# all-MiniLM-L6-v2 reads 256 word-pieces including [CLS] and [SEP].
DEFAULT_MAX_TOKENS = 256
_LABEL_ONLY = re.compile(r"^\s*(?:\(?[0-9a-z]{1,4}[.)]\s*)*$", re.IGNORECASE)
# The label line of the child that follows a residual span ("...shall be prohibited:\n(a) "):
# it belongs to the child, so the span ends before it.
# "(a)", the German and French "a)", "1.", "1d.".
_TRAILING_LABEL = re.compile(r"\n[ \t]*(?:\(?\s*[0-9a-z]{1,4}\s*\)|\d{1,3}[a-z]?\.)[ \t]*$",
                             re.IGNORECASE)


def approximate_tokens(text: str) -> int:
    """A cheap upper-bound guess of word-pieces, for tests without a tokenizer."""
    return int(len(text.split()) * 1.6) + 2


def context_line(p: Provision, doc: Document) -> str:
    """The context an embedding sees before the text: ref, title, defined term."""
    label = p.ref if doc.cite_as or doc.kind.value != "regulation" else f"AI Act {p.ref}"
    if p.unit is Unit.DEFINITION and p.term:
        return f"{label} Definition of ‘{p.term}’"
    if p.title and p.unit is not Unit.SECTION:
        return f"{label} {p.title}"
    if p.unit is Unit.SECTION and p.section:
        return f"{doc.cite_as} {p.section}"
    return label


def chunk_document(
    provisions: Iterable[Provision],
    doc: Document,
    *,
    count_tokens: TokenCounter = approximate_tokens,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> list[Chunk]:
    """The chunks of one document's provisions (all versions), in document order."""
    provisions = list(provisions)
    refs = {p.ref for p in provisions}
    children: dict[tuple[str, str | None], list[Provision]] = defaultdict(list)
    for p in provisions:
        if p.parent:
            children[(p.parent, p.valid_from)].append(p)
    chunks: dict[str, Chunk] = {}
    for p in provisions:
        if p.parent in refs:
            continue  # reached through its parent
        for chunk in _chunk(p, doc, children, count_tokens, max_tokens):
            chunks.setdefault(chunk.id, chunk)  # unchanged children of two versions
    return list(chunks.values())


def _kids(p: Provision, children) -> list[Provision]:
    """Children of this version of ``p``: a new version of a parent has its own new
    children plus the original children that were never replaced."""
    own = children.get((p.ref, p.valid_from), [])
    if p.valid_from is None:
        return own
    kept = [k for k in children.get((p.ref, None), []) if k.valid_until is None]
    return sorted(own + kept, key=lambda k: p.text.find(k.text))


def _chunk(p, doc, children, count_tokens, max_tokens) -> list[Chunk]:
    if p.deleted:
        return []
    kids = [k for k in _kids(p, children) if k.text and k.text in p.text and not k.deleted]
    if not kids:
        return _leaf_chunks(p, doc, count_tokens, max_tokens)
    chunks: list[Chunk] = []
    part = 1
    for start, end in _residual_spans(p.text, [k.text for k in kids]):
        for chunk in _leaf_chunks(p, doc, count_tokens, max_tokens, start, end, first_part=part):
            chunks.append(chunk)
            part += 1
    for kid in kids:
        chunks.extend(_chunk(kid, doc, children, count_tokens, max_tokens))
    return chunks
def _residual_spans(text: str, kid_texts: list[str]) -> list[tuple[int, int]]:
    """Spans of ``text`` not covered by any child's text (intro, closing subparagraphs)."""
    covered: list[tuple[int, int]] = []
    for kid in kid_texts:
        at = text.find(kid)
        if at >= 0:
            covered.append((at, at + len(kid)))
    covered.sort()
    spans, cursor = [], 0
    for start, end in covered + [(len(text), len(text))]:
        if start > cursor and not _LABEL_ONLY.match(text[cursor:start]):
            label = _TRAILING_LABEL.search(text, cursor, start)
            spans.append((cursor, label.start() if label else start))
        cursor = max(cursor, end)
    return spans


def _leaf_chunks(
    p: Provision,
    doc: Document,
    count_tokens: TokenCounter,
    max_tokens: int,
    start: int = 0,
    end: int | None = None,
    *,
    first_part: int = 0,
) -> list[Chunk]:
    end = len(p.text) if end is None else end
    context = context_line(p, doc)
    if p.intro:
        context = f"{context}\n{p.intro}"
    # Both counts include the two special tokens, which the joined text has only once.
    budget = max_tokens + 2 - count_tokens(context)
    pieces = _pack(p.text, start, end, budget, count_tokens)
    if len(pieces) == 1 and start == 0 and end == len(p.text) and first_part == 0:
        return [Chunk(p, p.text, f"{context}\n{p.text}", part=0)]
    part = max(first_part, 1)
    chunks = []
    for a, b in pieces:
        text = p.text[a:b]
        chunks.append(Chunk(p, text, f"{context}\n{text}", part=part))
        part += 1
    return chunks


def _pack(text: str, start: int, end: int, budget: int, count_tokens) -> list[tuple[int, int]]:
    """Group consecutive sentences of ``text[start:end]`` into spans within ``budget``.
    A label the sentence splitter leaves on its own ("2." before a quoted paragraph) opens
    the group of the sentence it labels, never closes the one before."""
    spans: list[tuple[int, int]] = []
    for a, b in sentence_spans(text[start:end]):
        if spans and _LABEL_ONLY.match(text[spans[-1][0] : spans[-1][1]]):
            spans[-1] = (spans[-1][0], start + b)
        else:
            spans.append((start + a, start + b))
    spans = [piece for span in spans for piece in _split_long(text, span, budget, count_tokens)]
    packed: list[tuple[int, int]] = []
    for a, b in spans:
        if packed and count_tokens(text[packed[-1][0] : b]) <= budget:
            packed[-1] = (packed[-1][0], b)
        else:
            packed.append((a, b))
    return packed


def _split_long(text, span, budget, count_tokens) -> list[tuple[int, int]]:
    """Split one over-long sentence at word boundaries."""
    a, b = span
    if count_tokens(text[a:b]) <= budget:
        return [span]
    cuts = [a + m.end() for m in re.finditer(r"\s+", text[a:b])] + [b]
    pieces, start, previous = [], a, a
    for cut in cuts:
        if count_tokens(text[start:cut]) > budget and previous > start:
            pieces.append(_trim(text, (start, previous)))
            start = previous
        previous = cut
    pieces.append(_trim(text, (start, b)))
    return [(x, y) for x, y in pieces if y > x]


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    a, b = span
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
