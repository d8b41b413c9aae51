"""Shared fixtures: a small real corpus indexed once per run with the real model and a
real Chroma, and the full corpus (``@pytest.mark.corpus``) indexed in ``KB_DATA_DIR``.

Tests that change a corpus or an index copy the fixture corpus into their own temporary
directory first (``fresh_kb``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.pipeline import sync  # noqa: E402
from kb.assistant import Assistant  # noqa: E402
from kb.config import Settings  # noqa: E402

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
ROOT = Path(__file__).resolve().parent.parent


def settings_for(corpus_dir: Path, data_dir: Path, **changes) -> Settings:
    """Settings for a test corpus/index, ignoring the caller's KB_* environment."""
    base = Settings.from_env()
    return base.with_(corpus_dir=corpus_dir, data_dir=data_dir, chroma_host="",
                      collection="kb", as_of="", **changes)


def copy_corpus(target: Path) -> Path:
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def small_kb(tmp_path_factory) -> Settings:
    """The fixture corpus, indexed once per test run (read-only for tests)."""
    root = tmp_path_factory.mktemp("small-kb")
    settings = settings_for(copy_corpus(root / "corpus"), root / "data")
    sync(settings)
    return settings


@pytest.fixture(scope="session")
def assistant(small_kb) -> Assistant:
    return Assistant.open(small_kb)


@pytest.fixture()
def fresh_kb(small_kb, tmp_path) -> Settings:
    """A private copy of the indexed fixture corpus that a test may change."""
    shutil.copytree(small_kb.corpus_dir, tmp_path / "corpus")
    shutil.copytree(small_kb.data_dir, tmp_path / "data")
    return settings_for(tmp_path / "corpus", tmp_path / "data")


@pytest.fixture(scope="session")
def full_kb() -> Settings:
    """The real corpus indexed in KB_DATA_DIR (built by `make test` first; synced here)."""
    settings = Settings.from_env().with_(as_of="")
    sync(settings)
    return settings


@pytest.fixture(scope="session")
def full_assistant(full_kb) -> Assistant:
    return Assistant.open(full_kb)
