"""Score a member's recent bounces (pure): distinct failing days, soft ones only once they last."""

from __future__ import annotations

from collections.abc import Sequence

from subscribers.models import BounceEvent

DAY = 86400.0


def bounce_score(events: Sequence[BounceEvent], soft_persist_seconds: float) -> int:
    """Distinct UTC days with a hard bounce, plus days with a soft one once soft bounces
    have gone on for `soft_persist_seconds` (a full mailbox for a week, a dead server)."""
    days = {int(e.at // DAY) for e in events if e.kind == "hard"}
    soft = [e.at for e in events if e.kind == "soft"]
    if soft and max(soft) - min(soft) >= soft_persist_seconds:
        days |= {int(at // DAY) for at in soft}
    return len(days)
