"""Decide how a post's list copies go out (pure): personalised, VERP, or batched.

A personalised copy carries the member's own one-click unsubscribe URL, so it is
one message per recipient, and then a VERP envelope sender costs nothing. Batched
copies share one message; every `probe_every`-th post is still sent with VERP (a
probe), so bounces name their subscriber even when a forwarder hides the address.
The decision depends only on the post's id and the settings, so it is the same
after a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ccrlist.config.settings import BounceSettings, DeliverySettings


@dataclass(frozen=True)
class CopyMode:
    personalised: bool
    verp: bool
    why: str


CopyRule = Callable[[int, DeliverySettings, BounceSettings], CopyMode | None]


def personalised(post_id: int, delivery: DeliverySettings,
                 bounces: BounceSettings) -> CopyMode | None:
    return CopyMode(True, True, "personalised") if delivery.personalise else None


def verp_always(post_id: int, delivery: DeliverySettings,
                bounces: BounceSettings) -> CopyMode | None:
    return CopyMode(False, True, "verp") if delivery.verp else None


def probe(post_id: int, delivery: DeliverySettings, bounces: BounceSettings) -> CopyMode | None:
    every = bounces.probe_every
    return CopyMode(False, True, "probe") if every > 0 and post_id % every == 0 else None


COPY_RULES: tuple[CopyRule, ...] = (personalised, verp_always, probe)
BATCHED = CopyMode(False, False, "batched")


def copy_mode(post_id: int, delivery: DeliverySettings, bounces: BounceSettings) -> CopyMode:
    """The first rule that applies, else plain batched copies."""
    for rule in COPY_RULES:
        mode = rule(post_id, delivery, bounces)
        if mode is not None:
            return mode
    return BATCHED
