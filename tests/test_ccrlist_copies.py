"""How list copies go out (`copy_mode`), as a table: personalised, VERP, probe or batched."""

from __future__ import annotations

import pytest

from ccrlist.config.settings import BounceSettings, DeliverySettings
from ccrlist.copies.mode import copy_mode

BATCHED = DeliverySettings(personalise=False)


@pytest.mark.parametrize(("post_id", "delivery", "bounces", "expected"), [
    (1, DeliverySettings(), BounceSettings(), (True, True, "personalised")),
    (10, DeliverySettings(), BounceSettings(), (True, True, "personalised")),
    (7, DeliverySettings(verp=True), BounceSettings(), (True, True, "personalised")),
    (7, DeliverySettings(personalise=False, verp=True), BounceSettings(),
     (False, True, "verp")),
    (1, BATCHED, BounceSettings(), (False, False, "batched")),
    (9, BATCHED, BounceSettings(), (False, False, "batched")),
    (10, BATCHED, BounceSettings(), (False, True, "probe")),
    (20, BATCHED, BounceSettings(), (False, True, "probe")),
    (21, BATCHED, BounceSettings(), (False, False, "batched")),
    (3, BATCHED, BounceSettings(probe_every=3), (False, True, "probe")),
    (1, BATCHED, BounceSettings(probe_every=1), (False, True, "probe")),
    (10, BATCHED, BounceSettings(probe_every=0), (False, False, "batched")),
])
def test_copy_mode(post_id: int, delivery: DeliverySettings, bounces: BounceSettings,
                   expected: tuple[bool, bool, str]) -> None:
    mode = copy_mode(post_id, delivery, bounces)
    assert (mode.personalised, mode.verp, mode.why) == expected


def test_probes_are_every_nth_post_whatever_the_order_they_are_expanded_in() -> None:
    """Decided by the post's id alone, so a restart (or a re-expansion) decides the same."""
    ids = list(range(1, 101))
    forward = [i for i in ids if copy_mode(i, BATCHED, BounceSettings()).verp]
    backward = [i for i in reversed(ids) if copy_mode(i, BATCHED, BounceSettings()).verp]
    assert forward == sorted(backward) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
