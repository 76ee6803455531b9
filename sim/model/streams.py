"""Named random streams from one seed: one independent numpy Generator per source of randomness.

A stream is keyed by (seed, replication, name), never by the order streams are created, so adding
a delivery channel or an agent group does not shift the callers: two scenarios run with the same
seed see the same arrivals (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["Streams"]


def _name_key(name: str) -> int:
    """A stable 32-bit key for a stream name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """Random streams of one replication.

    ``SeedSequence(seed, spawn_key=(replication, key(name)))`` is exactly the child that
    ``SeedSequence(seed).spawn`` would give at that position, addressed by name instead of order.
    """

    def __init__(self, seed: int, replication: int = 0):
        self.seed, self.replication = int(seed), int(replication)
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator of source ``name`` (the same object on every call)."""
        rng = self._cache.get(name)
        if rng is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, _name_key(name)))
            rng = self._cache[name] = np.random.Generator(np.random.PCG64(seq))
        return rng
