"""Click commands `ccrlist posts` and `ccrlist archive import|export|remove`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from ccrlist.archive.importing import ImportReport, import_mailbox
from ccrlist.archive.links import KEY
from ccrlist.archive.mbox import mbox_entry, split_mailbox
from ccrlist.commands.members import with_connection
from ccrlist.config.settings import Settings
from subscribers.archive import ArchiveStore, Removal
from subscribers.archive_models import (
    ARCHIVE_IN,
    ARCHIVE_LEFT_OUT,
    ARCHIVE_PENDING,
    ARCHIVE_REMOVED,
    PostSummary,
)
from subscribers.archive_reads import ArchiveReader
from subscribers.db import Connection
from subscribers.members import MemberStore
from subscribers.models import iso_utc
from subscribers.posts import PostStore

STATUSES = ("accepted", "held", "discarded", "rejected")
_ARCHIVE_STATE = {ARCHIVE_PENDING: "-", ARCHIVE_IN: "archived",
                  ARCHIVE_LEFT_OUT: "not archived (X-No-Archive)", ARCHIVE_REMOVED: "removed"}
_PERMALINK = re.compile(rf"(?:.*/archive/)?([a-z0-9][a-z0-9._-]{{0,63}}/{KEY.pattern})/?")


def _line(post: PostSummary) -> str:
    archived = _ARCHIVE_STATE.get(post.archived, "-") if post.status == "accepted" else "-"
    return (f"{post.id}\t{post.permalink}\t{iso_utc(post.received_at)}\t{post.status}\t"
            f"{post.reason or '-'}\t{archived}\t{post.author}\t{post.subject}")


@click.command()
@click.option("--list", "list_name", default=None, help="Only posts to this list.")
@click.option("--status", type=click.Choice(STATUSES), default=None,
              help="Only posts with this status.")
@click.pass_obj
def posts(settings: Settings, list_name: str | None, status: str | None) -> None:
    """Every stored post: id, permalink, received, status, reason, archive, author, subject."""

    async def fetch(conn: Connection) -> list[PostSummary]:
        if list_name is not None:
            await MemberStore(conn).require_list(list_name)
        return await PostStore(conn).listing(list_name, status)  # type: ignore[arg-type]

    found = with_connection(settings, fetch)
    for post in found:
        click.echo(_line(post))
    click.echo(f"{len(found)} post(s)", err=True)


@click.group(name="archive")
def archive_group() -> None:
    """The list archive: import history from a mailbox, export it, take a post down."""


def _report(report: ImportReport, file: Path) -> None:
    for message, problem in report.bad:
        click.echo(f"{file}:{message.line}: message {message.number} not imported: {problem}",
                   err=True)
    click.echo(f"{report.imported} imported, {report.already} already there, "
               f"{report.left_out} left out (X-No-Archive), {len(report.bad)} bad")


@archive_group.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", required=True, help="The list whose history it is.")
@click.pass_obj
def import_archive(settings: Settings, file: Path, list_name: str) -> None:
    """Import FILE (mbox from Mailman 2 or Google Groups, or a LISTSERV notebook) into the
    archive of a list. Nothing is sent. Idempotent by Message-ID; bad messages are reported
    with their line and the rest imported (the exit code is then 1)."""
    size = file.stat().st_size

    async def run(conn: Connection) -> ImportReport:
        await MemberStore(conn).require_list(list_name)
        with file.open("rb") as lines, click.progressbar(
                length=size, label=f"importing {file.name}", file=sys.stderr) as bar:
            blocks = iter(lambda: lines.read(1 << 22), b"")
            return await import_mailbox(ArchiveStore(conn), list_name, file.name,
                                        split_mailbox(blocks),
                                        settings.limits.max_message_bytes,
                                        progress=bar.update)

    try:
        report = with_connection(settings, run)
    except OSError as exc:
        raise click.ClickException(f"{file}: cannot read: {exc}") from None
    _report(report, file)
    if report.bad:
        raise SystemExit(1)


@archive_group.command(name="export")
@click.option("--list", "list_name", required=True, help="The list to export.")
@click.pass_obj
def export_archive(settings: Settings, list_name: str) -> None:
    """Write the list's archive as an mbox file (mboxrd) to standard output, oldest first."""
    out = sys.stdout.buffer

    async def run(conn: Connection) -> int:
        await MemberStore(conn).require_list(list_name)
        count = 0
        async for raw, sender, date in ArchiveReader(conn).export(list_name):
            out.write(mbox_entry(raw, sender, date))
            count += 1
        out.flush()
        return count

    count = with_connection(settings, run)
    click.echo(f"{count} message(s) exported", err=True)


@archive_group.command(name="remove")
@click.argument("permalink")
@click.pass_obj
def remove_post(settings: Settings, permalink: str) -> None:
    """Take the post PERMALINK (`ccrlist/abcd...`, or its page's URL) out of the archive and
    search for good, and forget its text."""
    found = _PERMALINK.fullmatch(permalink.strip())
    if found is None:
        raise click.BadParameter(f"{permalink!r} is not a permalink like ccrlist/"
                                 "k7p2m4q6r3s5t2vw or an archive page's URL",
                                 param_hint="PERMALINK")

    async def run(conn: Connection) -> Removal | None:
        return await ArchiveStore(conn).remove(found.group(1))

    done = with_connection(settings, run)
    if done is None:
        raise click.ClickException(f"no post '{found.group(1)}' (see 'ccrlist posts')")
    click.echo(f"removed post {done.post_id} ({done.permalink})"
               + ("" if done.was_archived else "; it was not in the archive"))
    if done.copies_pending:
        click.echo(f"{done.copies_pending} list cop(ies) still waiting to be delivered keep "
                   "its text until they are sent; run this command again afterwards to "
                   "clear it", err=True)
