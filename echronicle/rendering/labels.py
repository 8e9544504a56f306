"""The message catalogue: every fixed word of the newsletter and archive, per language, and dates.

Templates and renderers ask `words(lang)` for a `Words` record and never test the
language themselves; adding a language means adding one record here (mypy checks that
no entry is missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from echronicle.reading.model import Issue, Lang, Meeting

DASH = "\u2013"  # en dash, for date ranges


@dataclass(frozen=True)
class Words:
    """The fixed text of one language."""

    lang: Lang
    org: str  # the organisation, as the footer and feeds name it
    newsletter: str
    masthead: str  # the newsletter's full name, e.g. above the issue title
    list_name: str  # the phrase of the List-Id header
    issue: str  # "Vol. {volume} no. {number}"
    in_this_issue: str
    meetings: str
    view_in_browser: str
    unsubscribe: str
    why: str  # why the reader gets this email
    archive: str  # title of the archive's index page
    skip: str
    language: str  # the aria-label of the language switch
    read_in: str  # the link text that leads TO a page in this language
    only_in: str  # after an index entry with no version in the reader's language
    language_names: Mapping[str, str]  # each language's name, in this language
    address: str
    colon: str  # French puts a space before the colon
    months: tuple[str, str, str, str, str, str, str, str, str, str, str, str]
    first_of_month: str  # "1" / "1er"


ENGLISH = Words(
    lang="en",
    org="Canadian Council for Refugees",
    newsletter="E-Chronicle",
    masthead="Canadian Council for Refugees E-Chronicle",
    list_name="CCR E-Chronicle",
    issue="Vol. {volume} no. {number}",
    in_this_issue="In this issue",
    meetings="Upcoming meetings",
    view_in_browser="View this issue in your browser",
    unsubscribe="Unsubscribe",
    why="You receive the E-Chronicle because you subscribed to the Canadian Council "
        "for Refugees newsletter.",
    archive="E-Chronicle archive",
    skip="Skip to content",
    language="Language",
    read_in="Read in English",
    only_in="(in {language} only)",
    language_names={"en": "English", "fr": "French"},
    address="Canadian Council for Refugees, 6839 Drolet #301, Montréal, Quebec H2S 2T1",
    colon=": ",
    months=("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    first_of_month="1",
)

FRENCH = Words(
    lang="fr",
    org="Conseil canadien pour les réfugiés",
    newsletter="Chronique électronique",
    masthead="Chronique électronique du Conseil canadien pour les réfugiés (CCR)",
    list_name="Chronique électronique du CCR",
    issue="Vol. {volume} no {number}",
    in_this_issue="Dans ce numéro",
    meetings="Réunions à venir",
    view_in_browser="Voir ce numéro dans votre navigateur",
    unsubscribe="Se désabonner",
    why="Vous recevez la Chronique électronique parce que vous êtes abonné·e au "
        "bulletin du Conseil canadien pour les réfugiés (CCR).",
    archive="Archives de la Chronique électronique",
    skip="Aller au contenu",
    language="Langue",
    read_in="Lire en français",
    only_in="(en {language} seulement)",
    language_names={"en": "anglais", "fr": "français"},
    address="Conseil canadien pour les réfugiés, 6839 Drolet #301, Montréal (Québec) "
            "H2S 2T1",
    colon=" : ",
    months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre"),
    first_of_month="1er",
)

CATALOGUE: Mapping[str, Words] = {w.lang: w for w in (ENGLISH, FRENCH)}


def only_in(reader: str, lang: str) -> str:
    """"(in French only)", in the reader's language, for an issue written only in `lang`."""
    w = words(reader)
    return w.only_in.format(language=w.language_names[lang])


def words(lang: str) -> Words:
    """The catalogue entry for `lang` (a `Lang`; the model never holds anything else)."""
    return CATALOGUE[lang]


def _day(day: date, lang: str) -> str:
    return words(lang).first_of_month if day.day == 1 else str(day.day)


def _month(day: date, lang: str) -> str:
    return words(lang).months[day.month - 1]


def format_date(day: date, lang: str) -> str:
    """3 October 2017 / 1er octobre 2017."""
    return f"{_day(day, lang)} {_month(day, lang)} {day.year}"


def format_range(start: date, end: date | None, lang: str) -> str:
    """A meeting's dates, sharing the month and year where they repeat: 23-24 February."""
    if end is None or end == start:
        return format_date(start, lang)
    if (start.year, start.month) == (end.year, end.month):
        return f"{_day(start, lang)}{DASH}{format_date(end, lang)}"
    if start.year == end.year:
        return f"{_day(start, lang)} {_month(start, lang)} {DASH} {format_date(end, lang)}"
    return f"{format_date(start, lang)} {DASH} {format_date(end, lang)}"


def meeting_when(meeting: Meeting, lang: str) -> str:
    return format_range(meeting.start, meeting.end, lang)


def issue_label(volume: int, number: int, lang: str) -> str:
    """Vol. 12 no. 2"""
    return words(lang).issue.format(volume=volume, number=number)


def email_subject(issue: Issue) -> str:
    """E-Chronicle Vol. 12 no. 2: <title>"""
    label = issue_label(issue.volume, issue.number, issue.lang)
    return f"{words(issue.lang).newsletter} {label}: {issue.title}"
