"""Closed forms the simulator should reproduce.

Each function is a textbook result (the source is named in its docstring)
for one of the situations the model can be put in: a consumer polling a
Poisson stream on a fixed grid, several consumers sharing one queue, a long
poller, a subscriber as a single- or multi-server queue, and the delays of
the retry policies. The validation checks (:mod:`sim.validate`) run the
model in exactly those situations and compare.

Pure functions of numbers: no SimPy, no scenario objects. A parameter
outside a formula's domain (a queue with no steady state, a percentile
outside (0, 1)) raises ValueError naming the value and what is expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

JITTERS = ("none", "full", "equal", "decorrelated")


# -- polling -----------------------------------------------------------------


def periodic_poll_mean_wait_s(interval_s: float) -> float:
    """Mean wait of an event for the next poll of a consumer polling every
    ``interval_s``: T / 2.

    Source: the renewal-theory residual life of a deterministic interval
    (Kleinrock, *Queueing Systems* vol. 1, sec. 5.2): an arrival independent
    of the polling grid lands uniformly within its interval, so its wait is
    uniform on (0, T). Holds for Poisson events (PASTA) at any rate.
    """
    _positive("interval_s", interval_s)
    return interval_s / 2


def periodic_poll_wait_quantile_s(interval_s: float, q: float) -> float:
    """The q-quantile of the wait for the next poll: q T (uniform on (0, T),
    as in :func:`periodic_poll_mean_wait_s`)."""
    _positive("interval_s", interval_s)
    if not 0 < q < 1:
        raise ValueError(f"q must be a fraction in (0, 1), got {q}")
    return q * interval_s


def periodic_poll_empty_fraction(rate_per_s: float, interval_s: float) -> float:
    """Fraction of polls that find nothing new: e^(-L T).

    Source: the Poisson distribution of arrivals in a fixed interval (Ross,
    *Introduction to Probability Models*, sec. 5.3): a poll covers the
    interval since the previous one, which holds no event with probability
    e^(-L T). Needs a batch limit the interval never fills.
    """
    _positive("rate_per_s", rate_per_s)
    _positive("interval_s", interval_s)
    return math.exp(-rate_per_s * interval_s)


def shared_queue_mean_wait_s(interval_s: float, consumers: int) -> float:
    """Mean wait of an event in one queue polled by ``consumers`` consumers,
    each every ``interval_s`` at an independent uniform phase: T / (N + 1).

    Source: uniform spacings (David and Nagaraja, *Order Statistics*, sec.
    6.4). N uniform phases cut the circle of length T into gaps G_i with
    E[G_i^2] = 2 T^2 / (N (N + 1)). An event lands in a gap with probability
    G_i / T and waits half of it on average, so the mean wait is
    E[sum G_i^2] / (2 T) = T / (N + 1). The average is over phases too: one
    run has one set of phases, so its mean scatters around this value.
    """
    _positive("interval_s", interval_s)
    if consumers < 1:
        raise ValueError(f"consumers must be at least 1, got {consumers}")
    return interval_s / (consumers + 1)


def long_poll_requests_per_event(
    rate_per_s: float, wait_s: float, round_trip_s: float = 0.0
) -> float:
    """Requests a long-polling consumer makes per event of a Poisson stream.

    With no network delay: 1 / (1 - e^(-L W)). A held poll ends with an
    event (with probability 1 - e^(-L W), by memorylessness independently
    of the past) or empty after W, and the next poll is held at once, so
    requests per event are geometric with that success probability (Ross,
    sec. 2.2; the renewal-reward theorem, sec. 7.4, turns it into a ratio).

    With a fixed ``round_trip_s`` R between an answer leaving the publisher
    and the next poll reaching it, events that come during R are answered
    at once, together. Each poll then delivers L R events from the gap
    before it, plus one more when the gap was empty (probability e^(-L R))
    and an event comes during the hold, so by renewal-reward

        requests per event = 1 / (L R + e^(-L R) (1 - e^(-L W))),

    which is 1 / (1 - e^(-L W)) at R = 0. Assumes the batch limit is never
    reached and the consumer re-polls as soon as it has an answer.
    """
    per_request = _events_per_long_poll(rate_per_s, wait_s, round_trip_s)
    return 1.0 / per_request


def long_poll_empty_answers_per_event(
    rate_per_s: float, wait_s: float, round_trip_s: float = 0.0
) -> float:
    """Empty answers a long-polling consumer receives per event.

    With no network delay: e^(-L W) / (1 - e^(-L W)), the expected number
    of failures before each success of the geometric trials of
    :func:`long_poll_requests_per_event`. With a round trip R a poll is
    empty only if the gap before it and its hold both saw no event, so

        empty answers per event = e^(-L R) e^(-L W) / (events per request).
    """
    per_request = _events_per_long_poll(rate_per_s, wait_s, round_trip_s)
    empty = math.exp(-rate_per_s * (round_trip_s + wait_s))
    return empty / per_request


def _events_per_long_poll(
    rate_per_s: float, wait_s: float, round_trip_s: float
) -> float:
    _positive("rate_per_s", rate_per_s)
    _positive("wait_s", wait_s)
    if round_trip_s < 0:
        raise ValueError(f"round_trip_s must be >= 0, got {round_trip_s}")
    in_gap = rate_per_s * round_trip_s
    return in_gap + math.exp(-in_gap) * -math.expm1(-rate_per_s * wait_s)


# -- queues ------------------------------------------------------------------


def mm1_wait_s(rate_per_s: float, service_rate_per_s: float) -> float:
    """Mean wait in queue (before service starts) of an M/M/1 queue:
    Wq = rho / (mu - L), rho = L / mu.

    Source: Kleinrock, *Queueing Systems* vol. 1, sec. 3.2 (eq. 3.26 with
    Little's law); Gross and Harris, *Fundamentals of Queueing Theory*,
    sec. 2.2.
    """
    rho = _utilisation(rate_per_s, service_rate_per_s, servers=1)
    return rho / (service_rate_per_s - rate_per_s)


def mg1_wait_s(
    rate_per_s: float, service_mean_s: float, service_var_s2: float
) -> float:
    """Mean wait in queue of an M/G/1 queue by the Pollaczek-Khinchine
    formula: Wq = L E[S^2] / (2 (1 - rho)), with E[S^2] = Var S + E[S]^2.

    Source: Kleinrock, vol. 1, sec. 5.7 (eq. 5.105); Gross and Harris,
    sec. 5.1.1.
    """
    _positive("service_mean_s", service_mean_s)
    if service_var_s2 < 0:
        raise ValueError(f"service_var_s2 must be >= 0, got {service_var_s2}")
    rho = _utilisation(rate_per_s, 1.0 / service_mean_s, servers=1)
    second_moment = service_var_s2 + service_mean_s**2
    return rate_per_s * second_moment / (2 * (1 - rho))


def md1_wait_s(rate_per_s: float, service_s: float) -> float:
    """Mean wait in queue of an M/D/1 queue (constant service ``service_s``):
    Pollaczek-Khinchine with no service variance, Wq = rho D / (2 (1 - rho)),
    half the M/M/1 wait at the same load (:func:`mg1_wait_s`)."""
    return mg1_wait_s(rate_per_s, service_s, 0.0)


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang's C
    formula), for ``offered_load`` a = L / mu erlangs on c servers.

    Source: Erlang (1917); Gross and Harris, sec. 2.3 (eq. 2.32);
    Kleinrock, vol. 1, sec. 3.5. Written with Poisson probabilities,
    C = P(c) c / (c - a) / (P(N < c) + P(c) c / (c - a)), N ~ Poisson(a),
    which stays accurate for large c.
    """
    if servers < 1:
        raise ValueError(f"servers must be at least 1, got {servers}")
    if not 0 < offered_load < servers:
        raise ValueError(
            f"offered_load must be in (0, servers) = (0, {servers}) for a steady "
            f"state, got {offered_load}"
        )
    a = offered_load
    waiting = stats.poisson.pmf(servers, a) * servers / (servers - a)
    return float(waiting / (stats.poisson.cdf(servers - 1, a) + waiting))


def mmc_wait_s(rate_per_s: float, service_rate_per_s: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue: Wq = C(c, a) / (c mu - L).

    Source: Gross and Harris, sec. 2.3 (eq. 2.33); Kleinrock, vol. 1,
    sec. 3.5; C is :func:`erlang_c`.
    """
    _utilisation(rate_per_s, service_rate_per_s, servers)
    a = rate_per_s / service_rate_per_s
    return erlang_c(servers, a) / (servers * service_rate_per_s - rate_per_s)


def _utilisation(rate_per_s: float, service_rate_per_s: float, servers: int) -> float:
    _positive("rate_per_s", rate_per_s)
    _positive("service_rate_per_s", service_rate_per_s)
    rho = rate_per_s / (servers * service_rate_per_s)
    if rho >= 1:
        raise ValueError(
            f"utilisation rate_per_s / (servers * service_rate_per_s) = {rho:.4g} "
            f"must be below 1 for a steady state (rate_per_s={rate_per_s}, "
            f"service_rate_per_s={service_rate_per_s}, servers={servers})"
        )
    return rho


# -- retry delays ------------------------------------------------------------


def backoff_ceiling_s(
    base_s: float, cap_s: float, multiplier: float, retry: int
) -> float:
    """The exponential backoff before retry k: min(cap, base m^(k - 1)).

    Source: AWS Architecture Blog, Marc Brooker, "Exponential Backoff and
    Jitter" (2015).
    """
    _positive("base_s", base_s)
    _positive("cap_s", cap_s)
    _retry_number(retry)
    if multiplier < 1:
        raise ValueError(f"multiplier must be >= 1, got {multiplier}")
    return min(cap_s, base_s * multiplier ** (retry - 1))


def exponential_backoff_mean_delay_s(
    base_s: float,
    cap_s: float,
    retry: int,
    multiplier: float = 2.0,
    jitter: str = "none",
) -> float:
    """Expected delay before retry k of capped exponential backoff, with c
    the ceiling :func:`backoff_ceiling_s`.

    Jitter as defined by the AWS Architecture Blog's "Exponential Backoff
    and Jitter": ``none`` waits c; ``full`` draws U(0, c), mean c / 2;
    ``equal`` waits c / 2 + U(0, c / 2), mean 3 c / 4; ``decorrelated``
    draws min(cap, U(base, 3 previous)), whose mean depends on the whole
    chain (:func:`decorrelated_jitter_mean_delays_s`).
    """
    if jitter == "decorrelated":
        _retry_number(retry)
        return float(decorrelated_jitter_mean_delays_s(base_s, cap_s, retry)[-1])
    if jitter not in JITTERS:
        raise ValueError(f"jitter must be one of {', '.join(JITTERS)}; got {jitter!r}")
    ceiling = backoff_ceiling_s(base_s, cap_s, multiplier, retry)
    return ceiling * {"none": 1.0, "full": 0.5, "equal": 0.75}[jitter]


def decorrelated_jitter_mean_delays_s(
    base_s: float, cap_s: float, retries: int, cells: int = 4000
) -> np.ndarray:
    """Expected delays before retries 1 to ``retries`` with decorrelated
    jitter: D_k = min(cap, U(base, 3 D_(k-1))), D_0 = base.

    Source: AWS Architecture Blog, "Exponential Backoff and Jitter" (2015).
    While 3^k base <= cap the cap never binds and the mean follows
    E[D_k] = (base + 3 E[D_(k-1)]) / 2, i.e. 2 base 1.5^k - base. Beyond,
    E[D_k] = E[g(D_(k-1))] with the conditional mean

        g(x) = (base + 3x) / 2                               if 3x <= cap,
        g(x) = cap - (cap - base)^2 / (2 (3x - base))        otherwise,

    which needs the law of D_(k-1). That law is carried on ``cells`` equal
    cells of its support [base, min(cap, 3^k base)] plus an atom at cap,
    each cell's mass placed at its exact mean within the cell. The masses
    and first moments are exact, so where g is linear (no cap) the means
    are exact; beyond, the error is that of g's curvature within a cell,
    O(h^2) for cell width h (a few parts per million or less with the
    default cells).
    """
    _positive("base_s", base_s)
    _positive("cap_s", cap_s)
    _retry_number(retries)
    if cells < 1:
        raise ValueError(f"cells must be at least 1, got {cells}")
    if cap_s <= base_s:
        # U(base, 3 x) is never below base, so the cap always wins
        return np.full(retries, cap_s)

    support = np.array([base_s])
    mass = np.array([1.0])
    means = np.empty(retries)
    for k in range(retries):
        means[k] = mass @ _decorrelated_conditional_mean(support, base_s, cap_s)
        # the next delay lies in [base, min(cap, 3 max)]: a grid over just
        # that span keeps the cells fine while the delays are still small
        top = min(cap_s, 3 * support[-1])
        edges = np.linspace(base_s, top, cells + 1)
        cell_mass, cell_mean, atom = _decorrelated_step(support, mass, edges, base_s)
        keep = cell_mass > 0
        support = np.append(cell_mean[keep], top)
        mass = np.append(cell_mass[keep], atom)
    return means


def _decorrelated_conditional_mean(
    x: np.ndarray, base_s: float, cap_s: float
) -> np.ndarray:
    high = 3 * x
    capped = cap_s - (cap_s - base_s) ** 2 / (2 * (high - base_s))
    return np.where(high <= cap_s, (base_s + high) / 2, capped)


def _decorrelated_step(
    support: np.ndarray, mass: np.ndarray, edges: np.ndarray, base_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
    """The law of the next delay given the previous one's (sorted support):
    each cell's mass and mean, and the mass of the atom at the top edge.

    The next delay is a mixture of uniforms U(base, 3x). At an edge e, the
    sources whose upper end 3x lies below e contribute all their mass (and
    mean), the others the fraction (e - base) / (3x - base) of their mass
    and (e^2 - base^2) / (2 (3x - base)) of their first moment; prefix sums
    over the sorted sources make that O(n log n).
    """
    high = 3 * support
    below = np.searchsorted(high, edges, side="right")
    density = mass / (high - base_s)
    slope = np.concatenate([np.cumsum(density[::-1])[::-1], [0.0]])[below]
    done_mass = np.concatenate([[0.0], np.cumsum(mass)])[below]
    done_moment = np.concatenate([[0.0], np.cumsum(mass * (high + base_s) / 2)])[below]

    cdf = done_mass + (edges - base_s) * slope
    moment = done_moment + (edges**2 - base_s**2) / 2 * slope
    cell_mass = np.diff(cdf)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_mean = np.diff(moment) / cell_mass
    return cell_mass, cell_mean, float(1.0 - cdf[-1])


def scheduled_mean_delay_s(delays_s: Sequence[float], retry: int) -> float:
    """Expected delay before retry k of a schedule whose last entry repeats,
    each delay scaled by U(1 - r, 1 + r): the scheduled delay itself, since
    the factor has mean 1 whatever r (a symmetric uniform; the delay's
    standard deviation is d r / sqrt(3))."""
    _retry_number(retry)
    if not delays_s:
        raise ValueError("delays_s must hold at least one delay, got none")
    return float(delays_s[min(retry, len(delays_s)) - 1])


def _retry_number(retry: int) -> None:
    if retry < 1:
        raise ValueError(f"retry numbers start at 1 (the first retry), got {retry}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
