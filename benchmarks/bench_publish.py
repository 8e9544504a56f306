"""Benchmark `chronicle publish <id> --no-send` with 10, 100 and 500 issues in the archive, and
a 500-issue archive rebuild.

Run from the repository root:
    python benchmarks/bench_publish.py [--rounds 7] [--no-build] [--compare CHECKOUT]
                                       [--bytecode]
Goals: publish under 0.5 s including interpreter start, and the same with 500 archived issues
as with 10; a full rebuild of 500 issues under 10 s.

Each archive holds vol12-2 (English and French, the issue published) and N earlier issues in
both languages, made from it. One publish of each first fills its site and listing cache, as
the publishes before it would have. Then every round runs, one after the other, a bare
`python -c pass` (the anchor: interpreter start on this machine at this moment) and the
publish in each archive; medians of the rounds are reported, and each against the anchor's.

The children inherit the environment: where PYTHONDONTWRITEBYTECODE is set (as on the
machines these figures come from), every module is compiled again on every run.
`--bytecode` lets them keep compiled modules (in a cache folder of the run's own), as an
installation does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 500)
BUILD_ISSUES = 500


ENV = dict(os.environ)  # the children's environment (see --bytecode)


def _run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user and system) of one run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _time(command: list[str], cwd: Path) -> float:
    return _run(command, cwd)[0]


def _chronicle(*args: str, code: Path = ROOT) -> list[str]:
    """`chronicle ARGS` run from the checkout at `code` (this one by default)."""
    return [sys.executable, "-c",
            f"import sys; sys.path.insert(0, {str(code)!r}); from cli import chronicle_main; "
            f"sys.argv = ['chronicle', *{list(args)!r}]; chronicle_main()"]


def _write_config(folder: Path) -> None:
    (folder / "ccr.toml").write_text('data_dir = "var"\nissues_dir = "issues"\n'
                                     '[site]\noutput_dir = "site"\n', "utf-8")


def generate_issues(folder: Path, count: int, first_volume: int = 1) -> None:
    """`count` issues in English and French modelled on vol12-2, with distinct ids and dates."""
    for suffix in (".md", ".fr.md"):
        template = (ROOT / "issues" / f"vol12-2{suffix}").read_text("utf-8")
        for n in range(count):
            volume, number = first_volume + n // 10, 1 + n % 10
            year = 1990 + n // 10
            text = (template.replace("volume: 12", f"volume: {volume}")
                    .replace("number: 2", f"number: {number}")
                    .replace("date: 2017-10-03", f"date: {year}-{number:02d}-03"))
            path = folder / f"vol{volume}-{number}{suffix}"
            path.write_text(text, "utf-8")
            os.utime(path, (time.time() - 86400,) * 2)  # archived issues were written before


def _archive(work: Path, archived: int, name: str) -> Path:
    """A folder with vol12-2 to publish and `archived` earlier issues (volumes 100 and up)."""
    folder = work / f"{name}-{archived}"
    (folder / "issues").mkdir(parents=True)
    for name in ("vol12-2.md", "vol12-2.fr.md"):
        shutil.copy(ROOT / "issues" / name, folder / "issues" / name)
    generate_issues(folder / "issues", archived, first_volume=100)
    _write_config(folder)
    return folder


def _report(label: str, wall: dict[int, list[float]], cpu: dict[int, list[float]],
            base: float) -> None:
    medians = {size: statistics.median(wall[size]) for size in SIZES}
    cpu_medians = {size: statistics.median(cpu[size]) for size in SIZES}
    for size in SIZES:
        spread = f"{min(wall[size]) * 1000:.0f}-{max(wall[size]) * 1000:.0f}"
        print(f"{label}publish vol12-2 --no-send, {size:3} archived issues: "
              f"{medians[size] * 1000:7.1f} ms ({cpu_medians[size] * 1000:.0f} ms CPU; "
              f"{medians[size] / base:.1f}x anchor; range {spread} ms; goal < 500 ms: "
              f"{'met' if medians[size] < 0.5 else 'MISSED'})")
    first, last = SIZES[0], SIZES[-1]
    slope = (medians[last] - medians[first]) / (last - first)
    cpu_slope = (cpu_medians[last] - cpu_medians[first]) / (last - first)
    print(f"{label}cost of one more archived issue: {slope * 1e6:.0f} us wall, "
          f"{cpu_slope * 1e6:.0f} us CPU ({last} vs {first} issues: "
          f"{medians[last] / medians[first]:.2f}x wall, "
          f"{cpu_medians[last] / cpu_medians[first]:.2f}x CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-build", action="store_true", help="skip the 500-issue rebuild")
    parser.add_argument("--bytecode", action="store_true",
                        help="let the children keep compiled modules, as an installation does")
    parser.add_argument("--compare", type=Path, metavar="CHECKOUT",
                        help="also time the code of another checkout in the same rounds, e.g. "
                             "main's: git archive main | tar -x -C /tmp/main")
    options = parser.parse_args()
    rounds = options.rounds
    if options.compare and not (options.compare / "cli.py").is_file():
        parser.error(f"--compare {options.compare}: no checkout of ccr-mail there (no cli.py)")
    codes = {"": ROOT, **({"other: ": options.compare.resolve()} if options.compare else {})}
    anchor = [sys.executable, "-c", "pass"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if options.bytecode:
            ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        runs = []  # (label, size, command, folder)
        for n, (label, code) in enumerate(codes.items()):
            publish = _chronicle("publish", "vol12-2", "--no-send", code=code)
            for size in SIZES:
                folder = _archive(work, size, f"code{n}")
                _time(publish, folder)  # the site (and any cache) as earlier publishes left them
                runs.append((label, size, publish, folder))
        wall: dict[str, dict[int, list[float]]] = {label: {s: [] for s in SIZES} for label in codes}
        cpu: dict[str, dict[int, list[float]]] = {label: {s: [] for s in SIZES} for label in codes}
        anchor_wall: list[float] = []
        anchor_cpu: list[float] = []
        for n in range(rounds):
            took, used = _run(anchor, work)
            anchor_wall.append(took)
            anchor_cpu.append(used)
            for label, size, command, folder in (runs if n % 2 == 0 else runs[::-1]):
                took, used = _run(command, folder)
                wall[label][size].append(took)
                cpu[label][size].append(used)
        base = statistics.median(anchor_wall)
        print(f"medians of {rounds} interleaved rounds: wall time (CPU time)")
        print(f"python -c pass (anchor):                       {base * 1000:7.1f} ms "
              f"({statistics.median(anchor_cpu) * 1000:.1f} ms)")
        for label in codes:
            if label:
                print(f"{label}{codes[label]}")
            _report(label, wall[label], cpu[label], base)

        if options.no_build:
            return
        for n, (label, code) in enumerate(codes.items()):
            big = work / f"big{n}"
            (big / "issues").mkdir(parents=True)
            generate_issues(big / "issues", BUILD_ISSUES)
            _write_config(big)
            build = _chronicle("build", code=code)
            cold = _run(build, big)
            warm = _run(build, big)  # every file unchanged: rendering without writing
            print(f"{label}chronicle build, {BUILD_ISSUES} issues in 2 languages (cold):  "
                  f"{cold[0]:7.2f} s ({cold[1]:.2f} s CPU; {cold[0] / BUILD_ISSUES * 1000:.1f} "
                  f"ms/issue; goal < 10 s: {'met' if cold[0] < 10 else 'MISSED'})")
            print(f"{label}chronicle build, {BUILD_ISSUES} issues in 2 languages (again): "
                  f"{warm[0]:7.2f} s ({warm[1]:.2f} s CPU)")


if __name__ == "__main__":
    main()
