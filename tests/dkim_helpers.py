"""DKIM test helpers: keys made by `ccrlist dkim keygen`, DNS that serves their TXT records,
and two independent verifiers of every signature on a copy (dkimpy and authheaders)."""

from __future__ import annotations

import dataclasses
import email
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import authheaders
import dkim
from click.testing import CliRunner
from dkim.util import parse_tag_value

from ccrlist.config.settings import DkimSettings, Settings
from cli import ccrlist

SELECTOR = "ccr2026"
ED_SELECTOR = "ccr2026-ed"
_RECORD = re.compile(r'^(\S+) IN TXT ((?:"[^"]*" ?)+)$')


@dataclass(frozen=True)
class TestKey:
    """A key file and the one DNS record a verifier may look up."""

    __test__ = False  # not a pytest test class

    path: Path
    record: str  # the line keygen printed

    def owner(self) -> str:
        found = _RECORD.match(self.record)
        assert found, self.record
        return found.group(1).lower()

    def value(self) -> bytes:
        found = _RECORD.match(self.record)
        assert found, self.record
        return "".join(re.findall(r'"([^"]*)"', found.group(2))).encode("ascii")

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes | None:
        """What a stub resolver answers: the printed record for its own name, else nothing."""
        return published(self)(name, timeout)

    def verifies(self, message: bytes) -> bool:
        """dkimpy's verdict on the topmost DKIM-Signature field."""
        return bool(dkim.verify(message, dnsfunc=self.dnsfunc, minkey=1024))


DnsFunc = Callable[..., bytes | None]


def published(*keys: TestKey) -> DnsFunc:
    records = {k.owner(): k.value() for k in keys}

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name.decode("ascii").rstrip(".").lower())

    return dnsfunc


def verdicts(message: bytes, *keys: TestKey) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature field, top to bottom, with `keys` in DNS."""
    dnsfunc = published(*keys)
    count = len(email.message_from_bytes(message).get_all("DKIM-Signature") or [])
    found = []
    for i in range(count):
        try:
            found.append(bool(dkim.DKIM(message, minkey=1024).verify(idx=i, dnsfunc=dnsfunc)))
        except dkim.DKIMException:  # what dkim.verify() turns into False for the topmost
            found.append(False)
    return found


def authheaders_dkim(message: bytes, *keys: TestKey) -> str:
    """The dkim= result authheaders writes into Authentication-Results (topmost signature)."""
    header = authheaders.authenticate_message(message, "mx.example.net", spf=False, dkim=True,
                                              arc=False, dmarc=False,
                                              dnsfunc=published(*keys))
    found = re.search(r"\bdkim=(\w+)", header)
    assert found, header
    return found.group(1)


def all_verify(message: bytes, keys: Sequence[TestKey]) -> bool:
    """Every signature verifies with dkimpy, and authheaders says pass."""
    found = verdicts(message, *keys)
    return bool(found) and all(found) and authheaders_dkim(message, *keys) == "pass"


def keygen(tmp_path: Path, domain: str, selector: str = SELECTOR, bits: int = 2048,
           key_type: str = "rsa") -> TestKey:
    """Run the real `ccrlist dkim keygen` with a settings file for `domain`."""
    config = tmp_path / "keygen.toml"
    config.write_text(f'domain = "{domain}"\ndata_dir = "{tmp_path / "var"}"\n',
                      encoding="utf-8")
    path = tmp_path / "keys" / f"{selector}.pem"
    args = ["--config", str(config), "dkim", "keygen", "--selector", selector,
            "--out", str(path), "--type", key_type]
    if key_type == "rsa":
        args += ["--bits", str(bits)]
    result = CliRunner().invoke(ccrlist, args)
    assert result.exit_code == 0, result.output
    return TestKey(path, result.stdout.strip())


def with_key(settings: Settings, key: TestKey, ed25519: TestKey | None = None) -> Settings:
    return dataclasses.replace(settings, dkim=DkimSettings(
        selector=SELECTOR, key_file=key.path,
        ed25519_key_file=None if ed25519 is None else ed25519.path,
        ed25519_selector=ED_SELECTOR))


def signature_tags(message: bytes, index: int = 0) -> dict[bytes, bytes]:
    """The tags of a DKIM-Signature field, the topmost by default."""
    values = email.message_from_bytes(message).get_all("DKIM-Signature")
    assert values, "no DKIM-Signature field"
    return dict(parse_tag_value(str(values[index]).encode("ascii")))


def signed_fields(message: bytes, index: int = 0) -> list[str]:
    return [h.strip().decode().lower()
            for h in signature_tags(message, index)[b"h"].split(b":")]
