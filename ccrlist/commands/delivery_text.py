"""How the operator's commands write deliveries, times and ages, and read `--since` (pure)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from subscribers.csvfile import neutralise_cell
from subscribers.models import Timestamp, iso_utc
from subscribers.operator_models import DeliveryRow

_UNITS = {"m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_AGO = re.compile(r"(\d{1,6})\s*([mhdw])", re.ASCII)
COLUMNS = ("message", "list", "recipient", "status", "attempts", "next_try", "last_change",
           "last_reply")


def parse_since(text: str, now: Timestamp) -> Timestamp:
    """`2026-11-24` (midnight UTC), `2026-11-24T10:00`, `2026-11-24T10:00:00-05:00`, or an
    age: `30m`, `24h`, `7d`, `2w`. Raises ValueError with what is accepted."""
    value = text.strip()
    ago = _AGO.fullmatch(value)
    if ago:
        return now - int(ago.group(1)) * _UNITS[ago.group(2)]
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date: write 2026-11-24, 2026-11-24T10:00 (UTC "
                         "unless an offset follows), or an age such as 24h or 7d") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def age(seconds: float) -> str:
    """`45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def message_label(row: DeliveryRow) -> str:
    """`post 12 (ccrlist/abc…)` for a list copy, else what queued it (`notice held:12:0`)."""
    if row.post_id is not None:
        return f"post {row.post_id} ({row.source_ref})"
    return f"{row.source} {row.source_ref}"


def next_try(row: DeliveryRow, empty: str = "-") -> str:
    return iso_utc(row.next_try_at) if row.status in ("pending", "deferred") else empty


def cells(row: DeliveryRow, empty: str = "-") -> tuple[str, ...]:
    """One delivery as the values of `COLUMNS`; `empty` stands for no next try or reply."""
    return (message_label(row), row.list_name, row.recipient, row.status, str(row.attempts),
            next_try(row, empty), iso_utc(row.updated_at),
            " ".join(row.last_reply.split()) or empty)


def deliveries_csv(rows: Iterable[DeliveryRow]) -> str:
    """Deliveries as CSV with a header row; a cell a spreadsheet would run as a formula (a
    reply starting with `-`, say) gets a leading `'` and shows as text."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        # An empty cell, not the table's "-", where there is no next try or no reply yet.
        writer.writerow([neutralise_cell(cell) for cell in cells(row, empty="")])
    return out.getvalue()
