"""Member CSV parsing and formatting: line-numbered errors and a lossless round trip."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from subscribers.csvfile import (
    format_members_csv,
    neutralise_cell,
    parse_members_csv,
    restore_cell,
)
from subscribers.models import Delivery, DeliveryChoice, Member, NewMember, chosen_delivery


def test_parse_reports_bad_rows_and_keeps_good_ones() -> None:
    text = ("email,name,lang\n"
            "jane@example.org,Jane Doe,en\n"
            "not-an-address,Bad,en\n"
            "\n"
            "luc@example.ca,\"Côté, Luc\",FR\n"
            "x@example.org,X,de\n"
            "y@example.org,Y,en,each,mime,no,extra\n"
            "z@example.org\n"
            "d@example.org,,,daily,plain\n"
            "p@example.org,,,weekly,,2026-12-01\n"
            "n@example.org,,,nomail\n"
            "r@example.org,,,,,no\n"
            "m@example.org,,,hourly\n"
            "f@example.org,,,,html\n"
            "q@example.org,,,,,soon\n")
    rows, errors = parse_members_csv(text)
    midnight = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert rows == [
        NewMember("jane@example.org", "Jane Doe", "en"),
        NewMember("luc@example.ca", "Côté, Luc", "fr"),
        NewMember("z@example.org", "", None),
        NewMember("d@example.org", delivery=DeliveryChoice("daily", "plain")),
        NewMember("p@example.org", delivery=DeliveryChoice("weekly", None, True, midnight)),
        NewMember("n@example.org", delivery=DeliveryChoice(pause=True)),
        NewMember("r@example.org", delivery=DeliveryChoice(pause=False)),
    ]
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [
        (3, "'not-an-address' is not a valid address"),
        (6, "language must be one of en, fr, not 'de'"),
        (7, "expected at most 6 columns (email,name,lang,mode,format,pause)"),
        (13, "mode must be one of each, daily, weekly or nomail, not 'hourly'"),
        (14, "format must be one of mime, plain, not 'html'"),
        (15, "pause must be no, yes or a date (2026-12-01), not 'soon'"),
    ]


def test_a_list_without_digests_refuses_digest_modes() -> None:
    rows, errors = parse_members_csv("a@example.org,,,daily\nb@example.org,,,each\n",
                                     digests=False)
    assert rows == [NewMember("b@example.org", delivery=DeliveryChoice("each"))]
    assert [e.line for e in errors] == [1]


def test_header_is_optional() -> None:
    rows, errors = parse_members_csv("a@example.org,A,en\n")
    assert rows == [NewMember("a@example.org", "A", "en")]
    assert errors == []


def test_hostile_name_is_a_row_error() -> None:
    rows, errors = parse_members_csv('a@example.org,"A\rBcc: x@example.net",en\n')
    assert rows == []
    assert errors[0].line == 1


def test_round_trip() -> None:
    until = datetime(2027, 1, 5, tzinfo=UTC).timestamp()
    members = [
        Member("ccrlist", "jane@example.org", "Jane \"JD\" Doe", "en", "active", "each",
               "t1", None, None),
        Member("ccrlist", "luc@example.ca", "Côté, Luc", "fr", "active", "daily", "t2", None,
               None, None, "daily", "plain"),
        Member("ccrlist", "ann@example.org", "Ann", "en", "active", "nomail", "t3", None,
               None, until, "weekly"),
        Member("ccrlist", "bo@example.org", "Bo", "en", "active", "nomail", "t4", None,
               None, None, "daily"),
    ]
    text = format_members_csv(members)
    assert text.splitlines()[0] == "email,name,lang,mode,format,pause"
    assert text.splitlines()[3:] == ["ann@example.org,Ann,en,weekly,mime,2027-01-05",
                                     "bo@example.org,Bo,en,daily,mime,yes"]
    rows, errors = parse_members_csv(text)
    assert errors == []
    # What import makes of each row is what the member had.
    for member, row in zip(members, rows, strict=True):
        assert (row.address, row.name, row.lang) == (member.address, member.name, member.lang)
        assert chosen_delivery(Delivery(), row.delivery) == member.delivery


HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)",
           "'=already quoted", "''@twice"]


def member(address: str, name: str) -> Member:
    return Member("ccrlist", address, name, "en", "active", "each", "t", None, None)


def test_export_neutralises_formulas() -> None:
    members = [member(f"m{i}@example.org", name) for i, name in enumerate(HOSTILE)]
    members.append(member("-jo@example.org", "Jo"))
    members.append(member("ann@example.org", "Ann = Anne - Annie"))
    cells = list(csv.reader(io.StringIO(format_members_csv(members))))[1:]
    for name, row in zip(HOSTILE, cells, strict=False):
        assert row[1] == "'" + name
    assert cells[-2][0] == "'-jo@example.org"
    assert cells[-1][:2] == ["ann@example.org", "Ann = Anne - Annie"]
    # Every cell a spreadsheet would see starts as text.
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in cells for cell in row)
    rows, errors = parse_members_csv(format_members_csv(members))
    assert errors == []
    assert [(r.address, r.name, r.lang) for r in rows] == [
        (m.address, m.name, m.lang) for m in members]


@pytest.mark.parametrize("value", [*HOSTILE, "", "'", "''", "plain", "O'Brien", "'quoted'"])
def test_neutralise_and_restore_are_inverse(value: str) -> None:
    assert restore_cell(neutralise_cell(value)) == value


def test_a_typed_apostrophe_before_a_formula_is_read_as_text() -> None:
    rows, errors = parse_members_csv("a@example.org,'=1+1,en\n")
    assert errors == []
    assert rows == [NewMember("a@example.org", "=1+1", "en")]


def test_cells_are_trimmed_of_any_white_space_before_they_are_read() -> None:
    """Spreadsheets leave spaces, tabs and no-break spaces around cells; an apostrophe
    before a formula start is dropped after trimming."""
    text = ("  jane@Example.ORG ,\u00a0Jane Doe\u00a0, EN ,\tdaily\t, plain ,no\n"
            "\u2003luc@example.ca,'=1+1\n"
            "'lea@example.org,Léa\n")
    rows, errors = parse_members_csv(text)
    assert rows[:2] == [
        NewMember("jane@example.org", "Jane Doe", "en",
                  DeliveryChoice(mode="daily", digest_format="plain", pause=False)),
        NewMember("luc@example.ca", "=1+1")]
    # An apostrophe before anything but a formula start is part of the cell (and may
    # start an address's local part).
    assert rows[2:] == [NewMember("'lea@example.org", "Léa")] and errors == []
