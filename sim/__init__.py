"""pollpush: how should a service learn that something happened?

The package has two halves. ``sim.scenario``, ``sim.model``, ``sim.run`` and
``sim.sweep`` simulate polling, long polling, direct fan-out and brokered push
and measure what each costs; ``sim.envelopes`` inspects real pub/sub envelopes
without decoding their payloads.
"""

__version__ = "0.1.0"
