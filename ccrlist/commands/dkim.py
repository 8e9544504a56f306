"""Click commands `ccrlist dkim ...`: make the key outgoing mail is signed with."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ccrlist.config.settings import Settings
from ccrlist.delivery.dkim_keys import (
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
@click.option("--selector", default=None, metavar="S",
              help="Selector to publish the key under (default: [dkim] selector).")
@click.option("--bits", type=click.IntRange(1024, 4096), default=2048, show_default=True,
              help="RSA key size.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the private key (default: [dkim] key_file for the "
                   "configured selector, else <data_dir>/dkim/<selector>.pem).")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@click.pass_obj
def keygen(settings: Settings, selector: str | None, bits: int, out: Path | None,
           force: bool) -> None:
    """Write a new RSA private key (mode 0600) and print the DNS TXT record to publish."""
    selector = selector or settings.dkim.selector
    if not valid_selector(selector):
        raise click.BadParameter(f"{selector!r} is not a DNS label", param_hint="--selector")
    # A key for another selector (a rotation) gets a file of its own: writing it over the
    # live key would break every signature until the new record is published.
    live = settings.dkim.key_file if selector == settings.dkim.selector else None
    path = out or live or settings.data_dir / "dkim" / f"{selector}.pem"
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to replace it (mail signed "
                                   "with the old key fails to verify once its record goes)")
    key = generate_key(bits)
    try:
        write_private(path, private_pem(key), force)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; use --force to replace it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    domain = settings.dkim_domain
    click.echo(f"Wrote the {bits}-bit private key to {path} (mode 0600).", err=True)
    if settings.dkim.key_file is None or settings.dkim.key_file.resolve() != path.resolve():
        click.echo(f"Set [dkim] key_file = \"{path}\" in the settings file to sign with it.",
                   err=True)
    if selector != settings.dkim.selector:
        click.echo(f"Set [dkim] selector = \"{selector}\" too.", err=True)
    click.echo(f"Publish this DNS record for {domain}:", err=True)
    click.echo(txt_record(selector, domain, txt_value(key)))
