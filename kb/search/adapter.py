"""The query adapter: a linear map on question embeddings, learned from the corpus itself.

MiniLM was trained on web text; it places "Must our chatbot tell customers it is an AI?"
far from Article 50's wording.  The adapter is a 384 x 384 matrix that moves a question's
vector towards the passages people mean by it.  Only queries are mapped, so the index and
its vectors stay as they are, and new documents need no retraining.

It is trained by ``python -m eval.train_adapter`` on pairs the corpus and the team give
(never on evaluation questions): the obligations catalogue's CX examples and titles → the
provisions they name, article titles → the article's passages, and "what is X?" → the
definition of X.  Retrieval uses the adapted vector as one more dense list next to the
plain one (the abstention evidence stays on plain cosines).  The adapter applies only to the
embedding model it was trained for; with another ``KB_EMBED_MODEL`` there is none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
ADAPTER_PATH = Path(__file__).with_name("adapter.npz")


@dataclass(frozen=True, eq=False)
class QueryAdapter:
    """A square matrix applied to query vectors, for one embedding model."""

    matrix: np.ndarray  # (dim, dim), float64
    model: str  # the KB_EMBED_MODEL it was trained for ("bundled")
    trained_on: str = ""  # what produced it (pairs, settings)

    def apply(self, vectors: Sequence[Sequence[float]]) -> list[list[float]]:
        """The adapted vectors, unit length."""
        mapped = np.asarray(vectors, dtype=np.float64) @ self.matrix
        norms = np.linalg.norm(mapped, axis=1, keepdims=True)
        return (mapped / np.where(norms == 0, 1.0, norms)).tolist()

    def save(self, path: Path = ADAPTER_PATH) -> None:
        with path.open("wb") as out:
            np.savez_compressed(out, matrix=self.matrix.astype(np.float32),
                                model=np.array(self.model), trained_on=np.array(self.trained_on))

    @classmethod
    def load(cls, model: str, path: Path = ADAPTER_PATH) -> QueryAdapter | None:
        """The adapter in ``path`` if it was trained for ``model``, else None."""
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                adapter = cls(data["matrix"].astype(np.float64), str(data["model"]),
                              str(data["trained_on"]))
        except (OSError, ValueError, KeyError) as error:
            log.warning("query adapter %s unreadable (%s); not used", path, error)
            return None
        rows, cols = adapter.matrix.shape
        if adapter.model != model or rows != cols:
            log.info("query adapter %s is for model %r, not %r; not used", path,
                     adapter.model, model)
            return None
        return adapter
