"""`chronicle check`: run every pre-send check on one issue in all its languages (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ccrlist.config.settings import Settings
from echronicle.checks.rendered import Problem, check_email_html, check_feed, check_text_part
from echronicle.checks.source import in_file_order, placeholders
from echronicle.listing.entries import listed_edition
from echronicle.reading.edition import IssueFile
from echronicle.reading.model import LANGS, Edition, lang_prefix
from echronicle.rendering.email import RenderedEmail, site_root
from echronicle.rendering.feeds import render_atom, render_rss


def check_edition(edition: Edition, settings: Settings, emails: Mapping[str, RenderedEmail],
                  files: Iterable[IssueFile]) -> list[Problem]:
    """Problems with `edition`'s files (placeholders, by line), its emails (one per language,
    as rendered for sending) and its entry in the feeds."""
    problems = in_file_order(p for file in files for p in placeholders(file))
    for issue in edition.versions:
        email = emails[issue.lang]
        found = check_email_html(email.html) + check_text_part(email.text)
        problems += [replace(p, part=f"{p.part} ({issue.lang})") for p in found]
    root = site_root(settings)
    listed = listed_edition(edition, root)
    for lang in LANGS:
        folder = lang_prefix(lang)
        rss = render_rss([listed.rss[lang]], root, lang, listed.date)
        atom = render_atom([listed.atom[lang]], root, lang, listed.date)
        problems += check_feed(rss, folder + "feed.xml") + check_feed(atom, folder + "atom.xml")
    return problems


def links_of(pages: Iterable[bytes]) -> list[str]:
    """Every link and image target in the web copies of the email, for the online link check
    (a subscriber's own unsubscribe link exists only once a token is put in)."""
    from bs4 import BeautifulSoup

    urls: list[str] = []
    for page in pages:
        soup = BeautifulSoup(page.decode("ascii"), "html.parser")
        urls += [str(a.get("href")) for a in soup.find_all("a", href=True)
                 if not str(a.get("href")).startswith("#")]
        urls += [str(i.get("src")) for i in soup.find_all("img") if i.get("src")]
    return urls
