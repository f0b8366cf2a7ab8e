"""The loop that runs the event queue (sim.model.engine.run) against SimPy's
own Environment.run, and the Sampler's lazy stream and put_back."""

import gc

import numpy as np
import pytest
import simpy

from sim.model.engine import Sampler, at_place, later, reserve, run
from sim.scenario import Exponential, Fixed


def scripted(env: simpy.Environment, log: list, schedule) -> simpy.Event:
    """Timeouts, a process and callbacks, several at the same instants;
    returns the event a run stops at."""

    def process():
        log.append(("process starts", env.now))
        yield env.timeout(1.0)
        log.append(("process wakes", env.now))
        yield env.timeout(0.5)
        log.append(("process ends", env.now))

    for i, delay in enumerate([1.0, 0.5, 1.0, 2.0, 1.5]):
        schedule(env, delay, log.append, (f"call {i}", delay))
        timeout = env.timeout(delay)
        timeout.callbacks.append(lambda _e, i=i: log.append((f"timeout {i}", env.now)))
    env.process(process())
    return env.all_of([env.timeout(1.5), env.timeout(1.75)])


def as_timeouts(env, delay, action, *args):
    """What ``later`` stands for: a plain SimPy timeout."""
    env.timeout(delay).callbacks.append(lambda _event: action(*args))


def test_the_loop_keeps_simpys_order_among_simultaneous_events():
    ours, simpys = [], []
    env = simpy.Environment()
    run(env, scripted(env, ours, later))
    stopped_at = env.now
    env = simpy.Environment()
    env.run(until=scripted(env, simpys, as_timeouts))
    assert ours == simpys
    assert stopped_at == env.now == 1.75
    # what falls after the stop is not run
    assert not any(entry[0] == "call 3" for entry in ours)


def test_a_place_reserved_earlier_runs_before_later_callbacks_at_that_instant():
    env = simpy.Environment()
    log = []
    place = reserve(env, 1.0)
    later(env, 1.0, log.append, "later")
    at_place(env, place, log.append, "reserved")
    run(env, env.timeout(2.0))
    assert log == ["reserved", "later"]


def test_a_failed_event_stops_the_run_with_its_error_and_collection_resumes():
    env = simpy.Environment()
    failing = env.event()
    later(env, 1.0, failing.fail, ValueError("broken"))
    assert gc.isenabled()
    with pytest.raises(ValueError, match="broken"):
        run(env, env.timeout(5.0))
    assert gc.isenabled()


def test_collection_is_paused_during_the_run_only():
    env = simpy.Environment()
    seen = []
    later(env, 1.0, lambda: seen.append(gc.isenabled()))
    run(env, env.timeout(2.0))
    assert seen == [False] and gc.isenabled()


def test_an_event_already_processed_runs_nothing():
    env = simpy.Environment()
    done = env.timeout(1.0)
    env.run(until=done)
    log = []
    later(env, 1.0, log.append, "x")
    run(env, done)
    assert log == []


def test_negative_delays_are_refused():
    with pytest.raises(ValueError, match="negative delay"):
        later(simpy.Environment(), -1e-9, print)


def test_a_lazy_stream_draws_what_the_stream_itself_would():
    made = []

    def make():
        made.append(1)
        return np.random.default_rng(7)

    lazy = Sampler(Exponential(kind="exponential", mean=2.0), make)
    eager = Sampler(Exponential(kind="exponential", mean=2.0), np.random.default_rng(7))
    assert made == []  # nothing drawn, nothing made
    assert [lazy() for _ in range(3000)] == [eager() for _ in range(3000)]
    assert made == [1]


@pytest.mark.parametrize("calls", [1, 1024, 1025])
def test_a_value_put_back_is_drawn_again(calls):
    sampler = Sampler(
        Exponential(kind="exponential", mean=1.0), np.random.default_rng(3)
    )
    for _ in range(calls - 1):
        sampler()
    value = sampler()  # the last of a block, or the first of a new one
    sampler.put_back()
    assert sampler() == value
    fixed = Sampler(Fixed(kind="fixed", value=0.25), None)
    fixed()
    fixed.put_back()
    assert fixed() == 0.25
