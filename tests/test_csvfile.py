"""Member CSV parsing and formatting: line-numbered errors and a lossless round trip."""

from __future__ import annotations

import csv
import io

import pytest

from subscribers.csvfile import (
    format_members_csv,
    neutralise_cell,
    parse_members_csv,
    restore_cell,
)
from subscribers.models import Member, NewMember


def test_parse_reports_bad_rows_and_keeps_good_ones() -> None:
    text = ("email,name,lang\n"
            "jane@example.org,Jane Doe,en\n"
            "not-an-address,Bad,en\n"
            "\n"
            "luc@example.ca,\"Côté, Luc\",FR\n"
            "x@example.org,X,de\n"
            "y@example.org,Y,en,extra\n"
            "z@example.org\n")
    rows, errors = parse_members_csv(text)
    assert rows == [
        NewMember("jane@example.org", "Jane Doe", "en"),
        NewMember("luc@example.ca", "Côté, Luc", "fr"),
        NewMember("z@example.org", "", None),
    ]
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [
        (3, "'not-an-address' is not a valid address"),
        (6, "language must be one of en, fr, not 'de'"),
        (7, "expected at most 3 columns (email,name,lang)"),
    ]


def test_header_is_optional() -> None:
    rows, errors = parse_members_csv("a@example.org,A,en\n")
    assert rows == [NewMember("a@example.org", "A", "en")]
    assert errors == []


def test_hostile_name_is_a_row_error() -> None:
    rows, errors = parse_members_csv('a@example.org,"A\rBcc: x@example.net",en\n')
    assert rows == []
    assert errors[0].line == 1


def test_round_trip() -> None:
    members = [
        Member("ccrlist", "jane@example.org", "Jane \"JD\" Doe", "en", "active", "each",
               "t1", None, None),
        Member("ccrlist", "luc@example.ca", "Côté, Luc", "fr", "active", "each", "t2", None,
               None),
    ]
    rows, errors = parse_members_csv(format_members_csv(members))
    assert errors == []
    assert rows == [NewMember(m.address, m.name, m.lang) for m in members]


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
    assert rows == [NewMember(m.address, m.name, m.lang) for m in members]


@pytest.mark.parametrize("value", [*HOSTILE, "", "'", "''", "plain", "O'Brien", "'quoted'"])
def test_neutralise_and_restore_are_inverse(value: str) -> None:
    assert restore_cell(neutralise_cell(value)) == value


def test_a_typed_apostrophe_before_a_formula_is_read_as_text() -> None:
    rows, errors = parse_members_csv("a@example.org,'=1+1,en\n")
    assert errors == []
    assert rows == [NewMember("a@example.org", "=1+1", "en")]
