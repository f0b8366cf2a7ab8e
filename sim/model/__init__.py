"""The SimPy model of how subscribers learn of events.

One model per strategy (``polling`` for short and long polling, ``push`` for
direct fan-out and brokered push), built from shared parts: the workload
(``workload``), the network (``network``), the subscribers (``subscriber``),
the publisher's feed (``feed``) and the cost ledger (``ledger``).

The model knows SimPy, numpy and the scenario objects. It knows nothing of
files, pandas, plotting or the wall clock: :func:`simulate` is a pure function
of its arguments.
"""

from sim.model.core import Outcome, simulate

__all__ = ["Outcome", "simulate"]
