"""The same ingest and answers against a real `chroma run` server on a loopback port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import copy_corpus, settings_for

from eval.loopback import free_port
from ingest.pipeline import sync
from kb.assistant import Assistant
from kb.errors import KbError
from kb.index.store import Store

pytestmark = pytest.mark.server


def chroma_cli() -> str:
    found = Path(sys.executable).with_name("chroma")
    assert found.exists(), f"the chroma CLI ships with chromadb; expected it at {found}"
    return str(found)


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    """A `chroma run` server on a loopback port, once it answers its heartbeat."""
    log = (path / "server.log").open("a")
    process = subprocess.Popen(
        [chroma_cli(), "run", "--path", str(path / "db"), "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"chroma run did not start: {(path / 'server.log').read_text()}")
            time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    process = start_chroma(tmp_path_factory.mktemp("chroma-server"), port)
    yield port
    stop(process)


@pytest.fixture()
def server_kb(chroma_server, tmp_path):
    return settings_for(copy_corpus(tmp_path / "corpus"), tmp_path / "data",
                        chroma_host="127.0.0.1", chroma_port=chroma_server,
                        collection=f"t{tmp_path.name[-8:].replace('_', '')}")


def test_ingest_and_ask_through_a_chroma_server(server_kb):
    report = sync(server_kb)
    assert report.added == ["eu-ai-act", "eu-ai-act-de", "eu-ai-act-fr",
                            "guidelines-ai-system-definition", "guidelines-transparency-art50"]
    assert not server_kb.chroma_dir.exists()  # vectors live in the server, not on local disk
    store = Store(server_kb)
    assert store.collection.count() == report.chunks_embedded
    answer = Assistant.open(server_kb).ask("Must our chatbot tell customers it is an AI?")
    assert answer.citations[0].ref == "Article 50(1)"
    again = sync(server_kb)
    assert not again.changed and again.collection == report.collection


def test_incremental_change_through_the_server(server_kb):
    sync(server_kb)
    path = server_kb.corpus_dir / "guideline-excerpt.md"
    path.write_text(path.read_text(encoding="utf-8").replace("(14) ", "(14) Edited. ", 1),
                    encoding="utf-8")
    report = sync(server_kb)
    assert report.replaced == ["guidelines-transparency-art50"]
    assert report.chunks_copied > 0
    assert Store(server_kb).generation_names() == [report.collection]
    shutil.rmtree(server_kb.corpus_dir)


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = settings_for(tmp_path / "corpus", tmp_path / "data", chroma_host="127.0.0.1",
                            chroma_port=free_port())
    with pytest.raises(KbError, match="cannot reach the Chroma server at http://127.0.0.1:"):
        Store(settings).client  # noqa: B018


def test_the_assistant_survives_a_chroma_server_restart(tmp_path):
    """Between two questions the server goes away and comes back: the question asked while it
    is down gets a one-line error, the next one after the restart an answer."""
    port = free_port()
    (tmp_path / "server").mkdir()
    server = start_chroma(tmp_path / "server", port)
    settings = settings_for(copy_corpus(tmp_path / "corpus"), tmp_path / "data",
                            chroma_host="127.0.0.1", chroma_port=port)
    try:
        sync(settings)
        assistant = Assistant.open(settings)
        assert assistant.ask("Must our chatbot tell customers it is an AI?").citations[0].ref \
            == "Article 50(1)"
        stop(server)
        with pytest.raises(KbError, match="cannot reach the Chroma server at http://127.0.0.1:"):
            assistant.ask("What is a deployer?")
        server = start_chroma(tmp_path / "server", port)
        answer = assistant.ask("Must our chatbot tell customers it is an AI?")
        assert answer.citations[0].ref == "Article 50(1)"
    finally:
        stop(server)
