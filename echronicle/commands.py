"""The `chronicle` commands: publish, build, preview and new. Editor errors become clean messages.

Heavy modules are imported inside the commands, so `ccrlist` and `--help` start fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ccrlist.config.settings import Settings
from echronicle.reading.errors import IssueError, UnknownIssue

if TYPE_CHECKING:
    from ccrlist.delivery.signing import CopySigner

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    found = ctx.find_object(Settings)
    return found if found is not None else Settings()


@contextlib.contextmanager
def _editor_errors() -> Iterator[None]:
    """Unknown or malformed ids are usage errors (exit 2); mistakes in a file exit 1."""
    from echronicle.writer import UnsafePath

    try:
        yield
    except UnknownIssue as exc:
        raise click.UsageError(str(exc)) from None
    except IssueError as exc:
        raise click.ClickException(str(exc)) from None
    except UnsafePath as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}") from None


def _now() -> datetime:
    """The clock, read here at the edge only: the Date of messages queued now, and the tag
    of resends and test copies."""
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


@click.group()
def chronicle() -> None:
    """Write, build and send the E-Chronicle newsletter."""


@chronicle.command()
@click.argument("issue_id", metavar="ID")
@click.option("--no-send", is_flag=True, help="Build the pages, feeds and email; send nothing.")
@click.option("--to", "to_address", metavar="ADDRESS", help="Send one test copy to ADDRESS only.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default=None,
              help="Language of the --to test copy (default: the issue's own).")
@click.option("--resend", is_flag=True, help="Send again to everyone, even those who got it.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --resend.")
@click.option("--force", is_flag=True, help="Send even if `chronicle check` finds problems.")
@click.pass_context
def publish(ctx: click.Context, issue_id: str, no_send: bool, to_address: str | None,
            lang: str | None, resend: bool, yes: bool, force: bool) -> None:
    """Check issue ID, build its page, the index and feeds, then send it to every subscriber."""
    from echronicle.plan import NotSent, PublishRequest
    from echronicle.publish import ChecksFailed, publish_issue

    settings = _settings(ctx)
    if resend and to_address:
        raise click.UsageError("use either --resend or --to, not both")
    if lang and not to_address:
        raise click.UsageError("--lang only applies to a --to test copy")
    if to_address:
        from subscribers.addresses import AddressError, normalise_address

        try:
            to_address = normalise_address(to_address)
        except AddressError as exc:
            raise click.UsageError(f"--to: {exc}") from None
    if resend and not yes and not no_send:
        click.confirm(f"Send {issue_id} again to every subscriber, including those who "
                      "already received it?", abort=True)
    now = _now()
    request = PublishRequest(issue_id, now, send=not no_send, test_to=to_address,
                             test_lang=lang, resend=resend, force=force, tag=_stamp(now))
    signer = None if no_send else _signer(settings)
    with contextlib.ExitStack() as stack, _editor_errors():
        if signer is not None:
            stack.callback(signer.close)
        try:
            report = _run(publish_issue(settings, request, signer, _Reporter(stack)))
        except (ChecksFailed, NotSent) as exc:
            raise click.ClickException(str(exc)) from None
    if no_send:
        click.echo("Not sent (--no-send).")
    elif report.nobody:
        click.echo(f"No active subscribers on the '{settings.newsletter.list}' list; "
                   "nothing to send.")
    elif report.sent is not None:
        summary = report.sent
        click.echo(f"Sent {summary.sent}, deferred {summary.deferred}, failed {summary.failed}"
                   + (f", not yet tried {summary.pending}" if summary.pending else "")
                   + f" (newly queued {summary.queued}; via {summary.transport}).")
        if summary.queued == 0 and summary.sent == 0:
            click.echo("Already sent: nobody new to send to. Use --resend to send again.")


class _Reporter:
    """Prints what publishing says as it goes, with a progress bar while sending."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack

    def note(self, line: str) -> None:
        click.echo(line)

    def problem(self, line: str) -> None:
        click.echo(f"problem: {line}", err=True)

    def sending(self, total: int) -> Callable[[int], None]:
        bar = self._stack.enter_context(click.progressbar(length=total, label="Sending"))
        return bar.update


def _signer(settings: Settings) -> CopySigner | None:
    """Load the DKIM key before anything is written, so a bad key stops publish cleanly."""
    from ccrlist.delivery.dkim_errors import DkimKeyError
    from ccrlist.delivery.signing import copy_signer

    try:
        return copy_signer(settings)
    except DkimKeyError as exc:
        raise click.ClickException(str(exc)) from None


def _report(problems: list[Any]) -> list[Any]:
    """Print each problem found by the pre-send checks; return them."""
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    return problems


@chronicle.command()
@click.argument("issue_id", metavar="ID")
@click.option("--links", is_flag=True,
              help="Also check that every http(s) link answers (needs the network).")
@click.pass_context
def check(ctx: click.Context, issue_id: str, links: bool) -> None:
    """Check issue ID before sending: every mistake in its files, with its line, then size,
    alt text, links, placeholders, colours and feeds of what would be sent."""
    from echronicle.checks.preflight import check_edition, links_of
    from echronicle.checks.source import file_problems, in_file_order, placeholders
    from echronicle.reading.edition import parse_edition
    from echronicle.reading.library import read_edition
    from echronicle.rendering.email import RenderedEmail, render_email, render_web_copy

    settings = _settings(ctx)
    now = _now()
    with _editor_errors():
        files = read_edition(settings.issues_dir, issue_id, settings.limits.max_issue_bytes)
    try:
        edition = parse_edition(issue_id, files)
        emails: dict[str, RenderedEmail] = {issue.lang: render_email(issue, settings, now)
                                            for issue in edition.versions}
    except IssueError as exc:
        # What cannot be read cannot be rendered: list every mistake found in the files.
        found = [*file_problems(exc), *(p for file in files for p in placeholders(file))]
        _report(in_file_order(found))
        raise click.ClickException(f"{issue_id}: {len(found)} problem(s) found") from None
    count = len(_report(check_edition(edition, settings, emails, files)))
    if links:
        from echronicle.checks.links import check_links

        pages = [render_web_copy(issue, settings) for issue in edition.versions]
        report = asyncio.run(check_links(links_of(pages)))
        if report.skipped_reason:
            click.echo(f"links not checked: {report.skipped_reason}", err=True)
        else:
            click.echo(f"{report.checked} link(s) checked")
        for url, why in report.broken:
            click.echo(f"problem: links: {url} does not answer ({why})", err=True)
        count += len(report.broken)
    if count:
        raise click.ClickException(f"{issue_id}: {count} problem(s) found")
    click.echo(f"{issue_id}: no problems found")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the async send step; database trouble is a one-line error, not a traceback."""
    from subscribers.db import DatabaseError

    try:
        return asyncio.run(coroutine)
    except DatabaseError as exc:
        raise click.ClickException(f"database error: {exc}") from None


@chronicle.command()
@click.pass_context
def build(ctx: click.Context) -> None:
    """Rebuild the whole archive and both feeds from every issue file (broken ones left out)."""
    from echronicle.build import build_all
    from echronicle.listing.folder import left_out_note

    settings = _settings(ctx)
    with _editor_errors():
        report = build_all(settings)
    for broken in report.left_out:
        click.echo(f"problem: {left_out_note(broken)}", err=True)
    click.echo(f"Built {len(report.editions)} issue(s) into {settings.site.output_dir}: "
               f"{len(report.pages.written)} file(s) written, "
               f"{len(report.pages.unchanged)} unchanged.")
    if report.left_out:
        raise click.ClickException(f"{len(report.left_out)} issue(s) left out: fix them, "
                                   "then build again")


@chronicle.command()
@click.argument("issue_id", metavar="ID")
@click.option("--serve", is_flag=True, help="Serve the preview on http://127.0.0.1:PORT/.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.pass_context
def preview(ctx: click.Context, issue_id: str, serve: bool, port: int) -> None:
    """Write issue ID's email (HTML, text, message) and page for checking, and print the paths."""
    from echronicle.build import preview_dir, write_preview

    settings = _settings(ctx)
    with _editor_errors():
        paths = write_preview(settings, issue_id, _now())
    for path in paths:
        click.echo(str(path))
    if serve:
        from echronicle.preview_server import serve_forever

        folder = preview_dir(settings, issue_id)
        serve_forever(folder, port, lambda url: click.echo(f"Serving {folder} at {url} "
                                                         "(Ctrl-C to stop)"))


VOLUME_NUMBER = re.compile(r"^[a-z]+([0-9]+)-([0-9]+)")


@chronicle.command()
@click.argument("issue_id", metavar="ID")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True,
              help="Language of the issue. If ID.md exists in the other language, writes its "
                   "translation ID.<lang>.md with the same volume, number and date.")
@click.pass_context
def new(ctx: click.Context, issue_id: str, lang: str) -> None:
    """Write a skeleton issue file issues/ID.md for the editor to fill in."""
    from echronicle.build import write_skeleton

    settings = _settings(ctx)
    match = VOLUME_NUMBER.match(issue_id)
    volume, number = (int(match[1]), int(match[2])) if match else (1, 1)
    with _editor_errors():
        path = write_skeleton(settings, issue_id, lang, volume, number, date.today())
    click.echo(f"Wrote {path}; edit it, then run: chronicle preview {issue_id}")
