"""Publish an issue: check it, write its pages, the indexes and the feeds, then (in
`sending.py`) queue it for every receiver of the newsletter list, or one test copy, and
deliver it. The request and who gets which version are planned in `plan.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ccrlist.config.settings import Settings
from echronicle.build import publish_files
from echronicle.checks.preflight import check_edition
from echronicle.listing.folder import left_out_note
from echronicle.plan import PublishRequest, Reporter, SendSummary
from echronicle.reading.edition import parse_edition
from echronicle.reading.library import read_edition
from echronicle.rendering.email import RenderedEmail, render_email
from echronicle.writer import WriteReport

if TYPE_CHECKING:
    from ccrlist.delivery.signing import CopySigner


class ChecksFailed(Exception):
    """The pre-send checks found problems and the request was not forced."""

    def __init__(self, issue_id: str, count: int) -> None:
        super().__init__(f"{issue_id} was not published: fix the problems above, "
                         "or publish with --force")
        self.count = count


@dataclass(frozen=True)
class PublishReport:
    pages: WriteReport
    sent: SendSummary | None = None  # None: nothing was queued
    nobody: bool = False  # the list has no receivers


async def publish_issue(settings: Settings, request: PublishRequest, signer: CopySigner | None,
                        reporter: Reporter) -> PublishReport:
    """Check, write and (unless `request.send` is False) send one issue.

    Loading refuses language versions that disagree on volume, number or date, and
    failed checks refuse sending: either stops before anything is written or queued.
    Every copy is DKIM-signed with `signer` (loaded at start-up); None sends unsigned.
    """
    files = read_edition(settings.issues_dir, request.issue_id,
                         settings.limits.max_issue_bytes)
    edition = parse_edition(request.issue_id, files)
    emails: dict[str, RenderedEmail] = {
        issue.lang: render_email(issue, settings, request.queued_at)
        for issue in edition.versions}
    problems = check_edition(edition, settings, emails, files)
    for problem in problems:
        reporter.problem(str(problem))
    if problems and request.send and not request.force:
        raise ChecksFailed(request.issue_id, len(problems))
    pages, left_out = publish_files(settings, edition, files)
    for broken in left_out:
        reporter.note(left_out_note(broken))
    reporter.note(f"Pages: {settings.site.output_dir} ({len(pages.written)} written, "
                  f"{len(pages.unchanged)} unchanged)")
    if not request.send:
        return PublishReport(pages)
    # The store and the delivery worker are loaded only to send: `--no-send` stays quick.
    from echronicle.sending import send_edition

    sent = await send_edition(settings, edition, emails, request, signer, reporter)
    return PublishReport(pages, sent, nobody=sent is None)
