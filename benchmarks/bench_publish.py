"""Benchmark `chronicle publish <id> --no-send` wall time and a 500-issue archive rebuild.

Run from the repository root: python benchmarks/bench_publish.py
Goals: publish under 0.5 s including interpreter start; 500 issues under 10 s.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
ISSUES = 500


def _time(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _median(command: list[str], cwd: Path) -> float:
    return statistics.median(_time(command, cwd) for _ in range(RUNS))


def _write_config(folder: Path) -> None:
    (folder / "ccr.toml").write_text('data_dir = "var"\nissues_dir = "issues"\n'
                                     '[site]\noutput_dir = "site"\n', "utf-8")


def generate_issues(folder: Path, count: int) -> None:
    """`count` issue files modelled on vol12-2, with distinct ids and dates."""
    template = (ROOT / "issues" / "vol12-2.md").read_text("utf-8")
    for n in range(count):
        volume, number = 1 + n // 10, 1 + n % 10
        year = 2000 + n // 10
        text = (template.replace("volume: 12", f"volume: {volume}")
                .replace("number: 2", f"number: {number}")
                .replace("date: 2017-10-03", f"date: {year}-{number:02d}-03"))
        (folder / f"vol{volume}-{number}.md").write_text(text, "utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "issues").mkdir()
        shutil.copy(ROOT / "issues" / "vol12-2.md", work / "issues")
        _write_config(work)
        baseline = _median([sys.executable, "-c", "pass"], work)
        publish_cmd = [sys.executable, "-c",
                       f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import "
                       "chronicle_main; sys.argv = ['chronicle', 'publish', 'vol12-2', "
                       "'--no-send']; chronicle_main()"]
        _time(publish_cmd, work)  # warm-up: first build writes the site and .pyc files
        publish = _median(publish_cmd, work)
        print(f"python -c pass (baseline):          {baseline * 1000:7.1f} ms")
        print(f"chronicle publish vol12-2 --no-send: {publish * 1000:7.1f} ms "
              f"({publish / baseline:.1f}x baseline; goal < 500 ms: "
              f"{'met' if publish < 0.5 else 'MISSED'})")

        big = work / "big"
        (big / "issues").mkdir(parents=True)
        generate_issues(big / "issues", ISSUES)
        _write_config(big)
        build_cmd = [sys.executable, "-c",
                     f"import sys; sys.path.insert(0, {str(ROOT)!r}); from cli import "
                     "chronicle_main; sys.argv = ['chronicle', 'build']; chronicle_main()"]
        cold = _time(build_cmd, big)
        warm = _time(build_cmd, big)  # every file unchanged: rendering without writing
        print(f"chronicle build, {ISSUES} issues (cold):  {cold:7.2f} s "
              f"({cold / ISSUES * 1000:.1f} ms/issue; goal < 10 s: "
              f"{'met' if cold < 10 else 'MISSED'})")
        print(f"chronicle build, {ISSUES} issues (again): {warm:7.2f} s")


if __name__ == "__main__":
    main()
