"""One writer at a time: an inter-process lock on the corpus and the index.

Every change (sync, ``add``, ``remove``, ``--rebuild``, the app's admin actions) runs inside
:func:`writer_lock`, a lock file under ``KB_DATA_DIR``.  A second writer waits, saying who
holds the lock, or fails at once with ``wait=False``.  Readers never take it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from kb.config import Settings
from kb.errors import KbError

log = logging.getLogger(__name__)

# One FileLock object per path and process, so that nested use in one process re-enters it
# (a sync inside an `add`) instead of waiting for itself.
_LOCKS: dict[Path, FileLock] = {}


class Busy(KbError):
    """Another writer holds the lock and the caller chose not to wait."""


def lock_path(settings: Settings) -> Path:
    return settings.data_dir / "ingest.lock"


def holder(settings: Settings) -> str:
    """Who holds the lock, as "pid N, started HH:MM" ("" if unknown)."""
    try:
        info = json.loads(lock_path(settings).with_suffix(".owner").read_text(encoding="utf-8"))
        return f"pid {info['pid']}, started {info['started'][11:16]}"
    except (OSError, ValueError, KeyError):
        return ""


@contextmanager
def writer_lock(settings: Settings, *, wait: bool = True,
                waiting: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the writer lock for the block.

    ``waiting`` is told once, with a one-line message, when another writer holds it.
    """
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _LOCKS.setdefault(path, FileLock(str(path), thread_local=False))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = holder(settings) or "unknown process"
        if not wait:
            raise Busy(
                f"another ingest is running ({who}); try again when it has finished") from None
        message = f"another ingest is running ({who}); waiting…"
        log.warning(message)
        if waiting:
            waiting(message)
        lock.acquire()
    owner = path.with_suffix(".owner")
    outermost = lock.lock_counter == 1
    if outermost:
        owner.write_text(json.dumps({"pid": os.getpid(),
                                     "started": datetime.now().isoformat(timespec="seconds")}),
                         encoding="utf-8")
    try:
        yield
    finally:
        if outermost:
            owner.unlink(missing_ok=True)
        lock.release()
