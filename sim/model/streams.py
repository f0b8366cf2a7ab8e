"""Named random streams, each spawned from the scenario seed.

Every stream is a :class:`numpy.random.Generator` whose seed sequence is keyed
by the replication, the purpose of the stream and, where it matters, a
subscriber or strategy. Nothing depends on the order in which streams are
created, so a run gives identical results in any process, and strategies of
one replication see the same arrivals, payloads and service times (common
random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

_PURPOSES = {
    "arrivals": 1,
    "payload": 2,
    "service": 3,
    "network": 4,
    "phase": 5,
    "faults": 6,
    "retry": 7,
    "poll": 8,
    "types": 9,
    "sidecar": 10,
    "storage": 11,
}


def stream(
    seed: int, replication: int, purpose: str, *keys: int
) -> np.random.Generator:
    """The generator for ``purpose`` in ``replication`` of a scenario."""
    key = (replication, _PURPOSES[purpose], *keys)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))
    )


def name_key(name: str) -> int:
    """A stable integer for a strategy name (Python's hash() is salted)."""
    return zlib.crc32(name.encode("utf-8"))
