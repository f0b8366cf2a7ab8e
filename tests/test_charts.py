"""Charts share one look, and the latency CDF and cost-of-waiting charts
draw what the runs hold."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from sim.charts import figures, latency_cdf, plot_cost_of_waiting, strategy_styles
from sim.metrics import LATENCY_QUANTILE_LEVELS, LATENCY_QUANTILES, _latency_samples
from sim.model import simulate
from sim.run import run
from sim.summary import summarise

INTERVALS = [1.0, 4.0, 16.0]


@pytest.fixture(scope="module")
def interval_runs():
    """Runs of a small sweep over the poller's interval, built in process."""
    from sim.scenario import Scenario
    from tests.conftest import build

    rows = []
    for point, interval in enumerate(INTERVALS):
        raw = build(
            simulation={
                "duration_s": 600.0,
                "warmup_s": 0.0,
                "seed": 4,
                "replications": 2,
            }
        )
        raw["strategies"][0]["interval_s"] = interval
        scenario = Scenario.model_validate(raw)
        for strategy in ("poll", "long", "fanout", "broker"):
            for rep in range(2):
                rows.append(
                    {
                        "point": point,
                        "strategies.poll.interval_s": interval,
                        **run(scenario, strategy, rep).row(),
                    }
                )
    return pd.DataFrame(rows)


def test_pooled_cdf_is_the_samples_cdf_within_the_quantile_grid(scenario):
    # Each run keeps its latency at fixed levels; between two levels its CDF
    # is interpolated, so it can be off by the widest gap between levels,
    # plus 1/n from how numpy places order statistics (linear method).
    s = scenario(
        simulation={"duration_s": 900.0, "warmup_s": 0.0, "seed": 9, "replications": 3}
    )
    samples, rows = [], []
    for rep in range(3):
        outcome = simulate(s, "poll", rep)
        kept = _latency_samples(outcome)[2]
        samples.append(kept)
        result = run(s, "poll", rep)
        rows.append({**result.row()})
    cdf = latency_cdf(pd.DataFrame(rows))
    pooled = np.sort(np.concatenate(samples))
    empirical = np.searchsorted(pooled, cdf["latency_s"], side="right") / pooled.size
    gap = np.diff(LATENCY_QUANTILE_LEVELS).max()
    bound = gap + 1 / min(len(k) for k in samples)
    assert np.abs(cdf["fraction"].to_numpy() - empirical).max() <= bound
    assert cdf["fraction"].is_monotonic_increasing
    assert cdf["fraction"].iloc[-1] == pytest.approx(1.0)


def test_a_run_keeps_its_latency_quantiles_and_they_match_its_percentiles(scenario):
    result = run(scenario(), "broker", 0)
    q = dict(zip(LATENCY_QUANTILE_LEVELS, result.latency_quantiles_s))
    assert q[0.5] == pytest.approx(result.metrics["latency_p50_s"])
    assert q[0.99] == pytest.approx(result.metrics["latency_p99_s"])
    assert q[1.0] == pytest.approx(result.metrics["latency_max_s"])
    assert result.row()[LATENCY_QUANTILES] == list(result.latency_quantiles_s)


def test_every_chart_gives_a_strategy_the_same_colour(interval_runs):
    axes = ["strategies.poll.interval_s"]
    charts = figures(summarise(interval_runs, axes), axes, interval_runs)
    assert {"latency", "cpu_per_event", "latency_cdf", "cost_of_waiting"} <= set(charts)
    order = list(dict.fromkeys(interval_runs["strategy"]))
    expected = {name: colour for name, (colour, _) in strategy_styles(order).items()}
    for stem, fig in charts.items():
        for ax in fig.axes:
            for line in ax.get_lines():
                if line.get_label() in expected:
                    assert to_hex(line.get_color()) == expected[line.get_label()], stem


def test_cost_of_waiting_draws_the_poller_through_its_intervals(interval_runs):
    axes = ["strategies.poll.interval_s"]
    summary = summarise(interval_runs, axes)
    ax = plot_cost_of_waiting(summary, axes, "cpu_s_per_event")
    lines = {line.get_label(): line for line in ax.get_lines()}
    poll = lines["poll"]
    latency, cpu = poll.get_xdata(), poll.get_ydata()
    assert len(latency) == len(INTERVALS)
    # a longer interval waits longer and polls less often
    assert np.all(np.diff(latency) > 0) and np.all(np.diff(cpu) < 0)
    for name in ("long", "fanout", "broker"):
        assert len(lines[name].get_xdata()) == 1
    plain = summary[summary["metric"] == "latency_mean_s"]
    means = plain[plain["strategy"] == "poll"].sort_values(axes[0])["mean"]
    np.testing.assert_allclose(latency, means.to_numpy())


def test_intervals_are_cut_at_zero_and_a_log_axis_stays_on_the_means():
    from matplotlib.collections import PolyCollection

    from sim.charts import plot_metric

    rates = [0.01, 0.1, 1.0, 10.0]
    rows = [
        {
            "point": i,
            "rate": rate,
            "strategy": name,
            "metric": "cpu_s_per_event",
            "versus": None,
            "mean": mean,
            "ci95_low": mean - 2 * mean,  # an interval reaching below 0
            "ci95_high": mean * 3,
        }
        for i, rate in enumerate(rates)
        for name, mean in (("poll", 1 / rate), ("fanout", 0.004))
    ]
    ax = plot_metric(pd.DataFrame(rows), "cpu_s_per_event", "rate", None)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert bands
    lowest = min(p.vertices[:, 1].min() for c in bands for p in c.get_paths())
    assert lowest >= 0
    assert ax.get_yscale() == "log"
    assert ax.get_ylim()[0] == pytest.approx(0.002)  # half the smallest mean


def test_no_axes_for_several_points_is_one_clear_error(interval_runs):
    from sim.errors import ResultsError

    summary = summarise(interval_runs, ["strategies.poll.interval_s"])
    with pytest.raises(ResultsError, match="field 'axes' is empty but the runs"):
        figures(summary, [], interval_runs)


def test_the_cost_of_waiting_chart_wraps_and_names_what_it_leaves_out():
    from sim.charts import COST_COLUMNS, MAX_COST_POINTS, cost_of_waiting_points

    rates = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
    rows = [
        {
            "point": i,
            "workload.arrivals.rate_per_s": rate,
            "strategy": name,
            "metric": metric,
            "versus": None,
            "mean": value,
            "ci95_low": value,
            "ci95_high": value,
        }
        for i, rate in enumerate(rates)
        for name in ("poll", "fanout")
        for metric, value in (
            ("cpu_s_per_event", 0.01 / rate if name == "poll" else 0.004),
            ("bytes_per_event", 1000.0),
            ("latency_mean_s", 1.0 if name == "poll" else 0.002),
        )
    ]
    summary = pd.DataFrame(rows)
    axes = ["workload.arrivals.rate_per_s"]
    shown, dropped = cost_of_waiting_points(summary, axes)
    assert len(shown) == MAX_COST_POINTS and len(dropped) == 2
    assert shown[0] == (0.001,) and shown[-1] == (0.2,)
    fig = figures(summary, axes)["cost_of_waiting"]
    # two panels (CPU, bytes) per point, at most COST_COLUMNS side by side
    assert len(fig.axes) == 2 * MAX_COST_POINTS
    width, _ = fig.get_size_inches()
    assert width <= 5.5 * COST_COLUMNS + 1.5
    assert "2 points not shown" in fig._suptitle.get_text()
    from sim.report import _captions

    assert (
        "Not shown, for room (2 points"
        in _captions(summary, axes, True)["cost_of_waiting"]
    )


def test_latency_lines_that_overlap_stay_told_apart(interval_runs):
    """Long polling and push react alike: their latency lines lie on one
    another, so each strategy has its own dashes and markers there."""
    axes = ["strategies.poll.interval_s"]
    charts = figures(summarise(interval_runs, axes), axes, interval_runs)
    names = list(dict.fromkeys(interval_runs["strategy"]))
    for stem in ("latency", "latency_cdf"):
        lines = {
            line.get_label(): line
            for line in charts[stem].axes[0].get_lines()
            if line.get_label() in names
        }
        assert set(lines) == set(names), stem
        looks = {
            (str(line.get_linestyle()), line.get_marker()) for line in lines.values()
        }
        assert len(looks) == len(names), (stem, looks)
        dashes = {str(line.get_linestyle()) for line in lines.values()}
        # "-", "--", "-." and custom dashes (which read back as "--")
        assert len(dashes) == min(3, len(names)), (stem, dashes)


def test_a_distribution_parameter_is_named_after_the_field_it_draws():
    from sim.charts import axis_label, describe_point, short_name

    assert short_name("workload.payload_bytes.value") == "payload_bytes"
    assert short_name("network.latency_s.median") == "latency_s median"
    assert short_name("workload.arrivals.rate_per_s") == "rate_per_s"
    assert short_name("strategies.poll.interval_s") == "poll's interval_s"
    assert axis_label("workload.payload_bytes.value").endswith("(B)")
    assert describe_point({"workload.payload_bytes.value": 4096}) == (
        "payload_bytes = 4096"
    )
