"""pyproject.toml declares what requirements.txt pins, its scripts run, its wheel has the data.

``make`` installs the exact pins of requirements.txt; ``pip install -e .`` reads pyproject.toml.
These tests keep the two in step: every runtime pin is a dependency with that pin as its lower
bound (torch exactly), every test and tooling pin is in the ``dev`` extra, nothing else.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import click

import eval.assessment
import eval.languages
import eval.runner
import kb.obligations.catalogue
import kb.obligations.dense
import kb.obligations.scenario
import kb.obligations.triggers
import kb.search.multilingual
import kb.search.ranker
import kb.search.retrieval

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = ("kb", "ingest", "eval", "ui")
TOOLING_MARK = "# tests and tooling"
_SPEC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(==|>=)\s*([0-9][0-9A-Za-z.+-]*)$")


def _name(name: str) -> str:
    """The canonical form of a distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _specs(lines) -> dict[str, tuple[str, str]]:
    """name -> (operator, version) of "name==1.2" / "name>=1.2" lines; others refused."""
    out = {}
    for line in lines:
        match = _SPEC.match(line.strip())
        assert match, f"not a plain 'name==version' or 'name>=version' requirement: {line!r}"
        name, operator, version = match.groups()
        out[_name(name)] = (operator, version)
    return out


def _requirements() -> tuple[dict, dict]:
    """The pins of requirements.txt: (runtime, tests and tooling)."""
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    marks = [n for n, line in enumerate(lines) if line.startswith(TOOLING_MARK)]
    assert len(marks) == 1, f"requirements.txt needs one {TOOLING_MARK!r} section, last"

    def pins(part: list[str]) -> list[str]:
        return [line for line in part if line.strip() and not line.lstrip().startswith("#")]

    runtime, tooling = _specs(pins(lines[:marks[0]])), _specs(pins(lines[marks[0] + 1:]))
    assert all(op == "==" for op, _ in [*runtime.values(), *tooling.values()]), \
        "requirements.txt pins exact versions"
    return runtime, tooling


def test_every_runtime_pin_is_a_dependency_with_the_pin_as_lower_bound():
    runtime, _ = _requirements()
    declared = _specs(PROJECT["project"]["dependencies"])
    assert set(declared) == set(runtime)
    for name, (_, pinned) in runtime.items():
        expected = ("==", pinned) if name == "torch" else (">=", pinned)
        assert declared[name] == expected, name


def test_every_test_and_tooling_pin_is_in_the_dev_extra_and_not_a_dependency():
    runtime, tooling = _requirements()
    assert {"pytest", "httpx", "httpx2", "playwright", "ruff"} <= set(tooling)
    assert not set(tooling) & set(runtime)
    extra = _specs(PROJECT["project"]["optional-dependencies"]["dev"])
    assert extra == {name: (">=", version) for name, (_, version) in tooling.items()}


def test_console_scripts_are_the_click_groups_of_the_two_clis():
    scripts = PROJECT["project"]["scripts"]
    assert scripts == {"kb": "kb.cli:cli", "ingest": "ingest.cli:cli"}
    for target in scripts.values():
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Group), target


def _shipped(path: Path) -> bool:
    """Whether the package-data globs of pyproject.toml put ``path`` in the wheel."""
    relative = path.resolve().relative_to(ROOT)
    package = ".".join(relative.parent.parts)
    globs = PROJECT["tool"]["setuptools"]["package-data"].get(package, [])
    return any(fnmatch(relative.name, glob) for glob in globs)


def test_the_data_files_the_code_reads_are_package_data():
    read = [kb.search.retrieval.SYNONYMS_PATH, kb.search.multilingual.RULES_PATH,
            kb.search.ranker.RANKER_PATH, kb.obligations.catalogue.CATALOGUE_PATH,
            kb.obligations.scenario.SYSTEMS_PATH, kb.obligations.triggers.TRIGGERS_PATH,
            kb.obligations.dense.EXAMPLES_PATH, eval.runner.QUESTIONS_PATH,
            eval.runner.THRESHOLDS_PATH, eval.assessment.SYSTEMS_PATH,
            *eval.languages.SETS.values()]
    # Every data file inside kb/ is read by the library: all of them ship.
    read += [path for suffix in ("yaml", "toml", "json", "jsonl")
             for path in ROOT.glob(f"kb/**/*.{suffix}")]
    for path in read:
        assert path.is_file(), path
        assert _shipped(path), f"{path.relative_to(ROOT)} is not in [tool.setuptools.package-data]"
    assert not _shipped(ROOT / "eval" / "report.json")  # written by the eval, not read


def test_every_code_directory_is_a_package_so_the_wheel_keeps_it():
    # namespaces = false: a directory of modules without __init__.py would be left out.
    find = PROJECT["tool"]["setuptools"]["packages"]["find"]
    assert find["namespaces"] is False
    for top in PACKAGES:
        assert top in find["include"] and f"{top}.*" in find["include"]
        for module in (ROOT / top).rglob("*.py"):
            assert (module.parent / "__init__.py").is_file(), module.parent


def _third_party_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return {name for name in names
            if name not in sys.stdlib_module_names and name not in PACKAGES}


def test_every_package_the_code_imports_is_declared():
    distributions = importlib.metadata.packages_distributions()
    runtime, tooling = _requirements()
    files = [ROOT / "app.py", *(p for top in PACKAGES for p in (ROOT / top).rglob("*.py"))]
    for path in files:
        for module in _third_party_imports(path):
            provided = {_name(d) for d in distributions.get(module, [])}
            assert provided, f"{path.relative_to(ROOT)} imports {module}, which no package provides"
            if provided & set(runtime):
                continue
            # The benchmarks drive the servers with httpx and the app with Playwright, tooling
            # packages.
            benchmarks = (ROOT / "eval" / "bench.py", ROOT / "eval" / "bench_live.py")
            assert path in benchmarks and provided & set(tooling), (
                f"{path.relative_to(ROOT)} imports {module} ({', '.join(sorted(provided))}), "
                "which requirements.txt does not list as a runtime package")
