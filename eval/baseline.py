"""The naive llama-index baseline the product is compared with.

Same documents (``corpus/manifest.toml``) and embedding model, but none of the structure:
each file read as flat text, default ``SentenceSplitter`` chunks, an in-memory
``VectorStoreIndex``, vector-only top-k retrieval, no consolidation of amendments, no
abstention.  To score it with the product's metrics, each retrieved chunk is mapped back to
the refs of the provisions in force whose text it shares most 8-word shingles with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from eval.metrics import Outcome
from kb.assistant import Assistant
from kb.errors import BadDocument
from kb.records import Document, Provision
from kb.text import normalise_space, words

log = logging.getLogger(__name__)

SHINGLE = 8  # words per shingle when matching chunk text to provisions
REFS_PER_CHUNK = 3  # a chunk "cites" the leaf provisions it shares most text with
GENEROUS_SHARE = 0.5  # sensitivity check: a chunk "cites" every provision mostly inside it
CACHE_FORMAT = "1"

# Elements after which a browser starts a new line; their tails get a newline so that
# text_content() does not glue "Article 5" to the next heading.
_HTML_BLOCKS = {"p", "div", "td", "th", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br",
                "table", "tbody", "hr", "dt", "dd"}
_FORMEX_BLOCKS = {"P", "ALINEA", "TI", "STI", "NP", "ITEM", "PARAG", "ARTICLE", "CONSID",
                  "TXT", "TITLE", "GR.SEQ", "ROW", "CELL", "LIST", "PREAMBLE.INIT", "FINAL"}


# --- documents as flat text --------------------------------------------------------------


def _with_breaks(root, blocks: set[str]) -> str:
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag in blocks:
            element.tail = "\n" + (element.tail or "")
    return "".join(root.itertext())


def html_text(data: bytes) -> str:
    """The visible text of an HTML page's body."""
    import lxml.html

    root = lxml.html.fromstring(data)
    for element in root.xpath("//script|//style|//head"):
        element.drop_tree()
    body = root.find("body")
    return normalise_space(_with_breaks(body if body is not None else root, _HTML_BLOCKS))


def formex_text(path: Path) -> str:
    """The text of a Formex act and of the annex files it includes."""
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    parts = [_with_breaks(root, _FORMEX_BLOCKS)]
    for incl in root.iter("INCL.ELEMENT"):
        annex = path.parent / incl.get("FILEREF", "")
        if incl.get("FILEREF") and annex.is_file():
            parts.append(_with_breaks(etree.parse(str(annex)).getroot(), _FORMEX_BLOCKS))
    return normalise_space("\n".join(parts))


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return normalise_space("\n".join(page.extract_text() or "" for page in PdfReader(path).pages))


def document_text(corpus_dir: Path, doc: Document) -> str:
    """The flat text of one manifest document, read the way a naive pipeline would."""
    path = corpus_dir / doc.file
    if not path.is_file():
        raise BadDocument(f"{doc.file} is in the manifest but missing from {corpus_dir}")
    if doc.parser == "eurlex_html":
        return html_text(path.read_bytes())
    if doc.parser == "formex":
        return formex_text(path)
    if doc.parser == "guideline_pdf":
        return pdf_text(path)
    return path.read_text(encoding="utf-8")


def source_files(corpus_dir: Path, doc: Document) -> list[Path]:
    path = corpus_dir / doc.file
    if doc.parser != "formex":
        return [path]
    return sorted(path.parent.glob(path.name.split(".")[0] + ".*.fmx.xml"))


# --- chunks → refs ------------------------------------------------------------------------


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """The ``n``-word shingles of the normalised text (the whole text if shorter).

    >>> sorted(shingles("The deployer shall inform them", n=4))
    ['deployer shall inform them', 'the deployer shall inform']
    """
    tokens = words(text)
    if len(tokens) <= n:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def leaves(provisions: Sequence[Provision]) -> list[Provision]:
    """The provisions no other provision sits inside: points, childless paragraphs,
    recitals, guideline paragraphs (the most precise refs a chunk can be mapped to)."""
    parents = {p.parent for p in provisions if p.parent}
    return [p for p in provisions if p.ref not in parents]


class RefMapper:
    """Maps a piece of text to the refs of the provisions it shares most shingles with."""

    def __init__(self, provisions: Sequence[Provision], *, n: int = SHINGLE):
        self.n = n
        self.refs = [p.ref for p in provisions]
        self.sizes = []
        self.index: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(provisions):
            own = shingles(p.text, n)
            self.sizes.append(len(own))
            for s in own:
                self.index[s].append(i)

    def _shared(self, text: str) -> Counter:
        counts: Counter = Counter()
        for s in shingles(text, self.n):
            for i in self.index.get(s, ()):
                counts[i] += 1
        return counts

    def refs_for(self, text: str, *, limit: int = REFS_PER_CHUNK) -> tuple[str, ...]:
        """Up to ``limit`` refs, most shared shingles first (document order breaks ties).

        >>> from kb.records import Unit
        >>> a = Provision("x", "Article 1(1)", Unit.ARTICLE, "Providers shall inform people")
        >>> b = Provision("x", "Article 1(2)", Unit.ARTICLE, "Deployers shall disclose deep fakes")
        >>> RefMapper([a, b], n=3).refs_for("deployers shall disclose deep fakes to all")
        ('Article 1(2)',)
        """
        best = sorted(self._shared(text).items(), key=lambda item: (-item[1], item[0]))[:limit]
        return tuple(self.refs[i] for i, _ in best)

    def contained(self, text: str, *, share: float = GENEROUS_SHARE) -> tuple[str, ...]:
        """Every ref with at least ``share`` of its shingles in ``text``, most shared first.

        >>> from kb.records import Unit
        >>> a = Provision("x", "Article 1(1)", Unit.ARTICLE, "Providers shall inform people")
        >>> b = Provision("x", "Article 1(2)", Unit.ARTICLE, "Deployers shall disclose deep fakes")
        >>> RefMapper([a, b], n=3).contained("providers shall inform people; deployers shall")
        ('Article 1(1)',)
        """
        shared = [(n, i) for i, n in self._shared(text).items() if n >= share * self.sizes[i]]
        return tuple(self.refs[i] for n, i in sorted(shared, key=lambda item: (-item[0], item[1])))


# --- the index ----------------------------------------------------------------------------


def cache_key(corpus_dir: Path, documents: Sequence[Document], model: str, chunking: str) -> str:
    """A hash of everything the baseline chunks and vectors depend on."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}|{model}|{chunking}".encode())
    for doc in documents:
        digest.update(f"|{doc.id}|{doc.parser}".encode())
        for path in source_files(corpus_dir, doc):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _chunks(corpus_dir: Path, documents: Sequence[Document]) -> list[dict]:
    from llama_index.core import Document as LlamaDocument
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter()  # the defaults: that is the point of the baseline
    out = []
    for doc in documents:
        text = document_text(corpus_dir, doc)
        source = LlamaDocument(text=text, metadata={"doc_id": doc.id},
                               excluded_embed_metadata_keys=["doc_id"],
                               excluded_llm_metadata_keys=["doc_id"])
        nodes = splitter.get_nodes_from_documents([source])
        log.info("baseline: %s -> %d chunks", doc.id, len(nodes))
        out += [{"doc_id": doc.id, "text": node.get_content()} for node in nodes]
    return out


def load_or_build_chunks(corpus_dir: Path, documents: Sequence[Document], embedder, model: str,
                         cache_dir: Path) -> tuple[list[dict], list[list[float]], bool]:
    """Chunks and their vectors, from ``cache_dir/<key>`` when the corpus is unchanged."""
    import numpy as np

    from kb.index.embeddings import embed_texts

    splitter_desc = "SentenceSplitter(1024,200)"
    key = cache_key(corpus_dir, documents, model, splitter_desc)
    folder = cache_dir / key
    if (folder / "chunks.json").is_file() and (folder / "vectors.npy").is_file():
        chunks = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        vectors = np.load(folder / "vectors.npy").tolist()
        if len(chunks) == len(vectors):
            return chunks, vectors, True
    chunks = _chunks(corpus_dir, documents)
    vectors = embed_texts(embedder, [c["text"] for c in chunks])
    staging = cache_dir / f".{key}.tmp"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "chunks.json").write_text(json.dumps(chunks), encoding="utf-8")
    np.save(staging / "vectors.npy", np.asarray(vectors, dtype="float32"))
    if folder.exists():  # a concurrent run got there first; its files are as good
        return chunks, vectors, False
    staging.rename(folder)
    return chunks, vectors, False


class Baseline:
    """Vector-only retrieval over flat chunks, answered as refs via :class:`RefMapper`."""

    def __init__(self, index, chunk_refs: dict[str, tuple[str, ...]], meta: dict,
                 generous_refs: dict[str, tuple[str, ...]] | None = None):
        self.index = index
        self.chunk_refs = chunk_refs
        self.generous_refs = generous_refs or {}
        self.meta = meta

    @classmethod
    def build(cls, assistant: Assistant, *, as_of: str) -> Baseline:
        from llama_index.core import VectorStoreIndex
        from llama_index.core.schema import TextNode

        from kb.index.embeddings import load_embedder

        settings = assistant.settings
        documents = list(assistant.library.documents.values())
        embedder = load_embedder(settings.embed_model)
        chunks, vectors, cached = load_or_build_chunks(
            settings.corpus_dir, documents, embedder, settings.embed_model,
            settings.data_dir / "eval-baseline")
        nodes = [TextNode(id_=f"chunk-{i}", text=c["text"], embedding=v,
                          metadata={"doc_id": c["doc_id"]},
                          excluded_embed_metadata_keys=["doc_id"])
                 for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))]
        index = VectorStoreIndex(nodes, embed_model=embedder)  # vectors given: no re-embedding
        mapper = RefMapper(leaves(assistant.library.in_force(as_of=as_of)))
        chunk_refs = {n.node_id: mapper.refs_for(n.text) for n in nodes}
        generous = {n.node_id: mapper.contained(n.text) for n in nodes}
        meta = {
            "chunks": len(nodes),
            "chunking": "llama-index SentenceSplitter defaults (chunk_size 1024, overlap 200)",
            "cache_hit": cached,
            "refs_per_chunk": REFS_PER_CHUNK,
            "unmapped_chunks": sum(1 for refs in chunk_refs.values() if not refs),
            "generous_share": GENEROUS_SHARE,
            "generous_refs_per_chunk": round(
                sum(len(refs) for refs in generous.values()) / max(len(nodes), 1), 1),
        }
        return cls(index, chunk_refs, meta, generous)

    def retrieve(self, question: str, *, top_k: int) -> list[str]:
        """Ids of the ranked chunks for ``question``."""
        hits = self.index.as_retriever(similarity_top_k=top_k).retrieve(question)
        return [h.node.node_id for h in hits]


def evaluate_baseline(assistant: Assistant, questions: Sequence, *, top_k: int, as_of: str,
                      progress=None) -> tuple[list[Outcome], list[Outcome], dict]:
    """The baseline's outcomes for ``questions`` (it never abstains, writes no text), scored
    with the standard chunk→refs mapping and with the generous one."""
    baseline = Baseline.build(assistant, as_of=as_of)
    strict, generous = [], []
    for done, q in enumerate(questions, start=1):
        started = time.perf_counter()
        ids = baseline.retrieve(q.question, top_k=top_k)
        wall = (time.perf_counter() - started) * 1000
        for out, refs in ((strict, baseline.chunk_refs), (generous, baseline.generous_refs)):
            ranked = tuple(refs.get(i, ()) for i in ids)
            out.append(Outcome(q.id, q.category, q.question, q.gold, q.needs_all, ranked,
                               ranked, abstained=False, timing_ms=wall, wall_ms=wall))
        if progress:
            progress("baseline", done, len(questions))
    return strict, generous, baseline.meta
