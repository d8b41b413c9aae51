"""Dense evidence for the assessment engine and the learned combiner that weighs it.

In: team-written labelled descriptions (``kb/obligations/examples.jsonl``: description, tiers,
deciding refs), an ``embed`` function (the index's sentence model) and the trigger catalogue;
out: :class:`DenseModel`, which gives, for a description and its lexical evidence, the
probability that each trigger's provision applies.  The combiner is a logistic regression over
a few per-trigger features (lexical coverage of the trigger's concepts, similarity to examples
the provision decides and to its near misses); it is rebuilt from the data files at start-up,
deterministically (same data and model → same weights), and the example embeddings are cached
under ``<data dir>/assess/``.  The verdict itself stays with :mod:`kb.obligations.assess`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import KbError
from kb.jsonlines import parse_lines, read_lines
from kb.law.refs import ref_match
from kb.obligations.triggers import Catalogue, Evidence, TriggerSpec

log = logging.getLogger(__name__)

EXAMPLES_PATH = Path(__file__).with_name("examples.jsonl")
LEARNED_TIERS = ("prohibited", "high_risk", "limited")  # GPAI duties stay rule-only
THRESHOLD = 0.5  # probability at which a trigger fires (chosen by cross-validation)
NEIGHBOURS = 10
MAX_MISSING = 1  # concept groups a trigger may lack and still fire on the dense path
# Sentence embeddings: equal accuracy on fresh wording and the tuning part without them, and
# about 30 % more embedding time with them, so off by default.
USE_SENTENCES = False
MAX_SENTENCES = 8
FEATURES = ("bias", "lex_full", "lex_frac", "anchor", "none_hit", "pos_max", "pos_top3",
            "neg_max", "sent_pos_max", "knn_share", "has_pos", "lex_frac_x_pos",
            "tier_prohibited", "tier_high_risk")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True, slots=True)
class Example:
    """One team-written labelled description."""

    id: str
    description: str
    tiers: tuple[str, ...]
    deciding: tuple[str, ...]


def load_examples(path: Path | str = EXAMPLES_PATH) -> list[Example]:
    """The labelled descriptions of ``path`` (JSON lines, eval/SYSTEMS.md format)."""
    path = Path(path)
    lines = read_lines(path, "the assessment examples")
    return [example for _, example in parse_lines(
        lines, lambda row: Example(row["id"], row["description"], tuple(row["tiers"]),
                                   tuple(row.get("deciding") or ())),
        source=path.name, what="a labelled system")]


def label(example: Example, spec: TriggerSpec) -> int | None:
    """1 when the example's deciding provision is the trigger's and its tier applies, 0 when
    the tier does not apply, None (left out) when the tier applies through another provision."""
    if spec.tier not in example.tiers:
        return 0
    if any(ref_match(spec.ref, d) for d in example.deciding):
        return 1
    return None


def sentences(text: str) -> list[str]:
    """The description's sentences worth embedding on their own (four words or more)."""
    parts = [s.strip() for s in _SENTENCE_END.split(text) if len(s.split()) >= 4]
    return parts[:MAX_SENTENCES] if len(parts) > 1 else []


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def embed_cached(texts: Sequence[str], embed: Embed, *, cache_dir: Path | None,
                 model: str) -> np.ndarray:
    """Unit embeddings of ``texts``, from ``cache_dir`` when the same texts and model were
    embedded before (a file named by their hash)."""
    digest = hashlib.sha256(json.dumps([model, list(texts)]).encode()).hexdigest()[:16]
    path = cache_dir / f"examples-{digest}.npy" if cache_dir else None
    if path is not None and path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError):
            log.warning("unreadable embedding cache %s: recomputing", path)
    vectors = _unit(np.asarray(embed(list(texts)), dtype=np.float32)) if texts else np.zeros(
        (0, 384), dtype=np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)
        except OSError as exc:  # a read-only data dir only costs start-up time
            log.warning("cannot cache example embeddings in %s: %s", path.parent, exc)
    return vectors


class DenseModel:
    """Per-trigger probabilities from lexical coverage and similarity to labelled examples.

    Build with :meth:`build`; :meth:`probabilities` is then read-only (safe across threads).
    """

    def __init__(self, catalogue: Catalogue, examples: Sequence[Example], vectors: np.ndarray,
                 sentence_vectors: np.ndarray, sentence_owner: np.ndarray,
                 evidence: Sequence[Evidence], *, c: float = 1.0, threshold: float = THRESHOLD,
                 use_sentences: bool = USE_SENTENCES, max_missing: int = MAX_MISSING):
        self.catalogue = catalogue
        self.max_missing = max_missing
        self.threshold = threshold
        self.use_sentences = use_sentences
        self.examples = list(examples)
        self.vectors = vectors  # one unit row per example
        self.specs = [s for s in catalogue.triggers if s.tier in LEARNED_TIERS]
        # labels[i, j]: example i for trigger j (1, 0, or -1 when left out)
        self.labels = np.array([[-1 if (v := label(e, s)) is None else v for s in self.specs]
                                for e in self.examples], dtype=np.int8).reshape(
            len(self.examples), len(self.specs))
        self.pos = self.labels == 1
        # near misses: examples whose deciding provision is the trigger's, tier not applying
        self.neg = (self.labels == 0) & np.array(
            [[any(ref_match(s.ref, d) for d in e.deciding) for s in self.specs]
             for e in self.examples], dtype=bool).reshape(self.labels.shape)
        self.weights = self._fit(sentence_vectors, sentence_owner, evidence, c)

    @classmethod
    def build(cls, catalogue: Catalogue, examples: Sequence[Example], embed: Embed, *,
              cache_dir: Path | None = None, model: str = "", **options) -> DenseModel:
        """Embed the examples (cached) and fit the combiner on them, each example's features
        computed without itself (leave one out)."""
        texts = [e.description for e in examples]
        split = [sentences(t) if options.get("use_sentences", USE_SENTENCES) else []
                 for t in texts]
        owner = np.array([i for i, parts in enumerate(split) for _ in parts], dtype=np.int32)
        flat = [s for parts in split for s in parts]
        vectors = embed_cached(texts + flat, embed, cache_dir=cache_dir, model=model)
        evidence = [catalogue.evidence(t) for t in texts]
        return cls(catalogue, examples, vectors[:len(texts)], vectors[len(texts):], owner,
                   evidence, **options)

    # --- features -------------------------------------------------------------------------

    def _features(self, evidence: Evidence, doc: np.ndarray, sents: np.ndarray,
                  exclude: int | None) -> np.ndarray:
        """One row of FEATURES per learned trigger."""
        sims = self.vectors @ doc
        sent_sims = (self.vectors @ sents.T).max(axis=1) if len(sents) else sims
        if exclude is not None:
            sims = sims.copy()
            sims[exclude] = -1.0
            sent_sims = sent_sims.copy()
            sent_sims[exclude] = -1.0
        order = np.argsort(-sims, kind="stable")[:NEIGHBOURS]
        top = np.clip(sims[order], 0.0, None)
        rows = np.zeros((len(self.specs), len(FEATURES)), dtype=np.float64)
        for j, spec in enumerate(self.specs):
            groups = spec.all
            present = sum(evidence.has(g) for g in groups)
            frac = present / len(groups) if groups else 0.0
            pos, neg = self.pos[:, j], self.neg[:, j]
            if exclude is not None:
                pos, neg = pos.copy(), neg.copy()
                pos[exclude] = neg[exclude] = False
            pos_sims = np.sort(sims[pos])[::-1]
            rows[j] = (
                1.0,
                float(present == len(groups) and groups != ()),
                frac,
                float(bool(spec.anchor) and evidence.has(spec.anchor)),
                float(any(evidence.has(g) for g in spec.none)),
                pos_sims[0] if len(pos_sims) else 0.0,
                pos_sims[:3].mean() if len(pos_sims) else 0.0,
                sims[neg].max() if neg.any() else 0.0,
                sent_sims[pos].max() if pos.any() else 0.0,
                float((top * pos[order]).sum() / top.sum()) if top.sum() > 0 else 0.0,
                float(pos.any()),
                frac * (pos_sims[0] if len(pos_sims) else 0.0),
                float(spec.tier == "prohibited"),
                float(spec.tier == "high_risk"),
            )
        return rows

    def _fit(self, sentence_vectors: np.ndarray, owner: np.ndarray,
             evidence: Sequence[Evidence], c: float) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression

        xs, ys = [], []
        for i, ev in enumerate(evidence):
            rows = self._features(ev, self.vectors[i], sentence_vectors[owner == i], i)
            # Only triggers with partial lexical evidence are decided by the combiner.  Full
            # lexical evidence is also taken with one concept group dropped: how the example
            # would look had one concept been worded in a way the lexicons miss.
            labelled = self.labels[i] >= 0
            keep = labelled & (rows[:, 1] == 0) & (rows[:, 2] > 0)
            xs.append(rows[keep])
            ys.append(self.labels[i][keep])
            sizes = np.array([len(s.all) for s in self.specs])
            drop = labelled & (rows[:, 1] == 1) & (sizes >= 2)
            if drop.any():
                dropped = rows[drop].copy()
                n = sizes[drop]
                dropped[:, 1] = 0.0
                dropped[:, 2] = (n - 1) / n
                dropped[:, 11] = dropped[:, 2] * dropped[:, 5]
                xs.append(dropped)
                ys.append(self.labels[i][drop])
        x, y = np.vstack(xs), np.concatenate(ys)
        if len(set(y.tolist())) < 2:
            raise KbError("the assessment examples need both positive and negative cases")
        fit = LogisticRegression(C=c, fit_intercept=False, max_iter=2000, solver="lbfgs",
                                 random_state=0)
        fit.fit(x, y)
        log.info("dense combiner fitted on %d trigger-example pairs (%d positive)", len(y),
                 int(y.sum()))
        return fit.coef_[0].astype(np.float64)

    # --- use ----------------------------------------------------------------------------------

    def probabilities(self, evidence: Evidence, vectors: np.ndarray) -> dict[str, float]:
        """Trigger id → probability that its provision applies; ``vectors``: the unit
        embeddings of the description, then of its :func:`sentences`."""
        rows = self._features(evidence, vectors[0], vectors[1:], None)
        z = rows @ self.weights
        p = 1.0 / (1.0 + np.exp(-z))
        return {spec.id: float(v) for spec, v in zip(self.specs, p, strict=True)}

    def embed_description(self, text: str, embed: Embed) -> np.ndarray:
        """Unit embeddings of ``text`` and its sentences (one forward pass)."""
        parts = sentences(text) if self.use_sentences else []
        return _unit(np.asarray(embed([text, *parts]), dtype=np.float32))
