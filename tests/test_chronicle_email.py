"""Structural checks of the rendered email, its text part, its headers and the token slot."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from ccrlist.config.settings import Settings
from ccrlist.delivery.tokens import TOKEN_SLOT, personalise
from echronicle.reading.library import load_edition
from echronicle.reading.model import Issue
from echronicle.rendering.email import RenderedEmail, render_email, render_web_copy
from echronicle.rendering.htmlfold import SMTP_LINE_LIMIT, fold_html, longest_line

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "chronicle" / "issues"
LIMIT = 90 * 1024
QUEUED = datetime(2026, 11, 24, 15, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def issue() -> Issue:
    return load_edition(ROOT / "issues", "vol12-2").primary


@pytest.fixture(scope="module")
def rendered(issue: Issue) -> RenderedEmail:
    return render_email(issue, Settings(), QUEUED)


def _parse(message: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_html_has_no_mjml_left_and_sets_lang_title_preheader(issue: Issue,
                                                              rendered: RenderedEmail) -> None:
    soup = BeautifulSoup(rendered.html, "html.parser")
    assert not [tag.name for tag in soup.find_all(True) if tag.name.startswith("mj-")]
    assert soup.html is not None and soup.html["lang"] == "en"
    assert soup.title is not None and issue.title in soup.title.get_text()
    hidden = soup.find("div", style=lambda s: s is not None and "display:none" in s)
    assert hidden is not None and " ".join(hidden.get_text().split()) == issue.summary


def test_every_item_and_meeting_is_present_and_linked_from_the_toc(
        issue: Issue, rendered: RenderedEmail) -> None:
    soup = BeautifulSoup(rendered.html, "html.parser")
    text = " ".join(soup.get_text().split())
    for item in issue.items:
        heading = soup.find(id=item.anchor)
        assert heading is not None
        assert f"{item.number}. {item.title}" == " ".join(heading.get_text().split())
        assert soup.find("a", href=f"#{item.anchor}") is not None
    for meeting in issue.meetings:
        assert meeting.name in text and meeting.place in text
    assert "Join the CCR" in text and "over 170 organizations" in text
    assert "In this issue" in text


def test_links_and_images_are_absolute(rendered: RenderedEmail) -> None:
    soup = BeautifulSoup(rendered.html, "html.parser")
    ids = {tag["id"] for tag in soup.find_all(id=True)}
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    assert hrefs
    for href in hrefs:
        if href.startswith("#"):
            assert href[1:] in ids, href  # a table-of-contents jump within the email
        else:
            assert href.startswith(("https://", "mailto:")), href
    for img in soup.find_all("img"):
        assert img["src"].startswith("https://") and img.get("alt")


def test_no_google_fonts_no_tracking_pixels_no_pure_black(rendered: RenderedEmail) -> None:
    lowered = rendered.html.lower()
    assert "fonts.googleapis" not in lowered and "@import" not in lowered
    soup = BeautifulSoup(rendered.html, "html.parser")
    for img in soup.find_all("img"):
        assert img.get("width") not in ("0", "1") and img.get("height") not in ("0", "1")
    assert "#000000" not in lowered and "color:#000;" not in lowered
    assert "600px" in rendered.html
    assert 'name="color-scheme"' in rendered.html


def test_view_in_browser_and_unsubscribe_links(rendered: RenderedEmail) -> None:
    soup = BeautifulSoup(rendered.html, "html.parser")
    hrefs = {a["href"] for a in soup.find_all("a", href=True)}
    assert "https://lists.example.org/chronicle/vol12-2/" in hrefs
    assert "https://lists.example.org/u/" + TOKEN_SLOT.decode() in hrefs


def test_size_and_line_lengths(rendered: RenderedEmail) -> None:
    assert len(rendered.html.encode()) < LIMIT
    assert rendered.html.isascii()
    for line in rendered.message.split(b"\r\n"):
        assert len(line) <= SMTP_LINE_LIMIT


def test_message_structure_and_headers(rendered: RenderedEmail) -> None:
    msg = _parse(rendered.message)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert msg["List-Id"] == "CCR E-Chronicle <echronicle.lists.example.org>"
    assert msg["List-Unsubscribe"] == (
        "<https://lists.example.org/u/" + TOKEN_SLOT.decode() + ">, "
        "<mailto:echronicle-leave@lists.example.org>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == "<vol12-2.en.echronicle@lists.example.org>"
    # Dated when queued, not on the issue's date (3 October 2017), which stays in the content.
    assert msg["Date"] == "Tue, 24 Nov 2026 15:04:05 +0000"
    assert "3 October 2017" in rendered.text
    assert "Vol. 12 no. 2" in str(msg["Subject"])
    html_part = parts[1]
    assert isinstance(html_part, EmailMessage)
    body = html_part.get_content().replace("\r\n", "\n")
    assert body.rstrip("\n") == rendered.html.rstrip("\n")


def test_rendering_is_stable(issue: Issue, rendered: RenderedEmail) -> None:
    assert render_email(issue, Settings(), QUEUED).message == rendered.message
    resend = render_email(issue, Settings(), QUEUED, "resend-1")
    assert _parse(resend.message)["Message-ID"] == (
        "<vol12-2.en.resend-1.echronicle@lists.example.org>")


def test_token_substitution_survives_every_part(rendered: RenderedEmail) -> None:
    token = "tok-" + "x" * 40
    msg = _parse(personalise(rendered.message, token))
    url = f"https://lists.example.org/u/{token}"
    assert msg["List-Unsubscribe"] == f"<{url}>, <mailto:echronicle-leave@lists.example.org>"
    text_part, html_part = list(msg.iter_parts())
    assert isinstance(text_part, EmailMessage) and isinstance(html_part, EmailMessage)
    assert url in text_part.get_content()
    soup = BeautifulSoup(html_part.get_content(), "html.parser")
    assert soup.find("a", href=url) is not None
    assert TOKEN_SLOT not in personalise(rendered.message, token)


def test_web_copy_has_no_slot_and_no_personal_link(issue: Issue) -> None:
    archived = render_web_copy(issue, Settings())
    assert TOKEN_SLOT not in archived and b"/u/" not in archived
    assert b'<a href="https://lists.example.org/unsubscribe/echronicle?lang=en">Unsubscribe</a>' \
        in archived


def test_text_part_reads_on_its_own(issue: Issue, rendered: RenderedEmail) -> None:
    text = rendered.text
    assert text.startswith("Canadian Council for Refugees E-Chronicle\nVol. 12 no. 2, "
                           "3 October 2017\n")
    for item in issue.items:
        assert f"{item.number}. {item.title}"[:60] in " ".join(text.split())
    assert "https://ccrweb.ca/en/time-to-lead" in text
    assert "write to your Member of Parliament\n<https://ccrweb.ca/en/take-action-levels-2018>" \
        in text or "<https://ccrweb.ca/en/take-action-levels-2018>" in text
    assert "  * Resettle 20,000 government-assisted refugees annually." in text
    assert "UPCOMING MEETINGS" in text and "30 November \u2013 2 December 2017" in text
    assert "JOIN THE CCR" in text
    assert "<" not in text.replace("<https://", "").replace("<mailto:", "")  # no HTML tags
    assert all(len(line) <= 78 or "https://" in line for line in text.splitlines())


def test_french_version_uses_french_wording() -> None:
    edition = load_edition(FIXTURES, "vol12-2")
    french = render_email(edition.version("fr"), Settings(), QUEUED)
    soup = BeautifulSoup(french.html, "html.parser")
    assert soup.html is not None and soup.html["lang"] == "fr"
    assert "Dans ce numéro" in soup.get_text() and "Se désabonner" in soup.get_text()
    assert "https://lists.example.org/chronicle/vol12-2/fr/" in french.text
    msg = _parse(french.message)
    assert msg["Content-Language"] == "fr"
    assert "C\u2019est le temps" in str(msg["Subject"])


def test_editor_text_is_escaped(tmp_path: Path) -> None:
    (tmp_path / "vol1-1.md").write_text(
        "---\ntitle: <script>alert(1)</script>\nvolume: 1\nnumber: 1\ndate: 2020-01-01\n"
        "summary: a & b\n---\n\n## <b>bold?</b>\n\n<i>raw</i> html\n", "utf-8")
    rendered = render_email(load_edition(tmp_path, "vol1-1").primary, Settings(), QUEUED)
    assert "<script>" not in rendered.html and "<i>raw</i>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html


@pytest.mark.parametrize("width", [20, 80, 200])
def test_fold_html_keeps_attribute_values_and_comments_whole(width: int) -> None:
    long_href = "https://example.org/u/" + "T" * 60
    html = ('<div style="a: b; c: d"><!--[if mso | IE]><table width="600"><![endif]-->'
            + "word " * 100 + f'<a href="{long_href}" title="a b c">é link</a></div>')
    folded = fold_html(html, width)
    assert long_href in folded and 'title="a b c"' in folded
    assert "<!--[if mso | IE]><table width=\"600\"><![endif]-->" in folded
    assert " ".join(folded.split()) == " ".join(html.replace("é", "&#233;").split())
    assert longest_line(folded) <= max(width, len(f'href="{long_href}"') + 10)
