"""Claim-check: large payloads travel through object storage.

The publisher stores a payload above the threshold before publishing the
event, which then carries only a reference; a subscriber's worker fetches
the payload before handling the event, so the fetch counts in its reaction
latency. Storage is reached over the ``storage`` link: a PUT and a GET each
cost a request, the payload's bytes, and their round trip, booked to the
instant the event was published, like every cost of a delivery.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from sim.model.engine import later
from sim.model.ledger import PUBLISHER, STORAGE, SUBSCRIBERS, TO_STORAGE, Ledger
from sim.scenario import ClaimCheck


class ClaimChecks:
    """Which events went through storage, and the trips that costs."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: ClaimCheck,
        payload_bytes: np.ndarray,
        leg_s: Callable[[], float],
        ledger: Ledger,
    ):
        self.env = env
        self.claimed = payload_bytes > spec.threshold_bytes
        self.reference_bytes = spec.reference_bytes
        self._payload = payload_bytes.tolist()
        self._leg_s = leg_s
        self._ledger = ledger

    def carried_bytes(self, payload_bytes: np.ndarray) -> np.ndarray:
        """What each event carries in place of its payload."""
        return np.where(self.claimed, self.reference_bytes, payload_bytes)

    def store_then(self, event: int, publish: Callable[[int], None]) -> None:
        """PUT the payload, then ``publish(event)`` once storage has answered."""
        at = self.env.now  # the instant the event was published
        self._ledger.exchange(
            at, TO_STORAGE, PUBLISHER, STORAGE, self._payload[event], 0
        )
        later(self.env, self._leg_s() + self._leg_s(), publish, event)

    def fetch_s(self, event: int, published_at: float) -> float:
        """GET the payload now; how long until the worker has it."""
        self._ledger.exchange(
            published_at, TO_STORAGE, SUBSCRIBERS, STORAGE, 0, self._payload[event]
        )
        return self._leg_s() + self._leg_s()
