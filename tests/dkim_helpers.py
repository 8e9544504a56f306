"""DKIM test helpers: a key made by `ccrlist dkim keygen`, and DNS that serves its TXT record."""

from __future__ import annotations

import dataclasses
import email
import re
from dataclasses import dataclass
from pathlib import Path

import dkim
from click.testing import CliRunner
from dkim.util import parse_tag_value

from ccrlist.config.settings import DkimSettings, Settings
from cli import ccrlist

SELECTOR = "ccr2026"
_RECORD = re.compile(r'^(\S+) IN TXT ((?:"[^"]*" ?)+)$')


@dataclass(frozen=True)
class TestKey:
    """A key file and the one DNS record a verifier may look up."""

    __test__ = False  # not a pytest test class

    path: Path
    record: str  # the line keygen printed

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes | None:
        """What a stub resolver answers: the printed record for its own name, else nothing."""
        found = _RECORD.match(self.record)
        assert found, self.record
        owner, strings = found.groups()
        if name.decode("ascii").rstrip(".").lower() != owner.lower():
            return None
        return "".join(re.findall(r'"([^"]*)"', strings)).encode("ascii")

    def verifies(self, message: bytes) -> bool:
        return bool(dkim.verify(message, dnsfunc=self.dnsfunc, minkey=1024))


def keygen(tmp_path: Path, domain: str, selector: str = SELECTOR, bits: int = 2048) -> TestKey:
    """Run the real `ccrlist dkim keygen` with a settings file for `domain`."""
    config = tmp_path / "keygen.toml"
    config.write_text(f'domain = "{domain}"\ndata_dir = "{tmp_path / "var"}"\n',
                      encoding="utf-8")
    path = tmp_path / "keys" / f"{selector}.pem"
    result = CliRunner().invoke(ccrlist, ["--config", str(config), "dkim", "keygen",
                                          "--selector", selector, "--bits", str(bits),
                                          "--out", str(path)])
    assert result.exit_code == 0, result.output
    return TestKey(path, result.stdout.strip())


def with_key(settings: Settings, key: TestKey, processes: int = 0) -> Settings:
    return dataclasses.replace(settings, dkim=DkimSettings(
        selector=SELECTOR, key_file=key.path, sign_processes=processes))


def signature_tags(message: bytes) -> dict[bytes, bytes]:
    """The tags of the topmost DKIM-Signature field."""
    value = email.message_from_bytes(message)["DKIM-Signature"]
    assert value is not None, "no DKIM-Signature field"
    return dict(parse_tag_value(str(value).encode("ascii")))


def signed_fields(message: bytes) -> list[str]:
    return [h.strip().decode().lower() for h in signature_tags(message)[b"h"].split(b":")]
