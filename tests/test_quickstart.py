"""The README's quick start, run exactly as README.md writes it, twice, in a fresh copy of the
repository with a new virtual environment: the site is built and the outbox holds one copy in
English and one in French, and the second run fails nothing and sends nothing again."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import site
import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_command() -> str:
    """The first line of the first shell block under README's "## Quick start"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start\n", 1)[1]
    match = re.search(r"^```sh\n(.+)\n", section, re.MULTILINE)
    assert match, "README.md's quick start has no ```sh block"
    return match.group(1)


def _fresh_copy(target: Path) -> None:
    """What a clone of this working tree would hold: tracked files and new ones not ignored."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _new_venv(folder: Path) -> Path:
    """A new environment with pip. The packages this test runs with are made visible to it
    (a .pth file), so that `pip install -e .` finds the dependencies installed and needs no
    download of them; the project itself is installed from the fresh copy."""
    venv.EnvBuilder(with_pip=True).create(folder)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"], check=True,
                             capture_output=True, text=True).stdout.strip()
    ours = [p for p in (*site.getsitepackages(), site.getusersitepackages()) if Path(p).is_dir()]
    (Path(purelib) / "zz_outer_packages.pth").write_text("\n".join(ours) + "\n", "utf-8")
    return folder / "bin"


def test_the_readme_quick_start_leaves_the_site_and_a_copy_in_each_language(
        tmp_path: Path) -> None:
    command = quick_start_command()
    assert "chronicle publish" in command
    clone = tmp_path / "ccr-mail"
    _fresh_copy(clone)
    env = {key: value for key, value in os.environ.items()
           if key not in ("CCR_CONFIG", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{_new_venv(tmp_path / 'venv')}{os.pathsep}{env.get('PATH', '')}"
    runs = [subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=600) for _ in range(2)]
    for n, run in enumerate(runs, start=1):
        assert run.returncode == 0, f"run {n} of {command!r}:\n{run.stdout}\n{run.stderr}"
        assert "Traceback" not in run.stderr
    assert "Sent 2, deferred 0, failed 0" in runs[0].stdout
    assert "Already sent" in runs[1].stdout  # the second run sends nothing again

    copies = {}
    for path in (clone / "var" / "outbox" / "new").iterdir():
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        copies[str(msg["Content-Language"])] = msg
    assert sorted(copies) == ["en", "fr"]
    assert str(copies["en"]["Delivered-To"]) == "reader@example.org"
    assert "Vol. 12 no 2" in str(copies["fr"]["Subject"])
    for page in ("index.html", "fr/index.html", "feed.xml", "vol12-2/index.html",
                 "vol12-2/fr/index.html", "vol12-2/email.html"):
        assert (clone / "site" / page).is_file(), page
