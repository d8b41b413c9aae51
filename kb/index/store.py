"""The index: Chroma collections of vectors plus the SQLite catalog beside them.

The only module that talks to Chroma and converts chunks to llama-index nodes.  Each
ingest writes a new *generation* collection (``kb-g0007``) and then points the catalog at
it, so a failed ingest leaves the live generation untouched.  Embedded Chroma
(``PersistentClient`` in ``KB_DATA_DIR/chroma``) by default, a server with ``CHROMA_HOST``.
"""

from __future__ import annotations

import logging
from functools import cached_property

from kb.config import Settings
from kb.errors import IndexMissing, KbError
from kb.index.catalog import Catalog, StoredChunk

log = logging.getLogger(__name__)

NO_END = 99_999_999  # "valid until" of a version that is still in force


def date_number(iso: str | None, default: int = 0) -> int:
    """An ISO date as a comparable integer, for Chroma's numeric filters.

    >>> date_number("2026-07-27"), date_number(None)
    (20260727, 0)
    """
    return int(iso.replace("-", "")) if iso else default


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
            raise KbError(
                f"cannot reach the Chroma server at {settings.store_location}: {error}. "
                "Start it with: chroma run --path data/chroma-server --port "
                f"{settings.chroma_port}"
            ) from None
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=options)


# llama-index writes its own "doc_id"/"document_id"/"ref_doc_id" keys into Chroma metadata,
# so ours is named differently.
DOC_KEY = "kb_doc_id"


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


class Store:
    """The live index: catalog plus its Chroma collection."""

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

    @cached_property
    def catalog(self) -> Catalog:
        if not self.exists():
            raise IndexMissing(
                f"No index in {self.settings.data_dir}. Build it with: python -m ingest"
            )
        return Catalog(self.settings.catalog_path)

    @property
    def collection_name(self) -> str:
        return self.catalog.state("collection")

    @cached_property
    def collection(self):
        name = self.collection_name
        try:
            return self.client.get_collection(name)
        except Exception:
            raise IndexMissing(
                f"The catalog names Chroma collection {name!r}, which is missing from "
                f"{self.settings.store_location}. Rebuild with: python -m ingest --rebuild"
            ) from None

    @cached_property
    def vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def generation_names(self) -> list[str]:
        """Names of every collection of this knowledge base in the Chroma store."""
        prefix = f"{self.settings.collection}-g"
        return sorted(
            c if isinstance(c, str) else c.name
            for c in self.client.list_collections()
            if (c if isinstance(c, str) else c.name).startswith(prefix)
        )


def to_node(chunk: StoredChunk, unit: str, embedding: list[float] | None = None):
    """The llama-index node for a chunk: verbatim text, citation metadata, vector."""
    from llama_index.core.schema import TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=chunk_metadata(chunk, unit),
        embedding=embedding,
        excluded_embed_metadata_keys=[DOC_KEY, "ref", "unit", "part", "valid_from", "valid_until"],
        excluded_llm_metadata_keys=["part", "valid_from", "valid_until"],
    )
