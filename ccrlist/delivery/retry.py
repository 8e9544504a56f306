"""Decide what a relay's reply means for one recipient: sent, retry later, or failed (pure).

The retry schedule is the `[delivery]` settings' own: one place for its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ccrlist.config.settings import DeliverySettings

DeliveryStatus = Literal["sent", "deferred", "failed"]


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_delay_seconds: float
    max_age_seconds: float

    @classmethod
    def from_settings(cls, delivery: DeliverySettings) -> RetryPolicy:
        return cls(base_seconds=delivery.retry_base_seconds,
                   max_delay_seconds=delivery.retry_max_seconds,
                   max_age_seconds=delivery.max_age_days * 86400.0)


@dataclass(frozen=True)
class RetryDecision:
    status: DeliveryStatus
    next_try_at: float = 0.0
    bounce: bool = False


def backoff(policy: RetryPolicy, attempts: int) -> float:
    """Delay before the next try after `attempts` failed tries (1, 2, 4, ... times base)."""
    delay: float = policy.base_seconds * 2.0 ** max(attempts - 1, 0)
    return min(delay, policy.max_delay_seconds)


def decide(policy: RetryPolicy, code: int, attempts_before: int, created_at: float,
           now: float) -> RetryDecision:
    """Map an SMTP reply code (0 for no answer at all) to what happens next.

    2xx is delivered; 5xx fails at once and counts as a bounce; anything else
    (4xx, a dropped connection) is retried with exponential backoff until the
    message is older than the maximum age.
    """
    if 200 <= code < 300:
        return RetryDecision("sent")
    if 500 <= code < 600:
        return RetryDecision("failed", bounce=True)
    next_try = now + backoff(policy, attempts_before + 1)
    if next_try - created_at > policy.max_age_seconds:
        return RetryDecision("failed")
    return RetryDecision("deferred", next_try_at=next_try)
