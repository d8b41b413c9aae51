"""Evaluate the assessment engine on labelled system descriptions (``eval/systems.jsonl``).

In: an :class:`kb.Assistant` and the cases (format in ``eval/SYSTEMS.md``); out: the
``assessment`` section of the eval report: accuracy, per-tier precision/recall/F1,
macro-F1, unclear rate, "deciding ref found", CX / near-miss breakdowns, the fixed tuning
and held-back parts of the set, and every miss.  The metrics are pure functions.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError
from kb.jsonlines import parse_lines, read_lines
from kb.law.refs import ref_match

EVAL_DIR = Path(__file__).resolve().parent
SYSTEMS_PATH = EVAL_DIR / "systems.jsonl"
SYSTEMS_AS_OF = "2026-12-15"  # the date the set's labels were written for (eval/SYSTEMS.md)
TIERS = ("prohibited", "high_risk", "limited", "minimal")
HELD_BACK_SHARE = 3  # in tenths: the fixed part of the set never looked at while tuning

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled description."""

    id: str
    description: str
    role: str | None
    facts: dict
    as_of: str | None
    risk_level: str
    tiers: tuple[str, ...]
    deciding: tuple[str, ...]
    cx: bool = False
    near_miss: bool = False

    @property
    def held_back(self) -> bool:
        """The fixed ~30 % kept out of tuning: chosen by a hash of the id, not by content."""
        return int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % 10 < HELD_BACK_SHARE


@dataclass(frozen=True, slots=True)
class Result:
    """What the engine said about one case."""

    case: Case
    risk_level: str
    tiers: tuple[str, ...]
    refs: tuple[str, ...]  # reasons, then exceptions considered
    timing_ms: float
    error: str = ""

    @property
    def correct(self) -> bool:
        return self.risk_level == self.case.risk_level

    @property
    def deciding_found(self) -> bool | None:
        """Whether a gold deciding ref (or one nested in it, or its parent) is among the
        refs the engine gave; None when the case names none."""
        if not self.case.deciding:
            return None
        return any(ref_match(r, gold) for gold in self.case.deciding for r in self.refs)


def parse_cases(lines: Sequence[str], *, source: str = "systems") -> list[Case]:
    out = []
    for number, case in parse_lines(
            lines, lambda row: Case(row["id"], row["description"], row.get("role"),
                                    row.get("facts") or {}, row.get("as_of"),
                                    row["risk_level"], tuple(row["tiers"]),
                                    tuple(row.get("deciding") or ()), bool(row.get("cx")),
                                    bool(row.get("near_miss"))),
            source=source, what="a system record", hint="; see eval/SYSTEMS.md for the format"):
        if case.risk_level not in TIERS:
            raise KbError(f"{source}, line {number}: unknown risk_level {case.risk_level!r}")
        out.append(case)
    return out


def load_cases(path: Path = SYSTEMS_PATH) -> list[Case]:
    path = Path(path)
    return parse_cases(read_lines(path, "the systems file"), source=path.name)


def assess_all(assistant, cases: Sequence[Case], *,
               progress: Progress | None = None) -> list[Result]:
    """Assess every case (its role, facts and as-of date as labelled)."""
    out = []
    for done, case in enumerate(cases, start=1):
        started = time.perf_counter()
        try:
            a = assistant.assess(case.description, role=case.role, facts=case.facts or None,
                                 as_of=case.as_of or SYSTEMS_AS_OF)
            refs = tuple(r.ref for r in a.reasons) + tuple(
                c.ref for c in a.exceptions_considered)
            out.append(Result(case, a.risk_level, a.tiers, refs,
                              (time.perf_counter() - started) * 1000))
        except KbError as error:
            out.append(Result(case, "error", (), (), 0.0, str(error)))
        if progress:
            progress("assessment", done, len(cases))
    return out


# --- metrics ----------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def tier_scores(results: Sequence[Result]) -> dict[str, dict]:
    """Per-tier precision, recall and F1 of the risk level (one label per case)."""
    out = {}
    for tier in TIERS:
        tp = sum(r.risk_level == tier and r.case.risk_level == tier for r in results)
        predicted = sum(r.risk_level == tier for r in results)
        actual = sum(r.case.risk_level == tier for r in results)
        p, rec = _ratio(tp, predicted), _ratio(tp, actual)
        f1 = round(2 * p * rec / (p + rec), 4) if p and rec else (0.0 if actual else None)
        out[tier] = {"precision": p, "recall": rec, "f1": f1, "support": actual}
    return out


def summarise(results: Sequence[Result]) -> dict:
    """accuracy, per-tier scores, macro-F1, unclear rate, deciding ref found, latency."""
    n = len(results)
    scores = tier_scores(results)
    f1s = [s["f1"] for s in scores.values() if s["f1"] is not None]
    with_deciding = [r for r in results if r.deciding_found is not None]
    times = sorted(r.timing_ms for r in results if not r.error)
    return {
        "cases": n,
        "accuracy": _ratio(sum(r.correct for r in results), n),
        "tiers": scores,
        "prohibited_f1": scores["prohibited"]["f1"],
        "high_risk_f1": scores["high_risk"]["f1"],
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
        "unclear_rate": _ratio(sum(r.risk_level == "unclear" for r in results), n),
        "errors": sum(bool(r.error) for r in results),
        "deciding_ref_found": _ratio(sum(bool(r.deciding_found) for r in with_deciding),
                                     len(with_deciding)),
        "latency_p50_ms": round(times[len(times) // 2], 1) if times else None,
    }


def miss(r: Result) -> dict:
    return {"id": r.case.id, "expected": r.case.risk_level, "got": r.risk_level,
            "expected_tiers": list(r.case.tiers), "got_tiers": list(r.tiers),
            "deciding": list(r.case.deciding), "refs": list(r.refs),
            "deciding_found": r.deciding_found, "held_back": r.case.held_back,
            "cx": r.case.cx, "near_miss": r.case.near_miss, "description": r.case.description,
            "error": r.error}


def assessment_report(results: Sequence[Result], *, source: str = "") -> dict:
    """The ``assessment`` section of the eval report."""
    groups = {
        "tuning part": [r for r in results if not r.case.held_back],
        "held-back part": [r for r in results if r.case.held_back],
        "cx": [r for r in results if r.case.cx],
        "not cx": [r for r in results if not r.case.cx],
        "near miss": [r for r in results if r.case.near_miss],
        "not near miss": [r for r in results if not r.case.near_miss],
    }
    return {
        "systems_file": source,
        "overall": summarise(results),
        "by_group": {name: summarise(rs) for name, rs in groups.items() if rs},
        "misses": [miss(r) for r in results if not r.correct],
        "deciding_not_found": [r.case.id for r in results if r.deciding_found is False],
    }
