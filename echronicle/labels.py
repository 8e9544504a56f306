"""Fixed wording of the newsletter and archive in each language, and localised dates."""

from __future__ import annotations

from datetime import date

from echronicle.model import Meeting

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "org": "Canadian Council for Refugees",
        "newsletter": "E-Chronicle",
        "issue": "Vol. {volume} no. {number}",
        "in_this_issue": "In this issue",
        "meetings": "Upcoming meetings",
        "view_in_browser": "View this issue in your browser",
        "unsubscribe": "Unsubscribe",
        "why": "You receive the E-Chronicle because you subscribed to the Canadian Council "
               "for Refugees newsletter.",
        "archive": "E-Chronicle archive",
        "skip": "Skip to content",
        "other_lang": "Lire en français",
        "address": "Canadian Council for Refugees, 6839 Drolet #301, Montréal, Quebec H2S 2T1",
    },
    "fr": {
        "org": "Conseil canadien pour les réfugiés",
        "newsletter": "Chronique électronique",
        "issue": "Vol. {volume} no {number}",
        "in_this_issue": "Dans ce numéro",
        "meetings": "Réunions à venir",
        "view_in_browser": "Voir ce numéro dans votre navigateur",
        "unsubscribe": "Se désabonner",
        "why": "Vous recevez la Chronique électronique parce que vous êtes abonné·e au "
               "bulletin du Conseil canadien pour les réfugiés.",
        "archive": "Archives de la Chronique électronique",
        "skip": "Aller au contenu",
        "other_lang": "Read in English",
        "address": "Conseil canadien pour les réfugiés, 6839 Drolet #301, Montréal (Québec) "
                   "H2S 2T1",
    },
}

DASH = "\u2013"  # en dash, for date ranges

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
}


def _day(day: date, lang: str) -> str:
    return "1er" if lang == "fr" and day.day == 1 else str(day.day)


def format_date(day: date, lang: str) -> str:
    """3 October 2017 / 1er octobre 2017."""
    return f"{_day(day, lang)} {MONTHS[lang][day.month - 1]} {day.year}"


def format_range(start: date, end: date | None, lang: str) -> str:
    """A meeting's dates, sharing the month and year where they repeat: 23-24 February."""
    if end is None or end == start:
        return format_date(start, lang)
    if (start.year, start.month) == (end.year, end.month):
        return f"{_day(start, lang)}{DASH}{format_date(end, lang)}"
    if start.year == end.year:
        month = MONTHS[lang][start.month - 1]
        return f"{_day(start, lang)} {month} {DASH} {format_date(end, lang)}"
    return f"{format_date(start, lang)} {DASH} {format_date(end, lang)}"


def meeting_when(meeting: Meeting, lang: str) -> str:
    return format_range(meeting.start, meeting.end, lang)


def issue_label(volume: int, number: int, lang: str) -> str:
    """Vol. 12 no. 2"""
    return LABELS[lang]["issue"].format(volume=volume, number=number)
