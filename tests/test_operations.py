"""What maintainers and operators do to a running system: re-index under a live assistant,
two ingests at once, a damaged catalog, oversized or hostile input, bad settings.

Real processes (``python -m ingest`` in subprocesses), the real store and model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.cli import cli as ingest_cli
from ingest.lock import Busy, writer_lock
from ingest.manifest import load_manifest
from ingest.pipeline import sync
from kb.assistant import Assistant
from kb.cli import cli as kb_cli
from kb.config import Settings
from kb.errors import BadSetting, IndexMissing
from kb.index.catalog import Catalog
from kb.index.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "corpus"
BOT = "Do I have to tell customers they're talking to a bot?"


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir),
            "KB_DATA_DIR": str(settings.data_dir), "CHROMA_HOST": "", "KB_COLLECTION": "kb",
            "KB_GENERATION_GRACE": str(settings.generation_grace), "HF_HUB_OFFLINE": "1",
            **extra}


def ingest(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=ROOT,
                          env=env_for(settings, **extra), capture_output=True, text=True,
                          timeout=600)


def guidance_copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text((FIXTURES / "guideline-excerpt.md").read_text(encoding="utf-8"),
                    encoding="utf-8")
    return path


def add_args(path: Path, doc_id: str) -> list[str]:
    return ["add", str(path), "--id", doc_id, "--title", f"Guidance {doc_id}",
            "--kind", "national_guidance"]


def indexed(settings: Settings) -> list[str]:
    catalog = Catalog(settings.catalog_path)
    try:
        return [r.document.id for r in catalog.documents()]
    finally:
        catalog.close()


# --- live re-index -------------------------------------------------------------------------


def test_a_running_assistant_follows_add_and_remove_run_in_another_process(fresh_kb,
                                                                          tmp_path):
    assistant = Assistant.open(fresh_kb)
    assert assistant.ask(BOT).citations[0].ref == "Article 50(1)"
    version = assistant.corpus_version

    added = ingest(fresh_kb, *add_args(guidance_copy(tmp_path, "nl.md"), "nl-guidance"))
    assert added.returncode == 0, added.stderr
    answer = assistant.ask(BOT)  # no restart: the assistant opened the new generation
    assert answer.citations[0].ref == "Article 50(1)"
    assert "nl-guidance" in assistant.library.documents
    assert assistant.corpus_version != version

    removed = ingest(fresh_kb, "remove", "nl-guidance")
    assert removed.returncode == 0, removed.stderr
    assert assistant.ask(BOT).citations[0].ref == "Article 50(1)"
    assert "nl-guidance" not in assistant.library.documents
    assert assistant.corpus_version == version


def test_a_question_in_flight_keeps_its_generation_for_the_grace_period(template_kb, tmp_path):
    from conftest import copy_kb

    settings = copy_kb(template_kb, tmp_path).with_(generation_grace=600)
    old = Store(settings).snapshot()
    path = settings.corpus_dir / "guideline-excerpt.md"
    path.write_text(path.read_text(encoding="utf-8").replace("(14) ", "(14) Edited. ", 1),
                    encoding="utf-8")
    report = sync(settings)
    store = Store(settings)
    assert store.generation_names() == sorted([old.collection, report.collection])
    assert [r["name"] for r in store.retired()] == [old.collection]
    # A reader that opened the old generation before the commit still gets answers from it.
    vector = [0.05] * 384
    assert old.dense.query([vector], 3)[0]
    # With no grace period the next change drops it.
    again = sync(settings.with_(generation_grace=0), rebuild=True)
    assert Store(settings).generation_names() == [again.collection]


def test_a_killed_ingest_leaves_a_collection_that_the_next_ingest_drops(fresh_kb, caplog):
    store = Store(fresh_kb)
    live = store.collection_name
    store.new_generation(source=store.snapshot())  # filled, never committed: killed
    assert len(store.generation_names()) == 2
    report = sync(fresh_kb)
    assert not report.changed
    assert Store(fresh_kb).generation_names() == [live]
    assert "left by an interrupted ingest" in caplog.text


# --- one writer at a time ------------------------------------------------------------------


def test_two_adds_started_together_both_land(fresh_kb, tmp_path):
    first = guidance_copy(tmp_path, "first.md")
    second = guidance_copy(tmp_path, "second.md")
    runs = [subprocess.Popen([sys.executable, "-m", "ingest", *add_args(path, doc_id)],
                             cwd=ROOT, env=env_for(fresh_kb), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for path, doc_id in ((first, "first-guidance"), (second, "second-guidance"))]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    ids = [d.id for d in load_manifest(fresh_kb.manifest_path)]
    assert {"first-guidance", "second-guidance"} <= set(ids)
    assert {"first-guidance", "second-guidance"} <= set(indexed(fresh_kb))
    assert (fresh_kb.corpus_dir / "national" / "first.md").exists()
    assert (fresh_kb.corpus_dir / "national" / "second.md").exists()


def test_a_second_writer_waits_or_fails_fast_naming_the_holder(fresh_kb, tmp_path):
    path = guidance_copy(tmp_path, "late.md")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from ingest.lock import writer_lock; from kb.config import Settings;"
         "lock = writer_lock(Settings.from_env()); lock.__enter__(); print('held', flush=True);"
         "time.sleep(60)"],
        cwd=ROOT, env=env_for(fresh_kb), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = ingest(fresh_kb, "--no-wait", *add_args(path, "late-guidance"))
        assert refused.returncode == 1
        assert f"another ingest is running (pid {holder.pid}, started" in refused.stderr
        with pytest.raises(Busy, match="another ingest is running"), \
                writer_lock(fresh_kb, wait=False):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert "late-guidance" not in [d.id for d in load_manifest(fresh_kb.manifest_path)]
    assert not (fresh_kb.corpus_dir / "national" / "late.md").exists()


def test_a_failed_add_leaves_neither_file_nor_manifest_entry(fresh_kb, tmp_path):
    path = guidance_copy(tmp_path, "broken-model.md")
    before = fresh_kb.manifest_path.read_text(encoding="utf-8")
    failed = ingest(fresh_kb, *add_args(path, "doomed"), KB_EMBED_MODEL=str(tmp_path / "none"))
    assert failed.returncode != 0
    assert fresh_kb.manifest_path.read_text(encoding="utf-8") == before
    assert not (fresh_kb.corpus_dir / "national" / "broken-model.md").exists()
    retried = ingest(fresh_kb, *add_args(path, "doomed"))  # nothing blocks a retry
    assert retried.returncode == 0, retried.stderr


# --- recovery ------------------------------------------------------------------------------


def test_rebuild_recovers_from_a_truncated_catalog(fresh_kb):
    data = fresh_kb.catalog_path.read_bytes()
    fresh_kb.catalog_path.write_bytes(data[:4096])
    with pytest.raises(IndexMissing, match="damaged.*python -m ingest --rebuild"):
        Assistant.open(fresh_kb)
    status = ingest(fresh_kb, "status")
    assert status.returncode == 1
    assert "Error: " in status.stderr and "Traceback" not in status.stderr
    doctor = ingest(fresh_kb, "doctor")
    assert doctor.returncode == 1
    assert "the catalog is damaged" in doctor.stdout
    assert "fix: python -m ingest --rebuild" in doctor.stdout

    rebuilt = ingest(fresh_kb, "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "moved the damaged catalog to" in rebuilt.stderr
    assert Assistant.open(fresh_kb).ask(BOT).citations[0].ref == "Article 50(1)"
    assert ingest(fresh_kb, "doctor").returncode == 0
    assert list(fresh_kb.data_dir.glob("broken-*/catalog.sqlite"))


def test_doctor_names_a_missing_collection_and_its_fix(fresh_kb):
    store = Store(fresh_kb)
    store.client.delete_collection(store.collection_name)
    result = ingest(fresh_kb, "doctor")
    assert result.returncode == 1
    assert "is missing" in result.stdout and "fix: python -m ingest --rebuild" in result.stdout


# --- limits on input -----------------------------------------------------------------------


def test_a_document_over_the_size_limit_is_refused_before_anything_is_written(fresh_kb,
                                                                              tmp_path):
    big = tmp_path / "big.md"
    big.write_text("(1) " + "word " * 260_000, encoding="utf-8")  # about 1.3 MB
    before = fresh_kb.manifest_path.read_text(encoding="utf-8")
    result = ingest(fresh_kb, *add_args(big, "big-doc"), KB_MAX_DOCUMENT_MB="1")
    assert result.returncode == 1
    assert "over the limit of 1 MB (KB_MAX_DOCUMENT_MB)" in result.stderr
    assert fresh_kb.manifest_path.read_text(encoding="utf-8") == before
    assert not (fresh_kb.corpus_dir / "national" / "big.md").exists()


def test_a_document_with_too_many_paragraphs_is_refused(fresh_kb, tmp_path):
    many = tmp_path / "many.md"
    many.write_text("\n\n".join(f"({n}) Paragraph number {n} of a long text." for n in
                                range(1, 40)), encoding="utf-8")
    result = ingest(fresh_kb, *add_args(many, "many-doc"), KB_MAX_PROVISIONS="10")
    assert result.returncode == 1
    assert "over the limit of 10 (KB_MAX_PROVISIONS)" in result.stderr


@pytest.mark.parametrize("title", ["Bad\x00title", "Two\nlines", "Bell\x07", "Tab\there"])
def test_control_characters_never_reach_the_manifest(fresh_kb, tmp_path, title):
    path = guidance_copy(tmp_path, "ctrl.md")
    env = {k: v for k, v in env_for(fresh_kb).items() if k.startswith(("KB_", "CHROMA_"))}
    result = CliRunner().invoke(ingest_cli, ["add", str(path), "--id", "ctrl-doc", "--title",
                                             title, "--kind", "guideline"], env=env)
    assert result.exit_code == 1
    assert "control character" in result.output
    text = fresh_kb.manifest_path.read_text(encoding="utf-8")
    assert "ctrl-doc" not in text
    tomllib.loads(text)
    assert ingest(fresh_kb, "status").returncode == 0


def test_the_manifest_keeps_maintainers_comments_across_add_and_remove(fresh_kb, tmp_path):
    manifest = fresh_kb.manifest_path
    text = manifest.read_text(encoding="utf-8").replace(
        'id = "eu-ai-act"', '# keep: reviewed by legal on 2026-11-01\nid = "eu-ai-act"', 1)
    manifest.write_text(text, encoding="utf-8")
    assert ingest(fresh_kb, *add_args(guidance_copy(tmp_path, "c.md"), "c-doc")).returncode == 0
    assert ingest(fresh_kb, "remove", "c-doc").returncode == 0
    assert manifest.read_text(encoding="utf-8") == text


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, value, message", [
    ("CHROMA_PORT", "abc", "CHROMA_PORT must be a whole number from 1 to 65535, got 'abc'"),
    ("KB_EMBED_PRECISION", "fp8", "KB_EMBED_PRECISION must be one of auto, float32, bfloat16"),
    ("KB_AS_OF", "yesterday", "KB_AS_OF must be a date YYYY-MM-DD, got 'yesterday'"),
    ("KB_GENERATION_GRACE", "-5", "KB_GENERATION_GRACE must be a whole number"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(BadSetting, match=message):
        Settings.from_env()
    result = CliRunner().invoke(kb_cli, ["ask", "What is a deployer?"])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
