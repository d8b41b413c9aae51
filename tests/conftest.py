"""Shared fixtures: a small real corpus indexed once per run with the real model and a
real Chroma, and the full corpus (``@pytest.mark.corpus``) indexed in ``KB_DATA_DIR``.

Tests that change a corpus or an index copy the fixture corpus into their own temporary
directory first (``fresh_kb``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.pipeline import sync  # noqa: E402
from kb.assistant import Assistant  # noqa: E402
from kb.config import Settings  # noqa: E402

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
ROOT = Path(__file__).resolve().parent.parent


def settings_for(corpus_dir: Path, data_dir: Path, **changes) -> Settings:
    """Settings for a test corpus/index, ignoring the caller's KB_* environment.

    Replaced generations are dropped at once (no grace period) unless a test asks for one.
    """
    options = {"chroma_host": "", "collection": "kb", "as_of": "", "generation_grace": 0,
               **changes}
    return Settings.from_env().with_(corpus_dir=corpus_dir, data_dir=data_dir, **options)


def copy_corpus(target: Path) -> Path:
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


def index_in_subprocess(settings: Settings) -> None:
    """Build an index with ``python -m ingest`` in a child process, so that every Chroma
    file is flushed and closed when it exits and the directory can be copied safely."""
    env = {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir),
           "KB_DATA_DIR": str(settings.data_dir), "CHROMA_HOST": "", "KB_COLLECTION": "kb",
           "KB_GENERATION_GRACE": str(settings.generation_grace)}
    subprocess.run([sys.executable, "-m", "ingest"], cwd=ROOT, env=env, check=True,
                   capture_output=True)


@pytest.fixture(scope="session")
def template_kb(tmp_path_factory) -> Settings:
    """The fixture corpus indexed once per run; never opened in this process (only copied)."""
    root = tmp_path_factory.mktemp("template-kb")
    settings = settings_for(copy_corpus(root / "corpus"), root / "data")
    index_in_subprocess(settings)
    return settings


def copy_kb(template: Settings, target: Path) -> Settings:
    shutil.copytree(template.corpus_dir, target / "corpus")
    shutil.copytree(template.data_dir, target / "data")
    return settings_for(target / "corpus", target / "data")


@pytest.fixture(scope="session")
def small_kb(template_kb, tmp_path_factory) -> Settings:
    """The indexed fixture corpus, shared read-only by the tests."""
    return copy_kb(template_kb, tmp_path_factory.mktemp("small-kb"))


@pytest.fixture(scope="session")
def assistant(small_kb) -> Assistant:
    return Assistant.open(small_kb)


@pytest.fixture()
def fresh_kb(template_kb, tmp_path) -> Settings:
    """A private copy of the indexed fixture corpus that a test may change."""
    return copy_kb(template_kb, tmp_path)


@pytest.fixture(scope="session")
def full_kb() -> Settings:
    """The real corpus indexed in KB_DATA_DIR (built by `make test` first; synced here)."""
    settings = Settings.from_env().with_(as_of="")
    sync(settings)
    return settings


@pytest.fixture(scope="session")
def full_assistant(full_kb) -> Assistant:
    return Assistant.open(full_kb)
