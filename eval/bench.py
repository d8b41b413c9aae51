"""Benchmarks (numbers for notes and the CHANGELOG, never asserted in tests).

    python -m eval.bench ingest   # full ingest wall time, chunks/s, peak RSS, no-op re-ingest
    python -m eval.bench ask      # warm ask p50/p95, batch of 150 with start-up, 100k-chunk scale
    python -m eval.bench assess   # warm assess p50/p95, batch of 300 with start-up, ask overhead
    python -m eval.bench api      # HTTP /ask vs in-process ask, 10 clients vs 1, start-up
    python -m eval.bench register # list/filter a register of 1,000 systems, recheck 100
    python -m eval.bench languages  # German/French ask: cold first question, warm p50 vs English
    python -m eval.bench live     # the app: generation check, first question, 10 sessions at once

Each run works on copies in a temporary directory; the index in KB_DATA_DIR is only read.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import click
import numpy as np

from eval.loopback import free_port
from kb.assistant import Assistant
from kb.config import Settings
from kb.index.catalog import CatalogContent
from kb.index.store import Store
from kb.records import StoredChunk

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def _env(settings: Settings, **extra: str) -> dict:
    return {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir),
            "KB_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1", **extra}


def _timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def _questions(n: int | None = None) -> list[str]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:n]


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


@click.group()
def cli() -> None:
    """Benchmarks of ingest and answering on this machine."""


@cli.command()
def ingest() -> None:
    """Full ingest into a fresh directory, then a no-op re-ingest."""
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = settings.with_(data_dir=Path(tmp) / "data", chroma_host="")
        seconds, out = _timed([sys.executable, "-m", "ingest"], _env(fresh))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        documents = json.loads(
            _timed([sys.executable, "-m", "ingest", "status", "--json"], _env(fresh))[1]
        )["documents"]
        chunks = sum(d["chunks"] for d in documents if not d.get("translation_of"))
        catalog_only = sum(d["chunks"] for d in documents if d.get("translation_of"))
        noop, _ = _timed([sys.executable, "-m", "ingest"], _env(fresh))
    versions = f" + {catalog_only} catalog-only chunks of language versions" if catalog_only else ""
    click.echo(f"full ingest: {seconds:.1f} s for {chunks} chunks "
               f"({chunks / seconds:.1f} chunks/s){versions}, peak RSS {peak_mb:.0f} MB")
    click.echo(f"no-op re-ingest (process start to exit): {noop:.1f} s")
    click.echo("targets: full ingest <= 120 s, no-op <= 5 s, peak RSS <= 2048 MB")


def _warm_latency(assistant: Assistant, questions: list[str]) -> tuple[float, float]:
    for q in questions[:5]:
        assistant.ask(q)
    times = []
    for q in questions:
        started = time.perf_counter()
        assistant.ask(q)
        times.append((time.perf_counter() - started) * 1000)
    return _percentiles(times)


def _versus_baseline(assistant: Assistant, questions: list[str]) -> tuple[float, float]:
    """Warm p50 of the product's ``ask`` and of the naive baseline's query (one dense
    llama-index retrieval, :mod:`eval.baseline`), taken in turns on each question so that
    both see the same machine load."""
    from eval.baseline import Baseline
    from eval.runner import EVAL_AS_OF

    baseline = Baseline.build(assistant, as_of=EVAL_AS_OF)
    for q in questions[:5]:
        baseline.retrieve(q, top_k=10)
    product, naive = [], []
    for q in questions:
        started = time.perf_counter()
        assistant.ask(q)
        product.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        baseline.retrieve(q, top_k=10)
        naive.append((time.perf_counter() - started) * 1000)
    return statistics.median(product), statistics.median(naive)


def _add_synthetic(settings: Settings, count: int, dim: int = 384, batch: int = 5000) -> None:
    """Commit a generation with the live vectors plus ``count`` random unit vectors of a
    fake document (they are not in the catalog, so answers never cite them)."""
    store = Store(settings)
    live = store.snapshot()
    content = CatalogContent.read(live.catalog)
    rng = np.random.default_rng(7)
    with store.new_generation(source=live) as generation:
        for doc_id in content.chunks:
            generation.copy_from(doc_id)
        for start in range(0, count, batch):
            n = min(batch, count - start)
            vectors = rng.normal(size=(n, dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            chunks = [StoredChunk(f"synthetic:{start + i}", "synthetic", f"Synthetic {start + i}",
                                  0, None, None, f"synthetic chunk {start + i}", "", "")
                      for i in range(n)]
            generation.add(chunks, {}, vectors.tolist())
        generation.commit(content)


def _copy_index(source: Settings, target: Settings) -> None:
    """Copy the live generation of one store into another (e.g. a Chroma server)."""
    live = Store(source).snapshot()
    with Store(target).new_generation(source=live) as generation:
        content = CatalogContent.read(live.catalog)
        for doc_id in content.chunks:
            generation.copy_from(doc_id)
        generation.commit(content)


def _start_server(path: Path, port: int) -> subprocess.Popen:
    chroma = str(Path(sys.executable).with_name("chroma"))
    process = subprocess.Popen([chroma, "run", "--path", str(path), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("chroma run did not start")


def _scale(settings: Settings, questions: list[str], label: str, count: int) -> None:
    base = Assistant.open(settings)
    p50, p95 = _warm_latency(base, questions)
    _add_synthetic(settings, count)
    bigger = Assistant.open(settings)
    q50, q95 = _warm_latency(bigger, questions)
    click.echo(f"{label}: warm ask p50 {p50:.0f} ms / p95 {p95:.0f} ms; with {count:,} synthetic "
               f"chunks p50 {q50:.0f} ms / p95 {q95:.0f} ms ({q50 / p50:.2f}x; target <= 2x)")


@cli.command()
@click.option("--synthetic", default=100_000, show_default=True, help="Synthetic chunks to add.")
def ask(synthetic: int) -> None:
    """Warm ask latency, batch mode with start-up, and the 100k-chunk scale test."""
    settings = Settings.from_env()
    questions = _questions()
    assistant = Assistant.open(settings)
    p50, p95 = _warm_latency(assistant, questions)
    click.echo(f"warm ask over {len(questions)} eval questions: p50 {p50:.0f} ms, "
               f"p95 {p95:.0f} ms (targets 40 / 80 ms)")
    product, naive = _versus_baseline(assistant, questions)
    click.echo(f"same run, alternating question by question: product p50 {product:.1f} ms, "
               f"naive llama-index baseline p50 {naive:.1f} ms ({product / naive:.2f}x; "
               "target <= 2x)")
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "questions.txt"
        batch.write_text("\n".join(_questions(150)) + "\n", encoding="utf-8")
        seconds, _ = _timed([sys.executable, "-m", "kb", "ask", "--batch", str(batch), "--json"],
                            _env(settings))
        click.echo(f"batch of 150 questions including start-up: {seconds:.1f} s (target 20 s)")

        local = settings.with_(data_dir=Path(tmp) / "local")
        shutil.copytree(settings.data_dir, local.data_dir,
                        ignore=shutil.ignore_patterns("eval-baseline", "feedback.sqlite"))
        _scale(local, questions[:60], "embedded store", synthetic)

        port = free_port()
        server = _start_server(Path(tmp) / "server-db", port)
        try:
            remote = settings.with_(data_dir=Path(tmp) / "remote", chroma_host="127.0.0.1",
                                    chroma_port=port)
            remote.data_dir.mkdir()
            _copy_index(settings, remote)
            _scale(remote, questions[:60], "chroma run server", synthetic)
        finally:
            server.terminate()
            server.wait(timeout=30)


SYSTEMS = ROOT / "eval" / "systems.jsonl"


@cli.command()
@click.option("--batch-size", default=300, show_default=True, help="Descriptions in the batch.")
def assess(batch_size: int) -> None:
    """Warm assess latency, a batch with start-up, and what detection adds to ask."""
    from kb.obligations.assess import describes_system

    settings = Settings.from_env()
    rows = [json.loads(line) for line in SYSTEMS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    descriptions = [row["description"] for row in rows]
    assistant = Assistant.open(settings)
    assistant.assess(descriptions[0])  # warm: catalogue, date table, regexes, dense combiner
    from kb.obligations.dense import DenseModel, load_examples
    from kb.obligations.triggers import default_triggers

    started = time.perf_counter()
    DenseModel.build(default_triggers(), load_examples(), assistant.embed, cache_dir=None)
    click.echo(f"dense combiner fitted without the embedding cache (first start-up): "
               f"{time.perf_counter() - started:.1f} s")
    times = []
    for text in descriptions:
        started = time.perf_counter()
        assistant.assess(text)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = _percentiles(times)
    click.echo(f"warm assess over {len(descriptions)} descriptions: p50 {p50:.1f} ms, "
               f"p95 {p95:.1f} ms (target p50 80 ms)")
    questions = _questions()
    started = time.perf_counter()
    detected = sum(describes_system(q) for q in questions)
    per_question = (time.perf_counter() - started) * 1000 / len(questions)
    click.echo(f"system-question detection on {len(questions)} eval questions: "
               f"{per_question * 1000:.0f} µs each, {detected} detected as system descriptions "
               "(ask grows by this for other questions; target 10 ms)")
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "systems.jsonl"
        lines = [json.dumps({"description": descriptions[i % len(descriptions)]})
                 for i in range(batch_size)]
        batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
        seconds, out = _timed([sys.executable, "-m", "kb", "assess", "--batch", str(batch),
                               "--json"], _env(settings))
        errors = sum('"error"' in line for line in out.splitlines())
        click.echo(f"batch of {batch_size} descriptions including start-up: {seconds:.1f} s, "
                   f"{errors} errors (target 60 s)")
# --- the HTTP API (issue 15) --------------------------------------------------------------------

def _wait_for_first_answer(url: str, question: str, process: subprocess.Popen) -> float:
    """Seconds from now until the server at ``url`` answers ``question``."""
    import httpx

    started = time.perf_counter()
    while True:
        try:
            response = httpx.post(f"{url}/ask", json={"question": question}, timeout=120)
            response.raise_for_status()
            return time.perf_counter() - started
        except httpx.TransportError:
            if process.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("python -m kb serve did not start") from None
            time.sleep(0.05)


def _timings(ask, questions: list[str]) -> list[float]:
    """Milliseconds of ``ask(q)`` for each question."""
    times = []
    for q in questions:
        started = time.perf_counter()
        ask(q)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _throughput(url: str, questions: list[str], clients: int) -> tuple[float, int]:
    """Answers per second with ``clients`` concurrent keep-alive clients, and the errors."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    def run(share: list[str]) -> int:
        errors = 0
        with httpx.Client(base_url=url, timeout=120) as client:
            for q in share:
                try:
                    errors += client.post("/ask", json={"question": q}).status_code != 200
                except httpx.HTTPError:
                    errors += 1
        return errors

    shares = [questions[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        errors = sum(pool.map(run, shares))
    return len(questions) / (time.perf_counter() - started), errors


@cli.command()
@click.option("--count", default=60, show_default=True,
              help="Eval questions per latency and throughput measurement.")
@click.option("--clients", default=10, show_default=True, help="Concurrent clients.")
@click.option("--rounds", default=3, show_default=True,
              help="Alternated rounds of each latency and throughput measurement.")
@click.option("--workers", default=2, show_default=True, help="python -m kb serve --workers.")
def api(count: int, clients: int, rounds: int, workers: int) -> None:
    """HTTP /ask against in-process ask (same run), throughput, start-up to first answer."""
    import httpx

    from kb.serve.shared import passive_openmp

    passive_openmp()  # the in-process side runs with the server's OpenMP setting
    settings = Settings.from_env()
    questions = _questions(count)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "kb", "serve", "--port", str(port),
                               "--workers", str(workers)],
                              cwd=ROOT, env=_env(settings), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait_for_first_answer(url, questions[0], server)
        startup = time.perf_counter() - started
        assistant = Assistant.open(settings)
        local, remote = [], []
        with httpx.Client(base_url=url, timeout=120) as client:
            for q in questions[:5]:  # warm both
                assistant.ask(q)
                client.post("/ask", json={"question": q})
            # Alternate whole blocks (A B A B) so that a change in background load hits both;
            # not question by question, since each process's torch threads spin a while after
            # a forward pass and would slow the other's next question.
            for _ in range(rounds):
                local += _timings(assistant.ask, questions)
                remote += _timings(lambda q: client.post(
                    "/ask", json={"question": q}).raise_for_status(), questions)
        del assistant
        ones, manys = [], []
        for _ in range(rounds):  # alternated, so a change in background load hits both
            ones.append(_throughput(url, questions, 1))
            manys.append(_throughput(url, questions, clients))
    finally:
        server.terminate()
        server.wait(timeout=30)
    p50_local, p50_http = statistics.median(local), statistics.median(remote)
    overhead = statistics.median(r - lo for r, lo in zip(remote, local, strict=True))
    click.echo(f"{len(questions)} eval questions x {rounds} alternated rounds: in-process ask "
               f"p50 {p50_local:.1f} ms, HTTP /ask p50 {p50_http:.1f} ms; difference "
               f"{p50_http - p50_local:+.1f} ms (median per question {overhead:+.1f} ms; target "
               "within 10 ms)")
    one = statistics.median(rate for rate, _ in ones)
    many = statistics.median(rate for rate, _ in manys)
    errors = sum(e for _, e in ones + manys)
    pairs = " ".join(f"{a:.1f}/{b:.1f}" for (a, _), (b, _) in zip(ones, manys, strict=True))
    click.echo(f"throughput (median of {rounds} alternated rounds of {len(questions)} questions): "
               f"1 client {one:.1f} answers/s, {clients} clients {many:.1f} answers/s: "
               f"{many / one:.2f}x (target >= 1.5x) on {os.cpu_count()} cores; {errors} errors "
               f"(target 0); rounds (1/{clients}): {pairs}")
    click.echo(f"{workers} server process(es); load average at the end: "
               f"{os.getloadavg()[0]:.1f} (other processes share these cores)")
    click.echo(f"start-up to first answer (process start, index, model, warm-up, first /ask): "
               f"{startup:.1f} s (target <= 10 s)")


def _fill_register(register, assistant, rows: list[dict], count: int, as_of: str) -> float:
    """Add ``count`` systems (descriptions of eval/systems.jsonl, repeated); seconds taken."""
    teams = ["CX Care", "Credit", "Claims", "Marketing", "HR", "IT", "Sales", "Fraud"]
    started = time.perf_counter()
    for i in range(count):
        row = rows[i % len(rows)]
        register.add(name=f"System {i + 1} ({row['id']})", description=row["description"],
                     owner=teams[i % len(teams)], by="bench", as_of=as_of,
                     use=("planned", "pilot", "live")[i % 3])
    return time.perf_counter() - started


@cli.command()
@click.option("--systems", "count", default=1000, show_default=True,
              help="Systems in the register that is listed and filtered.")
@click.option("--recheck", "recheck_count", default=100, show_default=True,
              help="Systems in the register that is rechecked.")
def register(count: int, recheck_count: int) -> None:
    """List and filter a register of 1,000 systems; recheck 100 (cold and warm)."""
    from kb.register import Register

    settings = Settings.from_env()
    rows = [json.loads(line) for line in SYSTEMS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    assistant = Assistant.open(settings)
    today = assistant.default_as_of()
    with tempfile.TemporaryDirectory() as tmp:
        big = Register(Path(tmp) / "big.sqlite", assessor=assistant, as_of=today)
        seconds = _fill_register(big, assistant, rows, count, today)
        click.echo(f"added {count} systems (assess + one transaction each): {seconds:.1f} s")
        filters = {"all": {}, "tier=high_risk": {"tier": "high_risk"},
                   "status=draft": {"status": "draft"}, "owner=claims": {"owner": "claims"},
                   "use=live": {"use": "live"}, "search 'credit'": {"search": "credit"},
                   "needs review": {"needs_review": True}}
        for label, options in filters.items():
            times, found = [], 0
            for _ in range(21):
                started = time.perf_counter()
                found = len(big.list(**options))
                times.append((time.perf_counter() - started) * 1000)
            p50, p95 = _percentiles(times)
            click.echo(f"list {label:<16} {found:>5} rows: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                       "(target 200 ms)")

        from kb.register.export import to_csv, to_json

        started = time.perf_counter()
        to_csv([big.get(s.id) for s in big.list()])
        csv_s = time.perf_counter() - started
        started = time.perf_counter()
        backup = to_json(big)
        click.echo(f"export {count} systems: CSV {csv_s:.1f} s, JSON backup "
                   f"{time.perf_counter() - started:.1f} s ({len(backup) / 2**20:.1f} MB)")

        path = Path(tmp) / "recheck.sqlite"
        # Assessed on 1 January 2026, so rechecking today changes many (Article 50 and
        # Chapter III dates have passed): the run writes as well as reads.
        filler = Register(path, assessor=assistant, as_of=today)
        _fill_register(filler, assistant, rows, recheck_count, "2026-01-01")
        started = time.perf_counter()
        cold = Register(path, assessor=lambda: Assistant.open(settings), as_of=today)
        report = cold.recheck()  # opens a fresh knowledge base first, as the CLI does
        cold_s = time.perf_counter() - started
        click.echo(f"recheck {report.checked} systems, opening the knowledge base first: "
                   f"{cold_s:.1f} s, {len(report.flagged)} flagged (target 15 s)")
        report = filler.recheck()
        click.echo(f"recheck {report.checked} systems again, warm (nothing new): "
                   f"{report.seconds:.1f} s, {len(report.flagged)} flagged, "
                   f"{len(report.still_flagged)} still flagged")
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@cli.command()
@click.option("--rounds", default=3, show_default=True, help="Alternated rounds per language.")
def languages(rounds: int) -> None:
    """German/French ask: first question (cold), warm p50 paired with English, memory."""
    settings = Settings.from_env()
    assistant = Assistant.open(settings)
    assistant.warm_up()  # English: model, BM25, answerer
    english = _questions()
    for lang in ("de", "fr"):
        path = ROOT / "eval" / f"questions_{lang}.jsonl"
        asked = [json.loads(line)["question"] for line in
                 path.read_text(encoding="utf-8").splitlines() if line.strip()]
        before = _rss_mb()
        started = time.perf_counter()
        assistant.ask(asked[0])
        cold = time.perf_counter() - started
        click.echo(f"{lang}: first question after English warm-up {cold:.1f} s (builds the "
                   f"bridge, alignment, BM25 and word statistics); peak RSS "
                   f"+{_rss_mb() - before:.0f} MB")
        mine, theirs = [], []
        for _ in range(rounds):  # alternated, so a change in background load hits both
            for q, e in zip(asked, english, strict=False):
                mine.append(assistant.ask(q).timing_ms)
                theirs.append(assistant.ask(e).timing_ms)
        p50, p95 = _percentiles(mine)
        e50, e95 = _percentiles(theirs)
        click.echo(f"{lang}: warm p50 {p50:.0f} ms / p95 {p95:.0f} ms vs English p50 {e50:.0f} "
                   f"ms / p95 {e95:.0f} ms over {len(mine)} pairs: x{p50 / e50:.2f} "
                   "(target <= 1.5)")
    click.echo(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share "
               "these cores)")


from eval.bench_live import live  # noqa: E402 - the running app's numbers (issue 11)

cli.add_command(live)

if __name__ == "__main__":
    cli()
