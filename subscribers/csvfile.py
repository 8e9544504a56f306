"""Read and write member CSV files (`email,name,lang`): pure, line-numbered errors.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and
names come from strangers on the web form. Such cells are written with a leading
apostrophe, which spreadsheets show as text; reading drops it again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from subscribers.addresses import AddressError, normalise_address, normalise_name
from subscribers.models import LANGS, Lang, Member, NewMember

HEADER = ("email", "name", "lang")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """`value` as a spreadsheet shows it as text; `restore_cell` undoes it exactly."""
    return "'" + value if value.lstrip("'").startswith(FORMULA_START) else value


def restore_cell(cell: str) -> str:
    """Drop the apostrophe `neutralise_cell` added (or one typed before a formula start)."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START):
        return cell[1:]
    return cell


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def parse_members_csv(text: str) -> tuple[list[NewMember], list[RowError]]:
    """Parse CSV text into members; bad rows become errors and the rest still parse."""
    rows: list[NewMember] = []
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        line = 1
        for record in reader:
            # A quoted field may span lines: report the line the row starts on.
            start, line = line, reader.line_num + 1
            cells = [restore_cell(c.strip()) for c in record]
            if not any(cells):
                continue
            if start == 1 and cells and cells[0].lower() == "email":
                continue
            try:
                rows.append(_row(cells))
            except (AddressError, ValueError) as exc:
                errors.append(RowError(start, str(exc)))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"unreadable CSV: {exc}"))
    return rows, errors


def _row(cells: list[str]) -> NewMember:
    if len(cells) > len(HEADER):
        raise ValueError(f"expected at most {len(HEADER)} columns (email,name,lang)")
    address = normalise_address(cells[0])
    name = normalise_name(cells[1] if len(cells) > 1 else "")
    lang = (cells[2] if len(cells) > 2 else "").lower()
    if lang and lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    checked: Lang | None = "fr" if lang == "fr" else ("en" if lang else None)
    return NewMember(address=address, name=name, lang=checked)


def format_members_csv(members: Iterable[Member]) -> str:
    """Members as CSV with a header row, formulas neutralised; `parse_members_csv` reads it
    back unchanged."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for m in members:
        writer.writerow((neutralise_cell(m.address), neutralise_cell(m.name), m.lang))
    return out.getvalue()
