"""Processes on loopback ports, for the benchmarks and the tests: a free port, and
``streamlit run app.py`` over an index, stopped when the block ends."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from kb.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_app(settings: Settings, log_path: Path, *, seconds: float = 90.0,
                  **env: str) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port over the corpus and index of
    ``settings`` (``env`` adds or overrides variables); yields its URL once its health
    endpoint answers (within ``seconds``), stops it after."""
    port = free_port()
    variables = {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir),
                 "KB_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1",
                 "PYTHONPATH": str(ROOT), **env}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=variables, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, seconds)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_healthy(url: str, process: subprocess.Popen, seconds: float) -> None:
    """Poll Streamlit's health endpoint until it answers "ok"."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"streamlit did not become healthy at {url} within {seconds:.0f} s")
