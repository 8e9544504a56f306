"""Click commands `ccrlist dkim ...`: make the keys outgoing mail is signed with."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_keys import (
    KeyType,
    generate_key,
    private_pem,
    txt_record,
    txt_value,
    valid_selector,
)


@click.group(name="dkim")
def dkim_group() -> None:
    """DKIM signing of outgoing mail: make a key and the DNS record for it."""


def write_private(path: Path, pem: bytes, force: bool) -> None:
    """Write `pem` readable by its owner only; an existing file is replaced only with force."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not force:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return
    # Replace atomically: a crash leaves the old key or the new one, never half of one.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dkim_group.command(name="keygen")
@click.option("--type", "key_type", type=click.Choice(["rsa", "ed25519"]), default="rsa",
              show_default=True,
              help="rsa: the key every copy is signed with ([dkim] key_file); ed25519: the "
                   "optional second signature, ed25519-sha256 ([dkim] ed25519_key_file).")
@click.option("--selector", default=None, metavar="S",
              help="Selector to publish the key under (default: [dkim] selector, or "
                   "[dkim] ed25519_selector with --type ed25519).")
@click.option("--bits", type=click.IntRange(1024, 4096), default=None,
              help="RSA key size (default 2048; Ed25519 keys have no size to choose).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the private key (default: the configured key file for "
                   "the configured selector, else <data_dir>/dkim/<selector>.pem).")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@click.pass_obj
def keygen(settings: Settings, key_type: KeyType, selector: str | None, bits: int | None,
           out: Path | None, force: bool) -> None:
    """Write a new private key (mode 0600) and print the DNS TXT record to publish."""
    ed25519 = key_type == "ed25519"
    if ed25519 and bits is not None:
        raise click.UsageError("--bits is for RSA keys; an Ed25519 key has a fixed size")
    setting, configured_selector, configured_file = (
        ("ed25519_key_file", settings.dkim.ed25519_selector, settings.dkim.ed25519_key_file)
        if ed25519 else ("key_file", settings.dkim.selector, settings.dkim.key_file))
    selector_setting = "ed25519_selector" if ed25519 else "selector"
    selector = selector or configured_selector
    if not valid_selector(selector):
        raise click.BadParameter(f"{selector!r} is not a DNS label", param_hint="--selector")
    # A key for another selector (a rotation) gets a file of its own: writing it over the
    # live key would break every signature until the new record is published.
    live = configured_file if selector == configured_selector else None
    path = out or live or settings.data_dir / "dkim" / f"{selector}.pem"
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to replace it (mail signed "
                                   "with the old key fails to verify once its record goes)")
    key = generate_key(key_type, bits or 2048)
    try:
        write_private(path, private_pem(key), force)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; use --force to replace it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    domain = settings.dkim_domain
    kind = "Ed25519" if ed25519 else f"{bits or 2048}-bit RSA"
    click.echo(f"Wrote the {kind} private key to {path} (mode 0600).", err=True)
    if configured_file is None or configured_file.resolve() != path.resolve():
        click.echo(f"Set [dkim] {setting} = \"{path}\" in the settings file to sign with it.",
                   err=True)
    if selector != configured_selector:
        click.echo(f"Set [dkim] {selector_setting} = \"{selector}\" too.", err=True)
    if ed25519 and settings.dkim.key_file is None:
        click.echo("An Ed25519 signature is only added beside the RSA one: set [dkim] "
                   "key_file too ('ccrlist dkim keygen').", err=True)
    click.echo(f"Publish this DNS record for {domain}:", err=True)
    click.echo(txt_record(selector, domain, txt_value(key)))
