"""Is it documented: every environment variable and command is in the README with help."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from eval.cli import cli as eval_cli
from ingest.cli import cli as ingest_cli
from kb.cli import cli as kb_cli
from kb.config import VARIABLES

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_table_matches_the_configuration():
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.+?) \| (.+?) \|$", README, re.MULTILINE)
    documented = {name: (default, meaning) for name, default, meaning in rows}
    assert list(documented) == list(VARIABLES)
    for name, (default, meaning) in VARIABLES.items():
        shown_default, shown_meaning = documented[name]
        assert shown_default == (f"`{default}`" if default else "(empty)"), name
        assert shown_meaning == meaning, name


@pytest.mark.parametrize("group, prefix", [(ingest_cli, "python -m ingest"),
                                           (kb_cli, "python -m kb")])
def test_every_command_has_help_an_example_and_is_in_the_readme(group, prefix):
    assert isinstance(group, click.Group)
    for name, command in group.commands.items():
        assert command.help and "Example: python -m" in command.help, name
        assert f"{prefix} {name}" in README, f"{prefix} {name} is not in the README"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{prefix} {name} {param.opts} has no help"


def test_every_register_command_has_help_an_example_and_is_in_the_readme():
    group = kb_cli.commands["register"]
    assert isinstance(group, click.Group)
    for name, command in group.commands.items():
        assert command.help and "Example: python -m kb register" in command.help, name
        assert f"python -m kb register {name}" in README, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"register {name} {param.opts} has no help"


def test_eval_command_and_its_options_are_documented():
    assert "python -m eval --baseline" in README
    for param in eval_cli.params:
        if isinstance(param, click.Option):
            assert param.help, param.opts


@pytest.mark.parametrize("target", ["make run", "make test", "make bench-ingest", "make bench-ask",
                                    "make bench-assess", "make bench-register"])
def test_make_targets_in_the_readme_exist(target):
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert re.search(rf"^{target.split()[1]}:", makefile, re.MULTILINE)
    assert target in README
