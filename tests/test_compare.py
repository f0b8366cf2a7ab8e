"""Paired differences between strategies and the crossover finder."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.compare import (
    all_crossovers,
    compare_runs,
    crossovers,
    paired_differences,
    sweep_axes,
)

RATE = "workload.arrivals.rate_per_s"
SEED = 3


def runs_frame(
    values: dict[str, list[list[float]]],
    xs: list[float],
    metric: str = "cpu_s_per_event",
    extra: dict | None = None,
) -> pd.DataFrame:
    """A tidy runs frame: ``values[strategy][point][replication]``."""
    rows = []
    for name, per_point in values.items():
        for point, (x, reps) in enumerate(zip(xs, per_point)):
            for rep, value in enumerate(reps):
                rows.append(
                    {
                        "point": point,
                        RATE: x,
                        **(extra or {}),
                        "strategy": name,
                        "kind": "fanout",
                        "replication": rep,
                        "seed": 1,
                        metric: value,
                    }
                )
    return pd.DataFrame(rows)


def repeat(values: list[float], reps: int = 3) -> list[list[float]]:
    return [[v] * reps for v in values]


def test_swept_parameters_are_the_columns_that_are_neither_identity_nor_metric():
    extra = {"strategies.poll.interval_s": 2}
    runs = runs_frame({"a": repeat([1.0])}, [0.5], extra=extra)
    assert sweep_axes(runs) == [RATE, "strategies.poll.interval_s"]


def test_paired_difference_is_the_t_interval_of_per_replication_differences():
    a = [[1.0, 2.0, 4.0, 3.0]]
    b = [[0.5, 1.8, 3.0, 3.1]]
    table = paired_differences(runs_frame({"a": a, "b": b}, [1.0]))
    row = table.iloc[0]
    d = np.subtract(a[0], b[0])
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert (row["strategy"], row["versus"], row["metric"], row["n"]) == (
        "a",
        "b",
        "cpu_s_per_event",
        4,
    )
    assert row["mean"] == pytest.approx(d.mean())
    assert row["ci95_low"] == pytest.approx(d.mean() - half)
    assert row["ci95_high"] == pytest.approx(d.mean() + half)
    assert (row["strategy_mean"], row["versus_mean"]) == (2.5, pytest.approx(2.1))


def test_noise_shared_by_both_strategies_cancels_in_the_paired_interval():
    rng = np.random.default_rng(SEED)
    shared = rng.normal(10.0, 3.0, 8)  # the same events in every strategy
    runs = runs_frame({"a": [list(shared + 0.2)], "b": [list(shared)]}, [1.0])
    row = paired_differences(runs).iloc[0]
    assert row["ci95_low"] == pytest.approx(0.2) == row["ci95_high"]
    # the strategies' own intervals overlap almost entirely
    assert np.std(shared, ddof=1) > 1


def test_replications_missing_the_metric_in_either_strategy_are_left_out():
    runs = runs_frame({"a": [[1.0, np.nan, 3.0]], "b": [[0.0, 1.0, np.nan]]}, [1.0])
    row = paired_differences(runs).iloc[0]
    assert (row["n"], row["mean"]) == (1, 1.0)
    assert math.isnan(row["ci95_low"]) and math.isnan(row["ci95_high"])


def test_a_pair_without_any_common_replication_has_n_zero():
    runs = runs_frame({"a": [[np.nan, np.nan]], "b": [[1.0, 2.0]]}, [1.0])
    row = paired_differences(runs).iloc[0]
    assert row["n"] == 0 and math.isnan(row["mean"])


def test_pairs_follow_the_strategy_order_once_or_in_both_orders():
    values = {"c": repeat([1.0]), "a": repeat([2.0]), "b": repeat([4.0])}
    runs = runs_frame(values, [1.0])
    once = paired_differences(runs)
    pairs = list(zip(once["strategy"], once["versus"]))
    assert pairs == [("c", "a"), ("c", "b"), ("a", "b")]
    both = paired_differences(runs, both_orders=True).set_index(["strategy", "versus"])
    assert len(both) == 6
    assert both.loc[("b", "a"), "mean"] == -both.loc[("a", "b"), "mean"] == 2.0


def test_every_point_and_metric_gets_a_row_with_its_swept_values():
    runs = runs_frame({"a": repeat([1.0, 2.0]), "b": repeat([2.0, 1.0])}, [0.1, 10.0])
    runs["latency_mean_s"] = 0.5
    table = paired_differences(runs)
    assert list(zip(table["point"], table[RATE], table["metric"])) == [
        (0, 0.1, "latency_mean_s"),
        (0, 0.1, "cpu_s_per_event"),
        (1, 10.0, "latency_mean_s"),
        (1, 10.0, "cpu_s_per_event"),
    ]


def test_an_unknown_metric_is_rejected_naming_those_present():
    runs = runs_frame({"a": repeat([1.0]), "b": repeat([2.0])}, [1.0])
    message = (
        r"no metric column 'cpu_per_event' in the runs; "
        r"metrics present: cpu_s_per_event"
    )
    with pytest.raises(ValueError, match=message):
        paired_differences(runs, metrics=["cpu_per_event"])


def test_two_rows_for_one_run_are_rejected():
    runs = runs_frame({"a": [[1.0, 2.0]]}, [1.0])
    runs = pd.concat([runs, runs.iloc[[0]]])
    with pytest.raises(
        ValueError,
        match=r"runs hold more than one row for point 0, "
        r"replication 0, strategy 'a'; expected one run per",
    ):
        paired_differences(runs)


def test_crossover_on_linear_scales_is_where_the_two_lines_meet():
    xs = [0.0, 1.0, 2.0, 3.0]
    runs = runs_frame({"up": repeat(xs), "flat": repeat([1.6] * 4)}, xs)
    row = crossovers(runs, RATE, "cpu_s_per_event").iloc[0]
    assert row["crossover"] == pytest.approx(1.6)
    assert (row["bracket_low"], row["bracket_high"]) == (1.0, 2.0)
    assert (row["lower_below"], row["lower_above"]) == ("up", "flat")
    assert (row["x_scale"], row["y_scale"]) == ("linear", "linear")
    assert row["axis"] == RATE and row["metric"] == "cpu_s_per_event"


def test_crossover_of_a_power_law_is_exact_on_log_scales():
    # polling's cost per event falls as 1/rate; push's is constant: they
    # meet at rate 0.3 / 0.5 = 0.6, which linear interpolation misses
    xs = [0.01, 0.1, 1.0, 10.0]
    poll = [0.3 / x for x in xs]
    runs = runs_frame({"poll": repeat(poll), "push": repeat([0.5] * 4)}, xs)
    row = crossovers(runs, RATE, "cpu_s_per_event").iloc[0]
    assert row["crossover"] == pytest.approx(0.6, rel=1e-12)
    assert (row["x_scale"], row["y_scale"]) == ("log", "log")
    assert (row["lower_below"], row["lower_above"]) == ("push", "poll")


def test_values_spanning_less_than_a_decade_are_interpolated_linearly():
    xs = [0.01, 0.1, 1.0]
    runs = runs_frame({"a": repeat([1.0, 2.0, 3.0]), "b": repeat([3.0, 2.5, 1.0])}, xs)
    row = crossovers(runs, RATE, "cpu_s_per_event").iloc[0]
    assert (row["x_scale"], row["y_scale"]) == ("log", "linear")
    # a - b is -2, -0.5, 2 at log10 x = -2, -1, 0: the lines meet at
    # log10 x = -1 + 0.5 / 2.5
    assert row["crossover"] == pytest.approx(10 ** (-1 + 0.5 / 2.5))


def test_pairs_that_never_cross_report_none_and_the_lower_one():
    xs = [1.0, 2.0, 3.0]
    runs = runs_frame({"a": repeat([5.0, 6.0, 7.0]), "b": repeat([1.0, 2.0, 3.0])}, xs)
    row = crossovers(runs, RATE, "cpu_s_per_event").iloc[0]
    assert math.isnan(row["crossover"]) and math.isnan(row["bracket_low"])
    assert row["lower_below"] == row["lower_above"] == "b"


def test_equal_strategies_are_reported_as_a_tie():
    runs = runs_frame({"a": repeat([1.0, 2.0]), "b": repeat([1.0, 2.0])}, [1.0, 2.0])
    row = crossovers(runs, RATE, "cpu_s_per_event").iloc[0]
    assert row["lower_below"] == row["lower_above"] == "tie"
    assert math.isnan(row["crossover"])


def test_every_crossing_of_a_pair_is_reported():
    xs = [1.0, 2.0, 3.0, 4.0]
    runs = runs_frame({"a": repeat([0.0, 2.0, 0.0, 2.0]), "b": repeat([1.0] * 4)}, xs)
    found = crossovers(runs, RATE, "cpu_s_per_event")
    assert found["crossover"].tolist() == pytest.approx([1.5, 2.5, 3.5])
    assert found["lower_below"].tolist() == ["a", "b", "a"]


def test_a_crossing_exactly_at_a_grid_point_is_reported_there():
    xs = [1.0, 2.0, 3.0]
    runs = runs_frame({"a": repeat([0.0, 1.0, 2.0]), "b": repeat([1.0] * 3)}, xs)
    row = crossovers(runs, RATE, "cpu_s_per_event").iloc[0]
    assert row["crossover"] == 2.0
    assert (row["bracket_low"], row["bracket_high"]) == (1.0, 3.0)


def test_a_crossing_within_the_noise_is_not_confident():
    rng = np.random.default_rng(SEED)
    xs = [1.0, 2.0, 3.0]
    a = [list(m + rng.normal(0, 1.0, 5)) for m in (0.9, 1.0, 1.1)]
    b = [list(m + rng.normal(0, 1.0, 5)) for m in (1.1, 1.0, 0.9)]
    clear = [[v] * 5 for v in (0.0, 1.0, 2.0)]
    noisy = crossovers(runs_frame({"a": a, "b": b}, xs), RATE, "cpu_s_per_event")
    sure = crossovers(
        runs_frame({"a": clear, "b": repeat([1.5] * 3, 5)}, xs), RATE, "cpu_s_per_event"
    )
    assert not noisy["confident"].any()
    assert sure["confident"].tolist() == [True]


def test_crossovers_are_found_separately_for_each_value_of_the_other_axes():
    xs = [1.0, 2.0]
    one = runs_frame(
        {"a": repeat([0.0, 2.0]), "b": repeat([1.0, 1.0])}, xs, extra={"subscribers": 1}
    )
    many = runs_frame(
        {"a": repeat([0.0, 4.0]), "b": repeat([1.0, 1.0])},
        xs,
        extra={"subscribers": 10},
    )
    many["point"] += 2
    found = crossovers(pd.concat([one, many]), RATE, "cpu_s_per_event")
    pairs = found[["subscribers", "crossover"]].values.tolist()
    assert pairs == [[1, 1.5], [10, 1.25]]


def test_an_axis_that_was_not_swept_is_rejected_naming_the_swept_ones():
    runs = runs_frame({"a": repeat([1.0]), "b": repeat([2.0])}, [1.0])
    message = (
        r"axis 'rate' is not a swept parameter of these runs; "
        r"swept: workload.arrivals.rate_per_s"
    )
    with pytest.raises(ValueError, match=message):
        crossovers(runs, "rate", "cpu_s_per_event")


def test_a_non_numeric_axis_is_rejected():
    runs = runs_frame(
        {"a": repeat([1.0]), "b": repeat([2.0])},
        [1.0],
        extra={"strategies.poll.phase": "random"},
    )
    message = (
        r"axis 'strategies.poll.phase' has non-numeric values "
        r"\('random', ...\); a crossover needs a numeric axis"
    )
    with pytest.raises(ValueError, match=message):
        crossovers(runs, "strategies.poll.phase", "cpu_s_per_event")


def test_compare_runs_covers_every_metric_and_numeric_axis():
    xs = [0.1, 1.0, 10.0]
    runs = runs_frame({"a": repeat([0.3 / x for x in xs]), "b": repeat([0.5] * 3)}, xs)
    runs["latency_mean_s"] = 1.0
    result = compare_runs(runs)
    assert set(result.differences["metric"]) == {"cpu_s_per_event", "latency_mean_s"}
    assert len(result.crossovers) == 2
    assert result.crossovers.equals(all_crossovers(runs))


def test_runs_of_a_real_sweep_compare_with_common_random_numbers(scenario):
    from sim.run import run

    s = scenario(
        simulation={"duration_s": 300.0, "warmup_s": 0.0, "seed": 7, "replications": 3}
    )
    rows = [
        {"point": 0, RATE: 0.5, **run(s, name, rep).row()}
        for name in ("fanout", "broker")
        for rep in range(3)
    ]
    table = paired_differences(pd.DataFrame(rows), metrics=["events_published"])
    # both strategies replay the same events in each replication
    row = table.iloc[0]
    assert (row["n"], row["mean"], row["ci95_low"], row["ci95_high"]) == (3, 0, 0, 0)
