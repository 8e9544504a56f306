"""Read and write member CSV files (`email,name,lang,mode,format,pause`): pure,
line-numbered errors.

Only `email` is required. `mode` is how the member receives posts when not paused
(`each`, `daily` or `weekly`; `nomail` reads as a pause with no end), `format` the
digest's (`mime` or `plain`), and `pause` is `no`, `yes` (no end date) or the day it
ends (`2026-12-01`). An empty cell keeps what the member has.

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and
names come from strangers on the web form. Such cells are written with a leading
apostrophe, which spreadsheets show as text; reading drops it again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from subscribers.addresses import AddressError, normalise_address, normalise_name
from subscribers.models import (
    DIGEST_FORMATS,
    LANGS,
    RECEIVE_MODES,
    DeliveryChoice,
    DigestFormat,
    Lang,
    Member,
    NewMember,
    ReceiveMode,
    Timestamp,
)

HEADER = ("email", "name", "lang", "mode", "format", "pause")
_MODES: dict[str, ReceiveMode] = {mode: mode for mode in RECEIVE_MODES}
_FORMATS: dict[str, DigestFormat] = {fmt: fmt for fmt in DIGEST_FORMATS}
NO_CHOICE = DeliveryChoice()  # empty delivery cells: most rows of an import
DayStart = Callable[[date], Timestamp]  # when a pause "until that day" ends
DayOf = Callable[[Timestamp], date]  # the day a pause ends, as it was chosen


def utc_day_start(day: date) -> Timestamp:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def utc_day_of(at: Timestamp) -> date:
    return datetime.fromtimestamp(at, UTC).date()
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


def parse_members_csv(text: str, day_start: DayStart = utc_day_start, digests: bool = True
                      ) -> tuple[list[NewMember], list[RowError]]:
    """Parse CSV text into members; bad rows become errors and the rest still parse.

    `day_start` turns a pause's end date into a time (and may refuse it with ValueError);
    without `digests` (the newsletter list), `daily` and `weekly` are errors.
    """
    rows: list[NewMember] = []
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        line = 1
        for record in reader:
            # A quoted field may span lines: report the line the row starts on.
            start, line = line, reader.line_num + 1
            # Most cells have no space around them and no leading apostrophe: as they are.
            cells = [restore_cell(c.strip()) if c[:1] == "'" or c != c.strip() else c
                     for c in record]
            if not any(cells):
                continue
            if start == 1 and cells and cells[0].lower() == "email":
                continue
            try:
                rows.append(_row(cells, day_start, digests))
            except (AddressError, ValueError) as exc:
                errors.append(RowError(start, str(exc)))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"unreadable CSV: {exc}"))
    return rows, errors


def _row(cells: list[str], day_start: DayStart, digests: bool) -> NewMember:
    if len(cells) > len(HEADER):
        raise ValueError(f"expected at most {len(HEADER)} columns ({','.join(HEADER)})")
    cells = cells + [""] * (len(HEADER) - len(cells))
    address = normalise_address(cells[0])
    name = normalise_name(cells[1])
    lang = cells[2].lower()
    if lang and lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    checked: Lang | None = "fr" if lang == "fr" else ("en" if lang else None)
    return NewMember(address=address, name=name, lang=checked,
                     delivery=_delivery(cells[3].lower(), cells[4].lower(), cells[5].lower(),
                                        day_start, digests))


def _delivery(mode: str, fmt: str, pause: str, day_start: DayStart,
              digests: bool) -> DeliveryChoice:
    if not (mode or fmt or pause):
        return NO_CHOICE
    if mode and mode not in (*RECEIVE_MODES, "nomail"):
        raise ValueError(f"mode must be one of {', '.join(RECEIVE_MODES)} or nomail, "
                         f"not {mode!r}")
    if mode in ("daily", "weekly") and not digests:
        raise ValueError(f"mode {mode!r}: this list has no digests")
    if fmt and fmt not in DIGEST_FORMATS:
        raise ValueError(f"format must be one of {', '.join(DIGEST_FORMATS)}, not {fmt!r}")
    paused: bool | None = True if mode == "nomail" else None
    until: Timestamp | None = None
    if pause in ("yes", "no"):
        paused = pause == "yes"
    elif pause:
        try:
            day = date.fromisoformat(pause)
        except ValueError:
            raise ValueError(f"pause must be no, yes or a date (2026-12-01), "
                             f"not {pause!r}") from None
        paused, until = True, day_start(day)
    return DeliveryChoice(mode=_MODES.get(mode), digest_format=_FORMATS.get(fmt),
                          pause=paused, paused_until=until)


def format_members_csv(members: Iterable[Member], day_of: DayOf = utc_day_of) -> str:
    """Members as CSV with a header row, formulas neutralised; `parse_members_csv` reads it
    back unchanged."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for m in members:
        delivery = m.delivery
        if delivery.mode != "nomail":
            pause = "no"
        elif delivery.paused_until is None:
            pause = "yes"
        else:
            pause = day_of(delivery.paused_until).isoformat()
        writer.writerow((neutralise_cell(m.address), neutralise_cell(m.name), m.lang,
                         delivery.receive_mode, delivery.digest_format, pause))
    return out.getvalue()
