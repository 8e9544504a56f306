"""DKIM: `ccrlist dkim keygen`, the signer against dkimpy's verifier, and bad keys at start-up."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import stat
import tomllib
from pathlib import Path

import pytest
from ccrlist_helpers import free_port
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from dkim_helpers import SELECTOR, TestKey, keygen, signed_fields, with_key

from ccrlist.config.loader import load_settings
from ccrlist.config.parse import parse_settings
from ccrlist.config.settings import DkimSettings, Settings
from ccrlist.delivery.dkim_errors import DkimKeyError
from ccrlist.delivery.dkim_keys import txt_record
from ccrlist.delivery.signing import copy_signer
from cli import ccrlist
from echronicle.commands import chronicle

DOMAIN = "lists.example.org"
ROOT = Path(__file__).resolve().parent.parent
MESSAGE = (b"From: Ana <ana@example.org>\r\nTo: ccrlist@lists.example.org\r\n"
           b"Subject: Hello\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
           b"Message-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"List-Id: <ccrlist.lists.example.org>\r\n"
           b"List-Unsubscribe: <https://lists.example.org/u/tok-ana>\r\n"
           b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
           b"\r\nHi all.\r\n")


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    return keygen(tmp_path_factory.mktemp("dkim"), DOMAIN)


def signed(key: TestKey, message: bytes = MESSAGE) -> bytes:
    signer = copy_signer(with_key(Settings(domain=DOMAIN), key))
    assert signer is not None
    return signer.signer.sign(message)


# --- keygen -------------------------------------------------------------------------------

def test_keygen_writes_a_private_key_only_its_owner_reads(key: TestKey) -> None:
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(key.path.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048


def test_keygen_prints_the_txt_record_in_255_byte_strings(key: TestKey) -> None:
    owner, _, rest = key.record.partition(" IN TXT ")
    assert owner == f"{SELECTOR}._domainkey.{DOMAIN}"
    strings = re.findall(r'"([^"]*)"', rest)
    assert rest == " ".join(f'"{s}"' for s in strings)
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings)
    assert len(strings[0]) == 255
    assert "".join(strings).startswith("v=DKIM1; k=rsa; p=MII")


def test_txt_record_splits_at_255_bytes() -> None:
    assert txt_record("s", "d.org", "x" * 600) == (
        f's._domainkey.d.org IN TXT "{"x" * 255}" "{"x" * 255}" "{"x" * 90}"')
    assert txt_record("s", "d.org", "v=DKIM1") == 's._domainkey.d.org IN TXT "v=DKIM1"'


def _config(tmp_path: Path, dkim: str = "") -> Path:
    path = tmp_path / "ccr.toml"
    # Ports are 1-65535 in a settings file; free ones, though serve stops before listening.
    path.write_text(f'domain = "{DOMAIN}"\ndata_dir = "var"\n[server]\nport = {free_port()}\n'
                    f'[web]\nport = {free_port()}\n{dkim}', encoding="utf-8")
    return path


def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    config = _config(tmp_path, '[dkim]\nkey_file = "keys/dkim.pem"\n')
    runner = CliRunner()
    first = runner.invoke(ccrlist, ["--config", str(config), "dkim", "keygen"])
    assert first.exit_code == 0, first.output
    path = tmp_path / "keys" / "dkim.pem"  # [dkim] key_file, relative to the settings file
    original = path.read_bytes()
    assert first.stdout.startswith(f"ccrlist._domainkey.{DOMAIN} IN TXT ")
    assert "key_file" not in first.stderr  # already the configured file: nothing to set

    again = runner.invoke(ccrlist, ["--config", str(config), "dkim", "keygen"])
    assert again.exit_code == 1
    assert "exists; use --force" in again.output and "Traceback" not in again.output
    assert path.read_bytes() == original

    forced = runner.invoke(ccrlist, ["--config", str(config), "dkim", "keygen", "--force",
                                     "--bits", "1024"])
    assert forced.exit_code == 0, forced.output
    assert path.read_bytes() != original
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["dkim.pem"]


def test_keygen_for_a_new_selector_leaves_the_live_key_alone(tmp_path: Path) -> None:
    """Rotation as the README says: a new selector, with --force out of habit."""
    config = _config(tmp_path, '[dkim]\nkey_file = "keys/dkim.pem"\n')
    runner = CliRunner()
    assert runner.invoke(ccrlist, ["--config", str(config), "dkim", "keygen",
                                   "--bits", "1024"]).exit_code == 0
    live = tmp_path / "keys" / "dkim.pem"
    original = live.read_bytes()
    rotated = runner.invoke(ccrlist, ["--config", str(config), "dkim", "keygen", "--force",
                                      "--selector", "ccr2027", "--bits", "1024"])
    assert rotated.exit_code == 0, rotated.output
    assert live.read_bytes() == original
    assert (tmp_path / "var" / "dkim" / "ccr2027.pem").is_file()
    assert 'selector = "ccr2027"' in rotated.stderr


def test_keygen_without_a_key_file_setting_says_what_to_set(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = CliRunner().invoke(ccrlist, ["--config", str(config), "dkim", "keygen",
                                          "--selector", "news2026", "--bits", "1024"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "var" / "dkim" / "news2026.pem"
    assert written.is_file()
    assert f'key_file = "{written}"' in result.stderr
    assert 'selector = "news2026"' in result.stderr
    assert result.stdout.startswith(f"news2026._domainkey.{DOMAIN} IN TXT ")


@pytest.mark.parametrize(("args", "expected"), [
    (["--selector", "two words"], "not a DNS label"),
    (["--bits", "512"], "512 is not in the range"),
])
def test_keygen_bad_options_are_usage_errors(tmp_path: Path, args: list[str],
                                             expected: str) -> None:
    result = CliRunner().invoke(ccrlist, ["--config", str(_config(tmp_path)), "dkim",
                                          "keygen", *args])
    assert result.exit_code == 2 and expected in result.output
    assert not (tmp_path / "var" / "dkim").exists()


def test_keygen_ed25519_prints_a_k_ed25519_record(tmp_path: Path) -> None:
    config = _config(tmp_path, '[dkim]\nkey_file = "keys/rsa.pem"\n'
                               'ed25519_key_file = "keys/ed.pem"\ned25519_selector = "ed2026"\n')
    result = CliRunner().invoke(ccrlist, ["--config", str(config), "dkim", "keygen",
                                          "--type", "ed25519"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "keys" / "ed.pem"  # the configured ed25519_key_file, its selector
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    # RFC 8463: p= is the 32-byte public key itself, not a SubjectPublicKeyInfo.
    assert result.stdout == (f'ed2026._domainkey.{DOMAIN} IN TXT "v=DKIM1; k=ed25519; '
                             f'p={base64.b64encode(raw).decode()}"\n')
    assert "Ed25519 private key" in result.stderr
    assert "ed25519_key_file" not in result.stderr  # already the configured file


def test_keygen_ed25519_without_settings_says_what_to_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(ccrlist, ["--config", str(_config(tmp_path)), "dkim",
                                          "keygen", "--type", "ed25519"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "var" / "dkim" / "ccrlist-ed25519.pem"
    assert written.is_file()
    assert f'Set [dkim] ed25519_key_file = "{written}"' in result.stderr
    assert "set [dkim] key_file too" in result.stderr  # Ed25519 only beside RSA
    assert result.stdout.startswith(f"ccrlist-ed25519._domainkey.{DOMAIN} IN TXT ")


def test_keygen_ed25519_refuses_bits(tmp_path: Path) -> None:
    result = CliRunner().invoke(ccrlist, ["--config", str(_config(tmp_path)), "dkim",
                                          "keygen", "--type", "ed25519", "--bits", "2048"])
    assert result.exit_code == 2
    assert "--bits is for RSA keys" in result.output
    assert not (tmp_path / "var" / "dkim").exists()


# --- signing ------------------------------------------------------------------------------

def test_signed_copy_verifies_against_the_published_record(key: TestKey) -> None:
    copy = signed(key)
    assert copy.startswith(b"DKIM-Signature: ") and copy.endswith(MESSAGE)
    assert key.verifies(copy)
    fields = signed_fields(copy)
    for name in ("from", "subject", "date", "message-id", "to", "cc", "reply-to",
                 "mime-version", "content-type", "list-id", "list-unsubscribe",
                 "list-unsubscribe-post"):
        assert fields.count(name) == 2, name  # signed, and once more so none can be added


@pytest.mark.parametrize("alter", [
    lambda m: m.replace(b"Subject: Hello", b"Subject: Hellp"),
    lambda m: m.replace(b"tok-ana", b"tok-bob"),
    lambda m: m.replace(b"Hi all.", b"Hi all!"),
    lambda m: m.replace(b"From: Ana", b"From: Eve"),
    # A second List-Unsubscribe or From put on top of the signed one.
    lambda m: m.replace(b"\r\nFrom:", b"\r\nList-Unsubscribe: <https://evil.example/>"
                        b"\r\nFrom:", 1),
    lambda m: m.replace(b"\r\nTo:", b"\r\nFrom: boss@example.org\r\nTo:", 1),
    # Cc was absent when signed: adding one breaks the signature.
    lambda m: m.replace(b"\r\nTo:", b"\r\nCc: spam@example.net\r\nTo:", 1),
], ids=["subject", "token", "body", "from", "extra-list-unsubscribe", "extra-from",
        "added-cc"])
def test_altering_a_signed_copy_breaks_the_signature(key: TestKey, alter: object) -> None:
    copy = signed(key)
    assert callable(alter)
    changed = alter(copy)
    assert changed != copy
    assert not key.verifies(changed)


def test_a_key_under_another_selector_does_not_verify(key: TestKey, tmp_path: Path) -> None:
    other = keygen(tmp_path, DOMAIN)  # same selector and domain, a different key
    assert not other.verifies(signed(key))


def test_header_folding_and_bare_newlines_still_verify(key: TestKey) -> None:
    lf = MESSAGE.replace(b"\r\n", b"\n")
    copy = signed(key, lf)
    assert copy.endswith(lf) and b"\r\n" not in copy
    assert key.verifies(copy)


# --- settings and bad keys ----------------------------------------------------------------

def test_dkim_settings_defaults_and_empty_key_file() -> None:
    assert Settings().dkim == DkimSettings("ccrlist", None, "", None, "ccrlist-ed25519")
    assert copy_signer(Settings()) is None
    s = parse_settings(tomllib.loads('[dkim]\nkey_file = ""\nselector = "s1"\n'), "ccr.toml")
    assert s.dkim.key_file is None and s.dkim.selector == "s1"
    assert copy_signer(s) is None
    assert s.dkim_domain == s.domain
    s = parse_settings(tomllib.loads('[dkim]\ndomain = "ccrweb.ca"\n'), "ccr.toml")
    assert s.dkim_domain == "ccrweb.ca"


def test_key_file_is_relative_to_the_settings_file(tmp_path: Path) -> None:
    s = load_settings(_config(tmp_path, '[dkim]\nkey_file = "k.pem"\n'))
    assert s.dkim.key_file == tmp_path / "k.pem"


def _pem_of(private: object) -> bytes:
    assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return private.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


@pytest.mark.parametrize(("make", "expected"), [
    (None, "no such file (create one with 'ccrlist dkim keygen')"),
    ("dir", "cannot read"),
    (b"not a key\n", "not a PEM private key"),
    (b"", "not a PEM private key"),
    ("encrypted", "it is encrypted"),
    ("ec", "must be RSA"),
    ("public", "not a PEM private key"),
])
def test_bad_key_file_is_a_clean_start_up_error(tmp_path: Path, key: TestKey,
                                                make: object, expected: str) -> None:
    path = tmp_path / "bad.pem"
    private = serialization.load_pem_private_key(key.path.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    if make == "dir":
        path.mkdir()
    elif make == "encrypted":
        path.write_bytes(private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret")))
    elif make == "ec":
        path.write_bytes(_pem_of(ec.generate_private_key(ec.SECP256R1())))
    elif make == "public":
        path.write_bytes(private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    elif isinstance(make, bytes):
        path.write_bytes(make)
    settings = dataclasses.replace(Settings(), dkim=DkimSettings(key_file=path))
    with pytest.raises(DkimKeyError) as info:
        copy_signer(settings)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("dkim", "expected"), [
    (DkimSettings(selector="a b"), "selector 'a b' is not a DNS label"),
    (DkimSettings(domain="bad..domain"), "is not a domain name"),
    (DkimSettings(ed25519_selector="a_b"), "ed25519_selector 'a_b' is not a DNS label"),
])
def test_bad_dkim_settings_are_start_up_errors(key: TestKey, dkim: DkimSettings,
                                               expected: str) -> None:
    settings = dataclasses.replace(Settings(), dkim=dataclasses.replace(dkim,
                                                                        key_file=key.path))
    with pytest.raises(DkimKeyError, match=re.escape(expected)):
        copy_signer(settings)


@pytest.mark.parametrize(("ed", "expected"), [
    ("rsa", "the key must be Ed25519 (ed25519-sha256)"),
    ("missing", "no such file (create one with 'ccrlist dkim keygen --type ed25519')"),
    ("same-selector", "ed25519_selector must differ from [dkim] selector"),
    ("without-rsa", "ed25519_key_file needs [dkim] key_file too"),
])
def test_bad_ed25519_settings_are_start_up_errors(tmp_path: Path, key: TestKey, ed: str,
                                                  expected: str) -> None:
    dkim = DkimSettings(key_file=key.path, ed25519_key_file=key.path)
    if ed == "missing":
        dkim = dataclasses.replace(dkim, ed25519_key_file=tmp_path / "nope.pem")
    elif ed == "same-selector":
        dkim = dataclasses.replace(dkim, ed25519_selector=dkim.selector)
    elif ed == "without-rsa":
        dkim = dataclasses.replace(dkim, key_file=None)
    with pytest.raises(DkimKeyError, match=re.escape(expected)):
        copy_signer(dataclasses.replace(Settings(), dkim=dkim))


def test_serve_with_a_bad_key_exits_1_before_listening(tmp_path: Path) -> None:
    config = _config(tmp_path, '[dkim]\nkey_file = "missing.pem"\n')
    result = CliRunner().invoke(ccrlist, ["--config", str(config), "serve"])
    assert result.exit_code == 1
    assert f"Error: [dkim] key_file {tmp_path / 'missing.pem'}: no such file" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "var").exists()  # nothing opened, nothing created


def test_publish_with_a_bad_key_exits_1_before_writing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n")
    config = _config(tmp_path, f'[dkim]\nkey_file = "{bad}"\n')
    settings = load_settings(config)
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    result = CliRunner().invoke(chronicle, ["publish", "vol12-2"], obj=settings)
    assert result.exit_code == 1
    assert "cannot use as a DKIM key: not a PEM private key" in result.output
    assert not settings.site.output_dir.exists()
    # --no-send sends nothing, so it needs no key.
    built = CliRunner().invoke(chronicle, ["publish", "vol12-2", "--no-send"], obj=settings)
    assert built.exit_code == 0, built.output


def test_serve_and_publish_with_a_bad_ed25519_key_exit_1(tmp_path: Path, key: TestKey) -> None:
    config = _config(tmp_path, f'[dkim]\nkey_file = "{key.path}"\n'
                               f'ed25519_key_file = "{key.path}"\n')  # an RSA key
    served = CliRunner().invoke(ccrlist, ["--config", str(config), "serve"])
    assert served.exit_code == 1
    assert (f"Error: [dkim] ed25519_key_file {key.path}: the key must be Ed25519"
            in served.output)
    assert "Traceback" not in served.output
    assert not (tmp_path / "var").exists()
    settings = load_settings(config)
    settings.issues_dir.mkdir(parents=True)
    shutil.copy(ROOT / "issues" / "vol12-2.md", settings.issues_dir / "vol12-2.md")
    published = CliRunner().invoke(chronicle, ["publish", "vol12-2"], obj=settings)
    assert published.exit_code == 1
    assert "the key must be Ed25519" in published.output
    assert "Traceback" not in published.output
    assert not settings.site.output_dir.exists()
