"""The validation checks, run as tests, and the command that prints them.

Every check of sim.validate must pass at the default seed; its tolerance is
the check's own interval. Further tests show the intervals are tight enough
to tell the model apart from plausible wrong answers, and that the command
reports failures with exit status 1.
"""

import math

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from sim import cli_validate, theory, validate
from sim.validate import (
    CHECKS,
    DEFAULT_SEED,
    CheckResult,
    Runs,
    confidence_per_check,
    run_check,
    select_checks,
)

BY_NAME = {c.name: c for c in CHECKS}
LEVEL = confidence_per_check(len(CHECKS))


@pytest.fixture(scope="module")
def runs() -> Runs:
    """Simulations shared by every test of this module, run once."""
    return Runs()


def measured(name: str, runs: Runs) -> validate.Estimate:
    _, estimate = BY_NAME[name].measure(DEFAULT_SEED, LEVEL, runs)
    return estimate


@pytest.mark.parametrize("name", list(BY_NAME))
def test_model_agrees_with_closed_form(name, runs):
    result = run_check(BY_NAME[name], DEFAULT_SEED, runs)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.passed, (
        f"seed {DEFAULT_SEED}: {name}: expected {result.expected:.6g} "
        f"({result.formula}), simulated {result.estimate:.6g} "
        f"[{result.ci_low:.6g}, {result.ci_high:.6g}], n = {result.n}"
    )


# -- the intervals have power: they exclude plausible wrong answers ----------


def test_poll_latency_interval_excludes_the_wait_plus_one_network_delay(runs):
    est = measured("short_poll.mean_latency", runs)
    assert not est.ci_low <= 1.0 + 0.02 <= est.ci_high


def test_shared_queue_interval_excludes_one_queue_per_consumer(runs):
    if BY_NAME["shared_queue.mean_latency"].missing():
        pytest.skip("the model has no shared queue yet")
    est = measured("shared_queue.mean_latency", runs)
    unshared = theory.periodic_poll_mean_wait_s(validate.SHARED_INTERVAL_S)
    neighbour = theory.shared_queue_mean_wait_s(
        validate.SHARED_INTERVAL_S, validate.SHARED_CONSUMERS + 1
    )
    for wrong in (unshared, neighbour):
        assert not est.ci_low <= wrong <= est.ci_high


def test_round_trip_interval_excludes_the_zero_delay_formula(runs):
    est = measured("long_poll.requests_per_event_with_round_trip", runs)
    wrong = theory.long_poll_requests_per_event(
        validate.LONG_RATE_PER_S, validate.LONG_WAIT_S
    )
    assert not est.ci_low <= wrong <= est.ci_high


@pytest.mark.parametrize(
    "name,wrong",
    [
        # deterministic service's wait at exponential service, and the time
        # in system (latency ending when service ends, not when it starts)
        ("push.mm1_wait", theory.md1_wait_s(validate.MM1_RATE_PER_S, 1.0)),
        ("push.mm1_wait", theory.mm1_wait_s(validate.MM1_RATE_PER_S, 1.0) + 1.0),
        ("push.md1_wait", theory.mm1_wait_s(validate.MD1_RATE_PER_S, 1.0)),
        # c servers as one server c times as fast
        (
            "push.mmc_wait",
            theory.mm1_wait_s(validate.MMC_RATE_PER_S, validate.MMC_SERVERS),
        ),
    ],
)
def test_queue_intervals_exclude_the_neighbouring_model(runs, name, wrong):
    est = measured(name, runs)
    assert not est.ci_low <= wrong <= est.ci_high, (name, wrong)


def test_decorrelated_interval_excludes_the_uncapped_mean(runs):
    est = measured("backoff.decorrelated_jitter", runs)
    base = validate.BACKOFF["base_s"]
    retries = range(1, validate.BACKOFF_RETRIES + 1)
    uncapped = sum(2 * base * 1.5**k - base for k in retries)
    assert not est.ci_low <= uncapped <= est.ci_high


# -- intervals ---------------------------------------------------------------


def test_t_interval_is_mean_plus_minus_t_standard_errors():
    values = [1.0, 2.0, 4.0, 7.0]
    est = validate.t_interval(values, 0.9, "values")
    half = stats.t.ppf(0.95, 3) * np.std(values, ddof=1) / 2
    assert (est.value, est.n) == (3.5, 4)
    assert est.ci_low == pytest.approx(3.5 - half)
    assert est.ci_high == pytest.approx(3.5 + half)


def test_t_interval_of_a_constant_has_no_width():
    est = validate.t_interval([2.5] * 5, 0.99, "values")
    assert est.ci_low == est.value == est.ci_high == 2.5


def test_t_interval_needs_two_values():
    message = r"a t interval needs at least 2 values of runs, got 1"
    with pytest.raises(ValueError, match=message):
        validate.t_interval([1.0], 0.95, "runs")


def test_quantile_interval_covers_the_true_quantile_as_often_as_promised():
    # 400 independent samples of 500 uniforms: a 90% interval for the
    # median should miss about 40 times; it is conservative, so at most
    # that, within binomial noise (Z = 4.4 standard deviations).
    rng = np.random.default_rng(5)
    misses = 0
    for _ in range(400):
        est = validate.quantile_interval(rng.uniform(size=500), 0.5, 0.9)
        misses += not est.ci_low <= 0.5 <= est.ci_high
    assert misses <= 40 + 4.4 * math.sqrt(400 * 0.1 * 0.9), misses


def test_proportion_interval_is_clopper_pearson():
    est = validate.proportion_interval(30, 100, 0.95, "polls")
    ci = stats.binomtest(30, 100).proportion_ci(0.95, method="exact")
    assert (est.value, est.ci_low, est.ci_high) == (0.3, ci.low, ci.high)


def test_intervals_together_hold_with_the_family_confidence():
    assert 1 - len(CHECKS) * (1 - LEVEL) == pytest.approx(validate.FAMILY_CONFIDENCE)


# -- selecting and reporting -------------------------------------------------


def test_check_names_are_unique():
    assert len(BY_NAME) == len(CHECKS)


def test_only_selects_checks_by_substring():
    names = [c.name for c in select_checks("backoff")]
    assert names and all(n.startswith("backoff.") for n in names)


def test_only_matching_nothing_names_the_checks():
    message = r"no check name contains 'nope'; the checks are "
    message += r"short_poll.mean_latency, "
    with pytest.raises(ValueError, match=message):
        select_checks("nope")


def test_a_check_whose_feature_is_missing_is_skipped_with_its_reason():
    check = validate.Check(
        "x", "1", lambda *_: pytest.fail("ran"), lambda: "no feature"
    )
    result = run_check(check)
    assert result.passed is None and result.skipped == "no feature"


def test_a_check_fails_when_the_closed_form_lies_outside_the_interval():
    estimate = validate.Estimate(1.0, 0.9, 1.1, 10, "t interval")
    check = validate.Check("x", "2", lambda *_: (2.0, estimate))
    assert run_check(check).passed is False


def test_command_prints_each_check_and_exits_zero_when_all_pass():
    result = CliRunner().invoke(cli_validate.validate, ["--only", "backoff.equal"])
    assert result.exit_code == 0, result.output
    assert "PASS  backoff.equal_jitter" in result.output
    assert "closed form  sum over retries 1..6 of 3 c_k / 4" in result.output
    assert "expected     19.125" in result.output
    assert "1 passed, 0 failed, 0 skipped" in result.output


def test_command_exits_one_when_a_check_fails(monkeypatch):
    failing = CheckResult("made.up", "1 + 1", 2.0, 3.0, 2.9, 3.1, False, LEVEL, 10, "t")
    monkeypatch.setattr(cli_validate, "run_checks", lambda seed, only: iter([failing]))
    result = CliRunner().invoke(cli_validate.validate, [])
    assert result.exit_code == 1
    assert "FAIL  made.up" in result.output
    assert "simulated    3  [2.9, 3.1]" in result.output
    assert "0 passed, 1 failed, 0 skipped" in result.output


def test_command_rejects_an_only_that_matches_nothing():
    result = CliRunner().invoke(cli_validate.validate, ["--only", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for --only: no check name contains 'nope'" in result.output
