"""The admin CLI through click's CliRunner: members, lists, config, and their error paths."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from cli import ccrlist, chronicle


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run a command with a settings file whose data_dir is inside tmp_path."""
    config = tmp_path / "ccr.toml"
    config.write_text('data_dir = "var"\n[relay]\nhost = "relay.example.org"\n'
                      'password = "hunter2"\n', encoding="utf-8")
    monkeypatch.delenv("CCR_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(group: click.Group, *args: str, input: str | None = None) -> Result:
        return runner.invoke(group, ["--config", str(config), *args], input=input)

    return invoke


def test_add_list_remove(run) -> None:  # type: ignore[no-untyped-def]
    result = run(ccrlist, "members", "add", "Jane@Example.org", "--name", "Jane Doe",
                 "--lang", "fr")
    assert result.exit_code == 0, result.output
    assert "Jane@example.org: subscribed to ccrlist" in result.output
    assert "already subscribed" in run(ccrlist, "members", "add", "jane@example.org").output
    listing = run(ccrlist, "members", "list")
    assert "Jane@example.org\tJane Doe\tfr\tactive\teach" in listing.output
    removed = run(ccrlist, "members", "remove", "JANE@example.org")
    assert removed.exit_code == 0
    assert "unsubscribed" in removed.output
    assert run(ccrlist, "members", "list", "--status", "active").output.strip() == "0 member(s)"


def test_member_errors(run) -> None:  # type: ignore[no-untyped-def]
    bad = run(ccrlist, "members", "add", "jane@example.org\r\nRCPT TO:<x@y.org>")
    assert bad.exit_code == 2
    assert "control character" in bad.output
    unknown = run(ccrlist, "members", "add", "jane@example.org", "--list", "nope")
    assert unknown.exit_code == 1
    assert "no list named 'nope'" in unknown.output
    missing = run(ccrlist, "members", "remove", "nobody@example.org")
    assert missing.exit_code == 1
    assert "is not subscribed" in missing.output
    name = run(ccrlist, "members", "add", "jane@example.org", "--name", "Jane\r\nBcc: x@y.org")
    assert name.exit_code == 2
    assert "--name" in name.output and "control character" in name.output
    owner = run(ccrlist, "lists", "owners", "add", "ccrlist", "boss@example.org\n")
    assert owner.exit_code == 2
    assert "control character" in owner.output
    status = run(ccrlist, "members", "list", "--status", "gone")
    assert status.exit_code == 2
    assert "Traceback" not in bad.output + unknown.output + missing.output + status.output


def test_import_export_round_trip(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("email,name,lang\njane@example.org,Jane,en\nbad-row,,\n"
                        "luc@example.ca,\"Côté, Luc\",fr\n", encoding="utf-8")
    dry = run(ccrlist, "members", "import", str(csv_file), "--dry-run")
    assert "would be 2 added" in dry.output
    assert dry.exit_code == 1  # a bad row is still reported as a failure
    assert "members.csv:3:" in dry.output
    assert "0 member(s)" in run(ccrlist, "members", "list").output
    first = run(ccrlist, "members", "import", str(csv_file))
    assert "ccrlist: 2 added, 0 updated, 0 unchanged" in first.output
    assert "1 row(s) skipped" in first.output
    again = run(ccrlist, "members", "import", str(csv_file))
    assert "0 added, 0 updated, 2 unchanged" in again.output
    exported = run(ccrlist, "members", "export")
    assert exported.exit_code == 0
    assert exported.output == ("email,name,lang,mode,format,pause\n"
                               "jane@example.org,Jane,en,each,mime,no\n"
                               "luc@example.ca,\"Côté, Luc\",fr,each,mime,no\n")
    back = tmp_path / "back.csv"
    back.write_text(exported.output, encoding="utf-8")
    third = run(ccrlist, "members", "import", str(back))
    assert third.exit_code == 0
    assert "0 added, 0 updated, 2 unchanged" in third.output


def test_export_neutralises_formulas(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hostile = '=HYPERLINK("http://evil.example","x")'
    assert run(ccrlist, "members", "add", "jo@example.org", "--name", hostile).exit_code == 0
    exported = run(ccrlist, "members", "export")
    assert exported.exit_code == 0
    assert exported.output == (
        'email,name,lang,mode,format,pause\n'
        'jo@example.org,"\'=HYPERLINK(""http://evil.example"",""x"")",en,each,mime,no\n')
    back = tmp_path / "back.csv"
    back.write_text(exported.output, encoding="utf-8")
    again = run(ccrlist, "members", "import", str(back))
    assert "0 added, 0 updated, 1 unchanged" in again.output


def test_import_missing_or_binary_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run(ccrlist, "members", "import", str(tmp_path / "none.csv")).exit_code == 2
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = run(ccrlist, "members", "import", str(binary))
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_lists_and_create(run) -> None:  # type: ignore[no-untyped-def]
    shown = run(ccrlist, "lists")
    assert "ccrlist@lists.example.org\tsubscribers" in shown.output
    assert "echronicle@lists.example.org\tannounce" in shown.output
    created = run(ccrlist, "lists", "create", "ccr-youth", "--policy", "announce")
    assert created.exit_code == 0
    assert "created ccr-youth@lists.example.org (announce)" in created.output
    dup = run(ccrlist, "lists", "create", "ccr-youth")
    assert dup.exit_code == 1
    assert "already exists" in dup.output
    assert run(ccrlist, "lists", "create", "x", "--policy", "open").exit_code == 2


def test_chronicle_subscribers_use_the_newsletter_list(run) -> None:  # type: ignore[no-untyped-def]
    assert run(chronicle, "subscribers", "add", "reader@example.org").exit_code == 0
    assert "reader@example.org" in run(chronicle, "subscribers", "list").output
    assert "reader@example.org" not in run(ccrlist, "members", "list").output


def test_config_masks_password(run) -> None:  # type: ignore[no-untyped-def]
    result = run(ccrlist, "config")
    assert result.exit_code == 0
    assert "relay.host = relay.example.org" in result.output
    assert "relay.password = ********" in result.output
    assert "hunter2" not in result.output
    # Empty settings that default to the list domain say so, with the domain.
    for key in ("dkim.domain", "auth.authserv_id"):
        assert re.search(rf"^{re.escape(key)} = \(the list domain, [a-z.]+\)$",
                         result.output, re.M), key


def test_bad_config_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "ccr.toml"
    bad.write_text("[server]\nport = 'x'\n", encoding="utf-8")
    result = CliRunner().invoke(ccrlist, ["--config", str(bad), "config"])
    assert result.exit_code == 1
    assert "'server.port' must be an integer" in result.output
    assert str(bad) in result.output


def test_config_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "env.toml"
    cfg.write_text('domain = "lists.ccrweb.ca"\n', encoding="utf-8")
    result = CliRunner().invoke(ccrlist, ["config"], env={"CCR_CONFIG": str(cfg)})
    assert "domain = lists.ccrweb.ca" in result.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("group", [ccrlist, chronicle])
def test_every_command_has_help(group: click.Group) -> None:
    runner = CliRunner()
    for path in _commands(group):
        result = runner.invoke(group, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
