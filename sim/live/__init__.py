"""Run a scenario for real on one machine and measure what it costs.

A live run replays the events a simulated run of the same scenario would
publish (same seed, same instants, same payload sizes), with publisher,
consumers and subscribers as separate operating-system processes talking
over 127.0.0.1: real HTTP for polling and direct fan-out, a real broker
(RabbitMQ or Redis) for brokered push and broker polling. Each process measures its own
CPU time from the operating system, each connection's bytes are read from
the kernel's TCP counters, and reaction latency is taken on one clock
(``CLOCK_MONOTONIC``, shared by every process of the machine) from the
publish instant carried in the event to the moment a subscriber's worker
starts on it. The result has the metric columns of a simulated run.

Modules: :mod:`~sim.live.plan` (what a scenario becomes when run live, and
what is scaled down), :mod:`~sim.live.wire` (payloads, envelopes, socket and
CPU meters), :mod:`~sim.live.roles` (the processes), :mod:`~sim.live.runner`
(starting, timing and stopping them), :mod:`~sim.live.calibrate` (the cost
profile) and :mod:`~sim.live.compare` (predicted beside measured).
"""

from sim.live.plan import LiveError, LivePlan, plan_live
from sim.live.runner import check_brokers, run_live

__all__ = ["LiveError", "LivePlan", "check_brokers", "plan_live", "run_live"]
