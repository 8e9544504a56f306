"""`chronicle check`: run every pre-send check on one issue in all its languages (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ccrlist.config.settings import Settings
from echronicle.checks.rendered import Problem, check_email_html, check_feed, check_text_part
from echronicle.reading.model import LANGS, Edition, lang_prefix
from echronicle.rendering.email import RenderedEmail, render_email, site_root
from echronicle.rendering.feeds import render_atom, render_rss


def check_edition(edition: Edition, settings: Settings,
                  emails: dict[str, RenderedEmail] | None = None) -> list[Problem]:
    """Problems with `edition`'s emails (every language) and with its entry in the feeds."""
    problems: list[Problem] = []
    for issue in edition.versions:
        email = (emails or {}).get(issue.lang) or render_email(issue, settings)
        html = email.archive_html().decode("ascii")
        found = check_email_html(html) + check_text_part(email.text)
        problems += [replace(p, part=f"{p.part} ({issue.lang})") for p in found]
    root = site_root(settings)
    for lang in LANGS:
        folder = lang_prefix(lang)
        problems += check_feed(render_rss([edition], root, lang), folder + "feed.xml")
        problems += check_feed(render_atom([edition], root, lang), folder + "atom.xml")
    return problems


def links_of(emails: Iterable[RenderedEmail]) -> list[str]:
    """Every link and image target in rendered emails, for the online link check."""
    from bs4 import BeautifulSoup

    urls: list[str] = []
    for email in emails:
        soup = BeautifulSoup(email.archive_html().decode("ascii"), "html.parser")
        urls += [str(a.get("href")) for a in soup.find_all("a", href=True)
                 if not str(a.get("href")).startswith("#")]
        urls += [str(i.get("src")) for i in soup.find_all("img") if i.get("src")]
    return urls
