"""``python -m eval.train_adapter``: train the query adapter (``kb/search/adapter.npz``).

In: the index (its chunks and their stored vectors), the obligations catalogue and the
embedding model.  Training pairs come from the corpus's structure and the team's catalogue,
never from evaluation questions:

- each catalogue obligation's CX examples and title → the chunks of its refs;
- each article's title → the article's chunks;
- "What is <term>?" → the chunk of the term's definition.

Out: a square matrix W, trained so that a pair's question vector times W is closer (softmax
over every chunk, temperature 0.05) to its chunks than to the rest, with a penalty keeping W
near the identity.  Deterministic: same index and seed, same matrix (rounded to 6 decimals).
``--check`` reports how often the right article is among the first dense hits, with and
without the adapter, on a question file (it never trains on it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from eval.metrics import article_match
from kb.assistant import Assistant
from kb.config import Settings
from kb.console import configure_logging, verbose_option
from kb.index.embeddings import embed_queries
from kb.obligations.catalogue import load_catalogue
from kb.search.adapter import ADAPTER_PATH, QueryAdapter
from kb.search.retrieval import Retriever, parents_of

log = logging.getLogger(__name__)
SEED = 7
PENALTY = 0.01  # weight of ||W - I||², chosen on eval/questions.jsonl (dense hit@1 and @5)
STEPS = 200
TEMPERATURE = 0.05


def training_pairs(retriever: Retriever, catalogue,
                   ids: Sequence[str]) -> list[tuple[str, list[int]]]:
    """(question text, row numbers of the chunks it should find) from the corpus itself."""
    rows_of: dict[str, list[int]] = {}
    for row, chunk_id in enumerate(ids):
        chunk = retriever.chunks.get(chunk_id)
        for ref in parents_of(chunk.ref) if chunk else ():
            rows_of.setdefault(ref, []).append(row)
    pairs: list[tuple[str, list[int]]] = []
    for spec in catalogue:
        rows = [row for ref in spec.refs for row in rows_of.get(ref, [])]
        if rows:
            pairs += [(text, rows) for text in [*spec.cx_examples, spec.title]]
    titles: dict[str, list[int]] = {}
    for row, chunk_id in enumerate(ids):
        chunk = retriever.chunks.get(chunk_id)
        provision = retriever.library.version(chunk.ref, None) if chunk else None
        whole = retriever.library.article(provision) if provision else None
        if whole is not None and whole.title:
            titles.setdefault(whole.title, []).append(row)
        if provision is not None and provision.term:
            pairs.append((f"What is {provision.term}?", [row]))
    pairs += sorted(titles.items())
    return pairs


def train(queries: np.ndarray, targets: Sequence[Sequence[int]], passages: np.ndarray, *,
          penalty: float = PENALTY, steps: int = STEPS, seed: int = SEED,
          progress=None) -> np.ndarray:
    """The matrix W (float64, rounded to 6 decimals) that maps ``queries`` (unit rows)
    towards their ``targets`` rows of ``passages`` (unit rows)."""
    import torch

    torch.manual_seed(seed)
    q = torch.tensor(queries, dtype=torch.float32)
    e = torch.tensor(passages, dtype=torch.float32)
    wanted = torch.zeros(len(targets), len(passages))
    for k, rows in enumerate(targets):
        wanted[k, list(rows)] = 1.0 / len(rows)
    eye = torch.eye(q.shape[1])
    w = torch.nn.Parameter(eye.clone())
    optimiser = torch.optim.Adam([w], lr=1e-3)
    for step in range(steps):
        z = torch.nn.functional.normalize(q @ w, dim=1)
        loss = -(wanted * torch.log_softmax(z @ e.T / TEMPERATURE, dim=1)).sum(1).mean() \
            + penalty * ((w - eye) ** 2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if progress:
            progress(step + 1, steps)
    return w.detach().numpy().astype(np.float64).round(6)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def build(assistant: Assistant, *, penalty: float = PENALTY, steps: int = STEPS,
          progress=None) -> QueryAdapter:
    """Train the adapter on the index ``assistant`` reads."""
    retriever = assistant.retriever
    ids, passages = retriever.snapshot.dense.vectors()
    pairs = training_pairs(retriever, load_catalogue(), ids)
    queries = np.asarray(embed_queries(retriever.embedder, [text for text, _ in pairs]),
                         dtype=np.float64)
    matrix = train(_unit(queries), [rows for _, rows in pairs], _unit(passages),
                   penalty=penalty, steps=steps, progress=progress)
    summary = (f"{len(pairs)} pairs (catalogue, article titles, definitions) over "
               f"{len(ids)} chunks; penalty {penalty}, {steps} steps, seed {SEED}")
    return QueryAdapter(matrix, assistant.settings.embed_model, summary)


def dense_hits(assistant: Assistant, path: Path, adapter: QueryAdapter | None,
               ks: Sequence[int] = (1, 5, 20)) -> dict[str, float]:
    """Share of questions whose gold article is among the first k dense hits (distinct refs)."""
    retriever = assistant.retriever
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows = [r for r in rows if r.get("gold")]
    vectors = embed_queries(retriever.embedder, [r["question"] for r in rows])
    if adapter is not None:
        vectors = adapter.apply(vectors)
    found = retriever.snapshot.dense.query(vectors, 200)
    hits = dict.fromkeys(ks, 0)
    for row, pairs in zip(rows, found, strict=True):
        refs = list(dict.fromkeys(retriever.chunks[i].ref for i, _ in pairs
                                  if i in retriever.chunks))
        for k in ks:
            hits[k] += any(article_match(ref, g) for ref in refs[:k] for g in row["gold"])
    return {f"hit@{k}": round(v / max(len(rows), 1), 3) for k, v in hits.items()}


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=ADAPTER_PATH,
              show_default="kb/search/adapter.npz", help="Where to write the adapter.")
@click.option("--check", "check_paths", type=click.Path(exists=True, dir_okay=False,
                                                          path_type=Path), multiple=True,
              help="Question files to report dense hits on, with and without the adapter.")
@click.option("--penalty", default=PENALTY, show_default=True, type=float,
              help="Weight of the pull towards the identity.")
@verbose_option
def cli(out: Path, check_paths: tuple[Path, ...], penalty: float, verbose: int) -> None:
    """Train the query adapter and write kb/search/adapter.npz.

    Example: python -m eval.train_adapter --check eval/questions_heldout.jsonl
    """
    from tqdm import tqdm

    settings = Settings.from_env()
    configure_logging(verbose, settings.log_level)
    assistant = Assistant.open(settings.with_(as_of=""))
    with tqdm(total=STEPS, desc="training", unit="step") as bar:
        adapter = build(assistant, penalty=penalty,
                        progress=lambda done, total: bar.update(1))
    adapter.save(out)
    click.echo(f"wrote {out}: {adapter.trained_on}")
    for path in check_paths:
        click.echo(f"{path.name}: plain {dense_hits(assistant, path, None)}")
        click.echo(f"{path.name}: adapted {dense_hits(assistant, path, adapter)}")


if __name__ == "__main__":
    cli()
