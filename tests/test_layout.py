"""The house rules that the code's shape must keep: a pure core that stays pure, only the
project's own top-level names installed, and tests that wait for state, not for time."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ccrlist", "echronicle", "subscribers")

# What a pure module may not reach, directly or through another module: the database,
# the network, the mail and web servers, the settings file, the secret and the site writer.
FORBIDDEN = (
    "aiosqlite", "sqlite3", "aiohttp", "aiosmtplib", "aiosmtpd", "dns", "spf", "asyncio",
    "smtplib",
    "subscribers.db", "subscribers.members", "subscribers.posts", "subscribers.queue",
    "subscribers.bounces", "subscribers.confirmations", "subscribers.owners",
    "subscribers.ratelimits", "subscribers.unsubscribe", "subscribers.facts",
    "ccrlist.config.loader", "ccrlist.config.secret", "ccrlist.delivery.transport",
    "ccrlist.delivery.worker", "ccrlist.server", "ccrlist.web", "echronicle.writer",
    "echronicle.checks.links",
)

BLOCKER = """
import importlib.abc, sys
FORBIDDEN = {forbidden!r}

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            raise ImportError(f"pure code imported {{name}}")
        return None

sys.meta_path.insert(0, Blocker())
failures = []
for module in {modules!r}:
    try:
        __import__(module)
    except ImportError as exc:
        failures.append(f"{{module}}: {{exc}}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def _docstring_head(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.split("\n\n")[0].lower()


def _says_pure(path: Path) -> bool:
    head = _docstring_head(path)
    return "(pure" in head or "pure:" in head or ": pure," in head


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def pure_modules() -> list[str]:
    """Modules whose docstring says they are pure, and every module of a package that says so."""
    found: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            package_init = path.parent / "__init__.py"
            if _says_pure(path) or (package_init.exists() and _says_pure(package_init)):
                found.append(_module(path))
    return found


def _import_blocked(modules: list[str]) -> subprocess.CompletedProcess[str]:
    code = BLOCKER.format(forbidden=FORBIDDEN, modules=modules)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_pure_modules_import_no_store_network_or_disk_code() -> None:
    modules = pure_modules()
    assert len(modules) >= 40, modules  # the rule below must have something to hold
    done = _import_blocked(modules)
    assert done.returncode == 0, f"pure modules reaching I/O code:\n{done.stdout}{done.stderr}"


def test_the_contract_catches_a_module_that_reaches_the_store() -> None:
    """The blocker works: modules known to do I/O fail under it."""
    done = _import_blocked(["subscribers.posts", "ccrlist.server", "echronicle.publish"])
    assert done.returncode == 1
    assert done.stdout.count("pure code imported") == 3, done.stdout


def test_only_the_projects_own_top_level_names_are_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert setuptools["py-modules"] == ["cli"]
    assert sorted(setuptools["packages"]["find"]["include"]) == sorted(
        f"{p}*" for p in PACKAGES)
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert tops == set(PACKAGES)


def _yields_only(call: ast.Call) -> bool:
    """`sleep(0)`: one turn of the event loop, not a wait."""
    return (len(call.args) == 1 and isinstance(call.args[0], ast.Constant)
            and call.args[0].value == 0)


def _bare_sleeps(path: Path) -> list[int]:
    """Lines where a test sleeps outside a loop: a wait that checks nothing."""
    found: list[int] = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        for child in ast.iter_child_nodes(node):
            looping = in_loop or isinstance(child, ast.For | ast.AsyncFor | ast.While)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                looping = False
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr == "sleep" and not in_loop
                    and not _yields_only(child)):
                found.append(child.lineno)
            visit(child, looping)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_tests_wait_for_state_not_for_time(path: Path) -> None:
    """A sleep belongs only in a loop that polls for something with a deadline (or in a
    fake peer that is slow on purpose, marked `# deliberate delay`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    bare = [n for n in _bare_sleeps(path) if "deliberate delay" not in lines[n - 1]]
    assert not bare, f"{path.name}: a bare sleep on line(s) {bare}"


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks").glob("bench_*.py")),
                         ids=lambda p: p.name)
def test_every_benchmark_still_starts(path: Path) -> None:
    """A benchmark imports the code it measures; `--help` fails when that code moved."""
    done = subprocess.run([sys.executable, str(path), "--help"], cwd=ROOT / "benchmarks",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
