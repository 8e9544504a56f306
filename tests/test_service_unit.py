"""The systemd unit README.md gives for `ccrlist serve`: systemd's own checker accepts it,
its command line is one the installed `ccrlist` takes, and it gives the server the time
its stop needs before SIGKILL."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from ccrlist.server import DRAIN_SECONDS

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = "/srv/ccr/venv/bin/ccrlist"


def readme_unit() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Running it as a service (systemd)", 1)[1]
    match = re.search(r"```ini\n(.*?)```", section, re.S)
    assert match is not None, "README's service section has no ```ini block"
    return match.group(1)


def setting(unit: str, key: str) -> str:
    [value] = re.findall(rf"^{key}=(.*)$", unit, re.M)
    return value.strip()


def ccrlist_script() -> str:
    found = shutil.which("ccrlist") or str(Path(sys.executable).parent / "ccrlist")
    assert Path(found).exists(), "the ccrlist command is not installed (pip install -e .)"
    return found


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    unit = readme_unit()
    assert INSTALLED in setting(unit, "ExecStart")
    path = tmp_path / "ccrlist.service"
    path.write_text(unit.replace(INSTALLED, ccrlist_script()), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # Warnings (an unknown key, a value it ignores) come on stderr with exit code 0.
    assert [line for line in done.stderr.splitlines() if str(path) in line] == []


def test_the_checker_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """So the test above can fail: a mistyped value is reported."""
    path = tmp_path / "ccrlist.service"
    broken = readme_unit().replace(INSTALLED, ccrlist_script())
    path.write_text(broken.replace("TimeoutStopSec=", "TimeoutStopSec=x"), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert "TimeoutStopSec" in done.stderr or "time value" in done.stderr


def test_its_command_line_is_one_ccrlist_takes(tmp_path: Path) -> None:
    command = setting(readme_unit(), "ExecStart").split()
    assert command[0] == INSTALLED and command[-1] == "serve"
    config = tmp_path / "ccr.toml"
    config.write_text(f'data_dir = "{tmp_path / "var"}"\n', encoding="utf-8")
    args = [a if a != "/srv/ccr/ccr.toml" else str(config) for a in command[1:]]
    done = subprocess.run([ccrlist_script(), *args, "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: ccrlist serve" in done.stdout


def test_it_waits_for_the_longest_stop_before_sigkill() -> None:
    """SIGTERM lets posts being committed finish (up to DRAIN_SECONDS), then the batches
    being sent (up to DRAIN_SECONDS again)."""
    unit = readme_unit()
    assert setting(unit, "KillSignal") == "SIGTERM"
    assert float(setting(unit, "TimeoutStopSec")) >= 2 * DRAIN_SECONDS + 10
