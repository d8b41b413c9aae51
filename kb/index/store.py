"""The vector store: Chroma collections ("generations") of the index, and the BM25 index.

The only module that talks to Chroma or builds llama-index nodes and retrievers.  Writers
(``ingest``) fill a :class:`Generation` and :meth:`Generation.commit` it together with its
catalog; readers open a :class:`Snapshot` (catalog + live collection) and ask
:meth:`Store.current_key` before each question whether a newer one was committed.  Retired
generations are dropped only after a grace period, so a question in flight never loses
its collection.  Embedded Chroma in ``KB_DATA_DIR/chroma`` by default, a server with
``CHROMA_HOST``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from kb.config import Settings
from kb.errors import IndexMissing, KbError, StoreUnavailable
from kb.index.catalog import Catalog, CatalogContent, StoredChunk, write_catalog

log = logging.getLogger(__name__)

NO_END = 99_999_999  # "valid until" of a version that is still in force
# Scores are rounded to this many decimals before ranking, so that float noise in the last
# bits (SIMD paths, thread counts) never reorders two passages (issue: same question, same
# answer).  Ties are then broken by chunk id.
SCORE_DIGITS = 6
# Up to this many vectors the HNSW search visits every node (ef_search >= count), which
# makes the candidate set exact; beyond it candidates come from the approximate graph.
EXACT_SEARCH_LIMIT = 20_000
# What the catalog's "index_format" must say for this code to read the index; older
# indexes are rebuilt by the next `python -m ingest`.
INDEX_FORMAT = "2"
# llama-index writes its own "doc_id"/"document_id"/"ref_doc_id" keys into Chroma metadata,
# so ours is named differently.
DOC_KEY = "kb_doc_id"
_METADATA_KEYS = [DOC_KEY, "ref", "unit", "part", "valid_from", "valid_until"]


def date_number(iso: str | None, default: int = 0) -> int:
    """An ISO date as a comparable integer, for Chroma's numeric metadata.

    >>> date_number("2026-07-27"), date_number(None)
    (20260727, 0)
    """
    return int(iso.replace("-", "")) if iso else default


def ranked(pairs: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """Scores rounded to SCORE_DIGITS, best first, ties by id: the same order every run.

    >>> ranked([("b", 0.50000001), ("a", 0.5), ("c", 0.7)])
    [('c', 0.7), ('a', 0.5), ('b', 0.5)]
    """
    rounded = [(i, round(float(s), SCORE_DIGITS)) for i, s in pairs]
    return sorted(rounded, key=lambda pair: (-pair[1], pair[0]))


def chunk_metadata(chunk: StoredChunk, unit: str) -> dict:
    """What Chroma keeps beside each vector (flat, no None values)."""
    return {
        DOC_KEY: chunk.doc_id,
        "ref": chunk.ref,
        "unit": unit,
        "part": chunk.part,
        "valid_from": date_number(chunk.valid_from),
        "valid_until": date_number(chunk.valid_until, NO_END),
    }


def to_node(chunk: StoredChunk, unit: str, embedding: list[float] | None = None):
    """The llama-index node for a chunk: verbatim text, citation metadata, vector."""
    from llama_index.core.schema import TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=chunk_metadata(chunk, unit),
        embedding=embedding,
        excluded_embed_metadata_keys=_METADATA_KEYS,
        excluded_llm_metadata_keys=["part", "valid_from", "valid_until"],
    )


def chroma_client(settings: Settings):
    """A Chroma client: HTTP when ``CHROMA_HOST`` is set, else embedded on disk."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    options = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=options
            )
        except Exception as error:  # chromadb raises plain exceptions for connection errors
            raise StoreUnavailable(unreachable(settings, error)) from None
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=options)


def unreachable(settings: Settings, error: BaseException) -> str:
    """The one-line message for a store that cannot be reached."""
    if settings.chroma_host:
        return (f"cannot reach the Chroma server at {settings.store_location} "
                f"({type(error).__name__}); is it running? Start it with: chroma run --path "
                f"data/chroma-server --port {settings.chroma_port}")
    return f"The Chroma store in {settings.chroma_dir} cannot be opened: {error}"


# --- reading ----------------------------------------------------------------------------


class DenseIndex:
    """Cosine search in one Chroma collection, exact and repeatable at this corpus size."""

    def __init__(self, collection, settings: Settings):
        self._collection = collection
        self._settings = settings
        self.name: str = collection.name

    def query(self, vectors: Sequence[Sequence[float]], k: int) -> list[list[tuple[str, float]]]:
        """For each query vector, up to ``k`` (chunk id, cosine similarity), best first.

        One ``collection.query`` call for all vectors.  Chroma picks the candidates; their
        similarity is recomputed in float64 from the stored vectors and rounded
        (:func:`ranked`), because Chroma's own float32 distances differ in the last bits from
        one process to another.
        """
        try:
            result = self._collection.query(query_embeddings=[list(v) for v in vectors],
                                            n_results=k, include=["embeddings"])
        except Exception as error:
            raise _read_error(error, self._settings, self.name) from None
        out = []
        for vector, ids, embeddings in zip(vectors, result["ids"], result["embeddings"],
                                           strict=True):
            if not ids:
                out.append([])
                continue
            matrix = np.asarray(embeddings, dtype=np.float64)
            query = np.asarray(vector, dtype=np.float64)
            norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
            cosines = (matrix @ query) / np.where(norms == 0, 1.0, norms)
            out.append(ranked(list(zip(ids, cosines.tolist(), strict=True))))
        return out

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """Every chunk id and its stored vector (float64, one row each), in id order."""
        try:
            found = self._collection.get(include=["embeddings"])
        except Exception as error:
            raise _read_error(error, self._settings, self.name) from None
        order = sorted(range(len(found["ids"])), key=lambda k: found["ids"][k])
        matrix = np.asarray(found["embeddings"], dtype=np.float64)
        return [found["ids"][k] for k in order], matrix[order] if order else matrix


class LexicalIndex:
    """BM25 over chunk texts with their context line (llama-index ``BM25Retriever``).

    English by default (bm25s's English stop words and Snowball stemmer).  ``analyse``
    replaces that analysis for another language: it turns a text into its index terms
    (:func:`kb.search.languages.tokenize` with ``lang="de"``: Snowball German, accents
    folded), applied alike to the chunks and to each query.
    """

    def __init__(self, chunks: Sequence[StoredChunk], units: dict[str, str], *, top_k: int,
                 analyse: Callable[[str], list[str]] | None = None):
        from llama_index.retrievers.bm25 import BM25Retriever

        # bm25s forces its logger to DEBUG on import; let the application decide.
        logging.getLogger("bm25s").setLevel(logging.NOTSET)
        self._analyse = analyse
        nodes = []
        for chunk in sorted(chunks, key=lambda c: c.id):
            node = to_node(chunk, units.get(chunk.id, "article"))
            node.set_content(self._terms(chunk.embed_text))  # BM25 reads the title / term too
            nodes.append(node)
        # Analysed text is already stop-word free and stemmed: bm25s only splits it.
        options = {} if analyse is None else {"skip_stemming": True, "language": None}
        self._retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=top_k,
                                                      **options)

    def _terms(self, text: str) -> str:
        return text if self._analyse is None else " ".join(self._analyse(text))

    def search(self, text: str) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first, ties by id."""
        query = self._terms(text)
        if self._analyse is not None and not query:
            return []  # nothing left after analysis (only stop words)
        hits = self._retriever.retrieve(query)
        return ranked([(h.node.node_id, float(h.score or 0.0)) for h in hits])


@dataclass(frozen=True)
class Snapshot:
    """One committed state of the index: its catalog and its live collection."""

    key: tuple  # identity of the catalog file (see Store.current_key)
    catalog: Catalog
    dense: DenseIndex

    @property
    def collection(self) -> str:
        return self.dense.name


# --- writing ----------------------------------------------------------------------------


class Generation:
    """A new collection being filled by a writer; invisible to readers until committed.

    Use it as a context manager: leaving the block with an exception discards it.
    """

    def __init__(self, store: Store, name: str, source: Snapshot | None):
        self.store = store
        self.name = name
        self.source = source
        self.count = 0
        self._collection = store.client.create_collection(
            name, metadata={"hnsw:space": "cosine"})

    def __enter__(self) -> Generation:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self.discard()

    def add(self, chunks: Sequence[StoredChunk], units: dict[str, str],
            vectors: Sequence[Sequence[float]]) -> None:
        """Store ``chunks`` with their vectors (same order) and metadata."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        nodes = [to_node(c, units.get(c.id, "article"), list(v))
                 for c, v in zip(chunks, vectors, strict=True)]
        ChromaVectorStore(chroma_collection=self._collection).add(nodes)
        self.count += len(nodes)

    def copy_from(self, doc_id: str, *, source: Snapshot | None = None,
                  progress: Callable[[int], None] | None = None) -> int:
        """Copy one document's vectors from the live (or given) generation: no re-embedding."""
        snapshot = source or self.source
        if snapshot is None:
            raise KbError(f"no live generation to copy {doc_id!r} from")
        collection = snapshot.dense._collection
        copied, offset, page = 0, 0, 1000
        while True:
            got = collection.get(where={DOC_KEY: doc_id}, limit=page, offset=offset,
                                 include=["embeddings", "documents", "metadatas"])
            if not got["ids"]:
                self.count += copied
                return copied
            self._collection.add(ids=got["ids"], embeddings=got["embeddings"],
                                 documents=got["documents"], metadatas=got["metadatas"])
            copied += len(got["ids"])
            offset += page
            if progress:
                progress(copied)

    def commit(self, content: CatalogContent) -> None:
        """Make this generation live: write its catalog (atomically), then retire the old one.

        The old live generation stays queryable for the grace period
        (``KB_GENERATION_GRACE``) so that readers that opened it finish their questions.
        """
        ef = min(max(100, self.count), EXACT_SEARCH_LIMIT)
        self._collection.modify(configuration={"hnsw": {"ef_search": ef}})
        now = datetime.now(UTC)
        retired = self.store.retired()
        if self.source is not None:
            retired.append({"name": self.source.collection, "at": now.isoformat()})
        keep, drop = _split_retired(retired, now, self.store.settings.generation_grace)
        state = {**content.state, "collection": self.name, "index_format": INDEX_FORMAT,
                 "retired": json.dumps(keep)}
        write_catalog(self.store.settings.catalog_path, content.with_state(state))
        log.info("generation %s is live (%d vectors); retired %s", self.name, self.count,
                 [r["name"] for r in keep])
        for name in drop:
            self.store.drop(name)

    def discard(self) -> None:
        log.warning("generation %s discarded; the previous index is unchanged", self.name)
        self.store.drop(self.name)


def _split_retired(retired: list[dict], now: datetime, grace: float) -> tuple[list, list]:
    """(retired generations still within the grace period, names to drop now)."""
    keep, drop = [], []
    for entry in retired:
        at = datetime.fromisoformat(entry["at"])
        (keep if now - at < timedelta(seconds=grace) else drop).append(entry)
    return keep, [entry["name"] for entry in drop]


# --- the store ----------------------------------------------------------------------------


class Store:
    """The index of one ``Settings``: its catalog file and its Chroma generations."""

    def __init__(self, settings: Settings, *, client=None):
        self.settings = settings
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = chroma_client(self.settings)
        return self._client

    def exists(self) -> bool:
        return self.settings.catalog_path.exists()

    @property
    def collection_name(self) -> str:
        """The name of the live generation (from the committed catalog)."""
        return self.open_catalog().state("collection")

    @property
    def collection(self):
        """The live Chroma collection itself, for inspection (tests, benchmarks)."""
        return self.client.get_collection(self.collection_name)

    def current_key(self) -> tuple | None:
        """A cheap identity of the committed catalog (one ``stat``); None if there is none.

        Every commit replaces the catalog file by a rename, so the key changes exactly when
        a new generation goes live.
        """
        try:
            info = os.stat(self.settings.catalog_path)
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def open_catalog(self) -> Catalog:
        """The committed catalog; IndexMissing (with the command to run) if absent or damaged."""
        if not self.exists():
            raise IndexMissing(
                f"No index in {self.settings.data_dir}. Build it with: python -m ingest")
        try:
            catalog = Catalog(self.settings.catalog_path)
            catalog.state("collection")
        except sqlite3.DatabaseError as error:
            raise IndexMissing(
                f"The catalog {self.settings.catalog_path} is damaged ({error}). "
                "Rebuild with: python -m ingest --rebuild") from None
        return catalog

    def snapshot(self) -> Snapshot:
        """The live generation: catalog and collection, opened together."""
        key = self.current_key()
        catalog = self.open_catalog()
        if catalog.state("index_format") != INDEX_FORMAT:
            raise IndexMissing(
                f"The index in {self.settings.data_dir} was built by an older version. "
                "Rebuild with: python -m ingest")
        name = catalog.state("collection")
        try:
            collection = self.client.get_collection(name)
        except StoreUnavailable:
            raise
        except Exception as error:
            raise _read_error(error, self.settings, name) from None
        return Snapshot(key, catalog, DenseIndex(collection, self.settings))

    def live(self) -> Snapshot | None:
        """The live generation for a writer to copy from, or None if it is unusable."""
        try:
            return self.snapshot()
        except KbError as error:
            log.info("no usable live generation: %s", error)
            return None

    def retired(self) -> list[dict]:
        """Generations replaced within the grace period: [{"name", "at"}]."""
        if not self.exists():
            return []
        try:
            return json.loads(self.open_catalog().state("retired", "[]"))
        except KbError:
            return []

    def generation_names(self) -> list[str]:
        """Names of every collection of this knowledge base in the Chroma store."""
        prefix = f"{self.settings.collection}-g"
        names = (c if isinstance(c, str) else c.name for c in self.client.list_collections())
        return sorted(name for name in names if name.startswith(prefix))

    def new_generation(self, source: Snapshot | None = None) -> Generation:
        """An empty generation named after the highest existing one (``kb-g0008``)."""
        numbers = [int(name.rsplit("-g", 1)[1]) for name in self.generation_names()]
        name = f"{self.settings.collection}-g{max(numbers, default=0) + 1:04d}"
        return Generation(self, name, source)

    def clean_stale(self) -> list[str]:
        """Drop generations that are neither live nor retired: left by killed ingests.

        Call it only while holding the writer lock (no other writer is filling one).
        """
        live = self.live()
        keep = {r["name"] for r in self.retired()} | ({live.collection} if live else set())
        stale = [name for name in self.generation_names() if name not in keep]
        for name in stale:
            log.warning("dropping collection %s left by an interrupted ingest", name)
            self.drop(name)
        return stale

    def drop(self, name: str) -> None:
        try:
            self.client.delete_collection(name)
        except Exception as error:  # a leftover is dropped by the next clean_stale
            log.warning("could not delete collection %s: %s", name, error)


def _read_error(error: BaseException, settings: Settings, name: str) -> KbError:
    """The one-line error for a failed read of collection ``name``."""
    text = f"{type(error).__name__}: {error}"
    if "does not exist" in text or "NotFound" in text:
        return IndexMissing(
            f"The index is being rebuilt or was removed (collection {name!r} is missing from "
            f"{settings.store_location}); retry in a moment, or rebuild with: "
            "python -m ingest --rebuild")
    return StoreUnavailable(unreachable(settings, error))
