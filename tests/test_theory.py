"""The closed forms of sim.theory, against each other, against explicit
sums, and against small Monte Carlo experiments written here in numpy.

Monte Carlo tolerances are intervals from the number of draws: Z = 4.4
standard errors, which a correct formula exceeds with probability ~1e-5.
"""

import math

import numpy as np
import pytest
from scipy import stats

from sim import theory

Z = 4.4
SEED = 20240611


@pytest.fixture
def rng():
    return np.random.default_rng(SEED)


def test_periodic_poll_wait_is_uniform_over_the_interval():
    assert theory.periodic_poll_mean_wait_s(3.0) == 1.5
    assert theory.periodic_poll_wait_quantile_s(3.0, 0.9) == pytest.approx(2.7)
    median = theory.periodic_poll_wait_quantile_s(3.0, 0.5)
    assert median == theory.periodic_poll_mean_wait_s(3.0)


def test_empty_poll_fraction_is_the_poisson_probability_of_no_event():
    expected = stats.poisson.pmf(0, 0.5 * 4.0)
    assert theory.periodic_poll_empty_fraction(0.5, 4.0) == pytest.approx(expected)


def test_one_consumer_on_a_shared_queue_waits_half_the_interval():
    alone = theory.shared_queue_mean_wait_s(2.0, 1)
    assert alone == theory.periodic_poll_mean_wait_s(2.0)


@pytest.mark.parametrize("consumers", [2, 4, 9])
def test_shared_queue_wait_matches_random_phases_by_monte_carlo(rng, consumers):
    # For each draw of phases, the mean wait of a uniformly placed event is
    # sum(gap^2) / (2 T); average that over many independent phase draws.
    interval, draws = 1.0, 200_000
    phases = np.sort(rng.uniform(0, interval, (draws, consumers)), axis=1)
    gaps = np.diff(phases, axis=1, append=phases[:, :1] + interval)
    waits = (gaps**2).sum(axis=1) / (2 * interval)
    tolerance = Z * waits.std(ddof=1) / math.sqrt(draws)
    expected = theory.shared_queue_mean_wait_s(interval, consumers)
    assert abs(waits.mean() - expected) < tolerance, (SEED, consumers)


def test_long_poll_without_delay_answers_one_event_per_non_empty_answer():
    requests = theory.long_poll_requests_per_event(0.3, 5.0)
    empty = theory.long_poll_empty_answers_per_event(0.3, 5.0)
    p = math.exp(-0.3 * 5.0)
    assert requests == pytest.approx(1 / (1 - p))
    assert empty == pytest.approx(p / (1 - p))
    assert requests - empty == pytest.approx(1.0)


def test_long_poll_round_trip_batches_events_so_fewer_requests_are_needed():
    without = theory.long_poll_requests_per_event(1.0, 1.0)
    with_trip = theory.long_poll_requests_per_event(1.0, 1.0, round_trip_s=0.5)
    assert with_trip < without
    # each non-empty answer now carries more than one event on average
    non_empty = with_trip - theory.long_poll_empty_answers_per_event(1.0, 1.0, 0.5)
    assert 0 < non_empty < 1


@pytest.mark.parametrize("rate,wait,round_trip", [(1.0, 1.0, 0.5), (0.2, 10.0, 2.0)])
def test_long_poll_round_trip_formula_matches_a_direct_simulation(
    rng, rate, wait, round_trip
):
    # A long poller written out directly: a poll reaching the publisher is
    # answered at once if events wait, else at the first event or after the
    # wait; the next poll reaches the publisher one round trip later.
    events = np.cumsum(rng.exponential(1 / rate, 200_000))
    i = 0
    now = 0.0
    per_request = []
    while i < events.size - 1000:
        if events[i] <= now:
            answered_at = now
        elif events[i] <= now + wait:
            answered_at = events[i]
        else:
            answered_at = now + wait
        taken = np.searchsorted(events, answered_at, side="right") - i
        per_request.append(taken)
        i += taken
        now = answered_at + round_trip

    # requests per event = 1 / (events per request). Each poll's count comes
    # from its own round trip and hold, disjoint stretches of a Poisson
    # stream, so the counts are independent; the delta method carries the
    # mean's standard error over to its reciprocal.
    counts = np.asarray(per_request, dtype=float)
    mean = counts.mean()
    tolerance = Z * math.sqrt(counts.var() / counts.size)
    expected = theory.long_poll_requests_per_event(rate, wait, round_trip)
    assert abs(1 / mean - expected) < tolerance / mean**2, (SEED, rate, wait)


def test_mm1_is_mmc_with_one_server_and_pk_with_exponential_service():
    rate, mu = 0.7, 1.3
    wq = theory.mm1_wait_s(rate, mu)
    assert wq == pytest.approx((rate / mu) / (mu - rate))
    assert theory.mmc_wait_s(rate, mu, 1) == pytest.approx(wq)
    assert theory.mg1_wait_s(rate, 1 / mu, 1 / mu**2) == pytest.approx(wq)


def test_deterministic_service_halves_the_mm1_wait():
    mm1 = theory.mm1_wait_s(0.6, 1.0)
    assert theory.md1_wait_s(0.6, 1.0) == pytest.approx(mm1 / 2)
    assert theory.md1_wait_s(0.6, 1.0) == pytest.approx(0.75)


@pytest.mark.parametrize(
    "servers,load", [(1, 0.5), (2, 1.0), (3, 2.1), (10, 8.0), (50, 45.0)]
)
def test_erlang_c_matches_the_explicit_sum(servers, load):
    terms = [load**k / math.factorial(k) for k in range(servers)]
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    assert theory.erlang_c(servers, load) == pytest.approx(top / (sum(terms) + top))


def test_erlang_c_known_values():
    assert theory.erlang_c(1, 0.5) == pytest.approx(0.5)  # rho for one server
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert theory.mmc_wait_s(1.0, 1.0, 2) == pytest.approx(1 / 3)


def test_more_servers_at_the_same_utilisation_wait_less():
    waits = [theory.mmc_wait_s(0.7 * c, 1.0, c) for c in (1, 2, 4, 8)]
    assert waits == sorted(waits, reverse=True)


def test_exponential_backoff_ceiling_doubles_up_to_the_cap():
    ceilings = [theory.backoff_ceiling_s(0.5, 10.0, 2.0, k) for k in range(1, 8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.parametrize(
    "jitter,factor", [("none", 1.0), ("full", 0.5), ("equal", 0.75)]
)
def test_jitter_means_are_fractions_of_the_ceiling(jitter, factor):
    for k in range(1, 8):
        ceiling = theory.backoff_ceiling_s(0.5, 10.0, 2.0, k)
        mean = theory.exponential_backoff_mean_delay_s(0.5, 10.0, k, 2.0, jitter)
        assert mean == pytest.approx(factor * ceiling)


def test_decorrelated_jitter_without_a_binding_cap_follows_the_linear_recursion():
    means = theory.decorrelated_jitter_mean_delays_s(1.0, 1e9, 10)
    exact = [2 * 1.5**k - 1 for k in range(1, 11)]
    np.testing.assert_allclose(means, exact, rtol=1e-12)


def test_decorrelated_jitter_with_a_cap_below_base_always_waits_the_cap():
    means = theory.decorrelated_jitter_mean_delays_s(2.0, 1.0, 3)
    np.testing.assert_array_equal(means, 1.0)


def test_decorrelated_jitter_grid_has_converged():
    coarse = theory.decorrelated_jitter_mean_delays_s(0.1, 20.0, 12)
    fine = theory.decorrelated_jitter_mean_delays_s(0.1, 20.0, 12, cells=16_000)
    np.testing.assert_allclose(coarse, fine, rtol=1e-5)


def test_decorrelated_jitter_with_a_cap_matches_monte_carlo(rng):
    base, cap, retries, draws = 0.5, 10.0, 8, 1_000_000
    delay = np.full(draws, base)
    expected = theory.decorrelated_jitter_mean_delays_s(base, cap, retries)
    for k in range(retries):
        delay = np.minimum(cap, rng.uniform(base, 3 * delay))
        tolerance = Z * delay.std(ddof=1) / math.sqrt(draws)
        assert abs(delay.mean() - expected[k]) < tolerance, (SEED, k + 1)
    assert expected[-1] < cap


def test_decorrelated_mean_is_reachable_through_the_generic_function():
    direct = theory.decorrelated_jitter_mean_delays_s(0.5, 10.0, 4)[-1]
    generic = theory.exponential_backoff_mean_delay_s(
        0.5, 10.0, 4, jitter="decorrelated"
    )
    assert generic == direct


def test_scheduled_delays_repeat_the_last_and_randomisation_keeps_the_mean():
    delays = (1.0, 5.0, 30.0)
    means = [theory.scheduled_mean_delay_s(delays, k) for k in range(1, 6)]
    assert means == [1.0, 5.0, 30.0, 30.0, 30.0]


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: theory.mm1_wait_s(1.0, 1.0),
            r"utilisation rate_per_s / \(servers \* service_rate_per_s\) = 1 must be "
            r"below 1 for a steady state \(rate_per_s=1.0, service_rate_per_s=1.0, "
            r"servers=1\)",
        ),
        (
            lambda: theory.mmc_wait_s(5.0, 1.0, 4),
            r"= 1.25 must be below 1 .*servers=4\)",
        ),
        (lambda: theory.md1_wait_s(2.0, 0.5), r"= 1 must be below 1"),
        (
            lambda: theory.erlang_c(3, 3.0),
            r"offered_load must be in \(0, servers\) = \(0, 3\) for a steady state, "
            r"got 3.0",
        ),
        (lambda: theory.erlang_c(0, 0.5), r"servers must be at least 1, got 0"),
        (
            lambda: theory.periodic_poll_wait_quantile_s(2.0, 1.0),
            r"q must be a fraction in \(0, 1\), got 1.0",
        ),
        (
            lambda: theory.periodic_poll_mean_wait_s(0.0),
            r"interval_s must be > 0, got 0.0",
        ),
        (
            lambda: theory.shared_queue_mean_wait_s(1.0, 0),
            r"consumers must be at least 1, got 0",
        ),
        (
            lambda: theory.long_poll_requests_per_event(1.0, 1.0, -0.1),
            r"round_trip_s must be >= 0, got -0.1",
        ),
        (
            lambda: theory.backoff_ceiling_s(0.5, 10.0, 2.0, 0),
            r"retry numbers start at 1 \(the first retry\), got 0",
        ),
        (
            lambda: theory.backoff_ceiling_s(0.5, 10.0, 0.5, 1),
            r"multiplier must be >= 1, got 0.5",
        ),
        (
            lambda: theory.exponential_backoff_mean_delay_s(
                0.5, 10.0, 1, jitter="half"
            ),
            r"jitter must be one of none, full, equal, decorrelated; got 'half'",
        ),
        (
            lambda: theory.scheduled_mean_delay_s((), 1),
            r"delays_s must hold at least one delay, got none",
        ),
        (
            lambda: theory.mg1_wait_s(0.5, 1.0, -1.0),
            r"service_var_s2 must be >= 0, got -1.0",
        ),
    ],
)
def test_out_of_domain_parameters_are_rejected_naming_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()
