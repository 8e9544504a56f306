"""Seeded mutants of sample inputs, for the bounded fuzz tests (same mutants every run)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T", bytes, str)


def mutants(samples: Sequence[T], pieces: Sequence[T], count: int, seed: int,
            reach: int = 2000) -> list[T]:
    """`count` variants of `samples`, each with 1 to 6 insertions of `pieces`, deletions or
    (for bytes) random bytes, within the first `reach` characters."""
    rng = random.Random(seed)
    found: list[T] = []
    for _ in range(count):
        text = rng.choice(samples)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(0, min(len(text), reach) + 1)
            roll = rng.random()
            if roll < 0.6:
                text = text[:at] + rng.choice(pieces) + text[at:]
            elif roll < 0.8:
                text = text[:at] + text[at + rng.randint(1, 20):]
            elif isinstance(text, bytes):
                text = text[:at] + bytes(rng.randrange(256) for _ in range(8)) + text[at:]
            else:
                text = text[:at] + "".join(chr(rng.randrange(1, 0x3000)) for _ in range(4)) \
                    + text[at:]
        found.append(text)
    return found
