"""``python -m eval``: run the evaluation set and write the grounding report.

Parses the options, calls :func:`eval.runner.run` once, writes the report files with
:mod:`eval.report` and prints the terminal table (or, with ``--json``, the report JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from eval.assessment import SYSTEMS_PATH
from eval.report import terminal, write_all
from eval.runner import (
    EVAL_AS_OF,
    EVAL_DIR,
    QUESTIONS_PATH,
    THRESHOLDS_PATH,
    load_questions,
    load_thresholds,
    run,
)
from kb.assistant import Assistant
from kb.config import Settings
from kb.console import ISO_DATE, configure_logging, verbose_option
from kb.errors import KbError


class _Bar:
    """One tqdm bar per stage on stderr; silent when stderr is not a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="question", leave=False)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()


@click.command()
@click.option("--questions", "questions_path", type=click.Path(dir_okay=False, path_type=Path),
              default=QUESTIONS_PATH, show_default="eval/questions.jsonl",
              help="JSON lines of questions with gold refs (see eval/QUESTIONS.md).")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 50),
              help="How many citations to ask for per question.")
@click.option("--as-of", default=EVAL_AS_OF, show_default=True, type=ISO_DATE,
              help="Law in force on this date (the date the gold refs were written for).")
@click.option("--baseline", is_flag=True,
              help="Also run the naive llama-index baseline and compare side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print the report JSON to stdout.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=EVAL_DIR, show_default="eval/",
              help="Directory for report.md, report.json and hitk.png.")
@click.option("--thresholds", "thresholds_path", type=click.Path(dir_okay=False, path_type=Path),
              default=THRESHOLDS_PATH, show_default="eval/thresholds.toml",
              help="Gate thresholds and the issue's targets.")
@click.option("--systems", "systems_path", type=click.Path(dir_okay=False, path_type=Path),
              default=SYSTEMS_PATH, show_default="eval/systems.jsonl",
              help="Labelled AI-system descriptions for the assessment metrics (eval/SYSTEMS.md).")
@click.option("--no-systems", is_flag=True, help="Skip the assessment metrics.")
@click.option("--check", is_flag=True, help="Exit with status 1 when a metric breaks the gate.")
@verbose_option
def cli(questions_path: Path, top_k: int, as_of: str, baseline: bool, as_json: bool,
        out_dir: Path, thresholds_path: Path, systems_path: Path, no_systems: bool, check: bool,
        verbose: int) -> None:
    """Ask every evaluation question and report retrieval, grounding, abstention, latency;
    assess every labelled system description and report the tier metrics.

    Example: python -m eval --baseline --out eval/
    """
    try:
        settings = Settings.from_env()
    except KbError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(verbose, settings.log_level)
    bar = _Bar(sys.stderr.isatty())
    try:
        questions = load_questions(questions_path)
        thresholds = load_thresholds(thresholds_path)
        report = run(Assistant.open(settings), questions, top_k=top_k, as_of=as_of,
                     baseline=baseline, thresholds=thresholds,
                     questions_source=_shown(questions_path), progress=bar,
                     systems_path=None if no_systems else systems_path)
    except KbError as error:
        raise click.ClickException(str(error)) from None
    written = write_all(report, out_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        click.echo(terminal(report))
        click.echo("\nWrote " + ", ".join(_shown(p) for p in written))
    if check and not report["gate"]["passed"]:
        raise click.ClickException("gate broken: " + "; ".join(report["gate"]["broken"]))


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
