"""Replaying and fitting the user's own event logs (sim.workload_file)."""

import importlib.util
import math
import os
import re

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from sim.errors import ScenarioError
from sim.workload_file import (
    DAY_S,
    Fitted,
    Replay,
    fit_rate,
    read_log,
    resolve_log_path,
)
from tests.conftest import ROOT

DATA = ROOT / "sim" / "scenarios" / "data"
ORDERS = DATA / "orders-log.csv"
CLICKS = DATA / "clicks-log.parquet"
SEED = 20261204


def load_script():
    """scripts/make_sample_logs.py, which holds the samples' true rates."""
    spec = importlib.util.spec_from_file_location(
        "make_sample_logs", ROOT / "scripts" / "make_sample_logs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replay(path, **fields) -> Replay:
    fields.setdefault("time_column", "t")
    return Replay(kind="replay", file=str(path), **fields)


def bonferroni_interval(mean: np.ndarray, alpha: float = 1e-3):
    """Poisson counts' two-sided interval, jointly at level alpha over all."""
    each = alpha / len(mean)
    return stats.poisson.ppf(each / 2, mean), stats.poisson.isf(each / 2, mean)


# -- replay ------------------------------------------------------------------


def test_replay_publishes_logged_offsets_and_sizes_in_time_order(tmp_path):
    path = write(tmp_path, "log.csv", "t,size\n105.5,30\n100,10\n101.25,20\n")

    events = replay(path, time_unit="s", size_column="size").draw(3600.0)

    assert events.times.tolist() == [0.0, 1.25, 5.5]
    assert events.payload_bytes.tolist() == [10, 20, 30]


def test_replay_without_size_column_leaves_sizes_to_the_scenario(tmp_path):
    path = write(tmp_path, "log.csv", "t\n0\n1\n")

    assert replay(path, time_unit="s").draw(10.0).payload_bytes is None


def test_replay_speedup_offset_and_duration_shape_the_timeline(tmp_path):
    path = write(tmp_path, "log.csv", "t,b\n0,1\n10,2\n20,3\n40,4\n")
    config = replay(
        path, time_unit="s", size_column="b", speedup=2.0, start_offset_s=3.0
    )

    events = config.draw(duration_s=13.0)

    assert events.times.tolist() == [3.0, 8.0]
    assert events.payload_bytes.tolist() == [1, 2]
    assert config.mean_rate_per_s == pytest.approx(3 / 20)


def test_replay_ignores_the_random_generator(tmp_path):
    path = write(tmp_path, "log.csv", "t\n0\n7\n")
    config = replay(path, time_unit="s")

    one = config.draw(100.0, np.random.default_rng(1)).times
    two = config.draw(100.0, np.random.default_rng(2)).times

    assert one.tolist() == two.tolist() == [0.0, 7.0]


@pytest.mark.parametrize(
    "unit, values",
    [
        ("s", "1700000000\n1700000001.5"),
        ("ms", "1700000000000\n1700000001500"),
        ("us", "1700000000000000\n1700000001500000"),
        ("ns", "1700000000000000000\n1700000001500000000"),
    ],
)
def test_numeric_time_units_become_seconds(tmp_path, unit, values):
    path = write(tmp_path, f"{unit}.csv", f"t\n{values}\n")

    log = read_log(path, "t", unit)

    assert log.offsets_s.tolist() == [0.0, 1.5]
    assert log.start_s == pytest.approx(1.7e9)


def test_epoch_nanoseconds_keep_their_nanoseconds(tmp_path):
    path = write(tmp_path, "ns.csv", "t\n1700000000000000001\n1700000000000000004\n")

    assert read_log(path, "t", "ns").offsets_s.tolist() == [0.0, 3e-9]


def test_datetimes_with_offsets_are_compared_in_utc(tmp_path):
    path = write(
        tmp_path,
        "log.csv",
        "t\n2026-01-01T10:00:01.250+02:00\n2026-01-01T08:00:00Z\n"
        "2026-01-01T03:00:03-05:00\n2026-01-01 08:00:02\n",
    )

    log = read_log(path, "t", "datetime")

    assert log.offsets_s.tolist() == [0.0, 1.25, 2.0, 3.0]
    assert log.start_s == pd.Timestamp("2026-01-01T08:00:00Z").timestamp()


def test_parquet_timestamp_columns_replay_naive_as_utc(tmp_path):
    aware = pd.to_datetime(["2026-01-01T08:00:05Z", "2026-01-01T08:00:00Z"])
    frame = pd.DataFrame(
        {"at": aware, "naive": aware.tz_localize(None), "size": [5, 7]}
    )
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)

    for column in ("at", "naive"):
        events = Replay(
            kind="replay", file=str(path), time_column=column, size_column="size"
        ).draw(60.0)
        assert events.times.tolist() == [0.0, 5.0]
        assert events.payload_bytes.tolist() == [7, 5]


def test_bundled_samples_replay(tmp_path):
    csv = Replay(
        kind="replay", file=str(ORDERS), time_column="timestamp", size_column="bytes"
    ).draw(7 * DAY_S)
    parquet = Replay(
        kind="replay",
        file=str(CLICKS),
        time_column="published_at",
        size_column="size_bytes",
    ).draw(14 * DAY_S)

    assert len(csv) == len(pd.read_csv(ORDERS))
    assert len(parquet) == len(pd.read_parquet(CLICKS))
    assert ORDERS.stat().st_size < 200_000 and CLICKS.stat().st_size < 200_000


# -- paths and caching -------------------------------------------------------


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path):
    (tmp_path / "logs").mkdir()
    write(tmp_path / "logs", "a.csv", "t\n0\n2\n")

    assert resolve_log_path("logs/a.csv", tmp_path) == tmp_path / "logs" / "a.csv"
    assert resolve_log_path(tmp_path / "x.csv", "/elsewhere") == tmp_path / "x.csv"

    raw = {"kind": "replay", "file": "logs/a.csv", "time_column": "t", "time_unit": "s"}
    config = Replay.model_validate(raw, context={"base_dir": tmp_path})
    assert config.file == str(tmp_path / "logs" / "a.csv")
    assert config.draw(10.0).times.tolist() == [0.0, 2.0]
    assert replay("logs/a.csv").resolved(tmp_path).file == config.file


def test_validation_with_a_base_folder_reports_a_bad_log(tmp_path):
    raw = {"kind": "replay", "file": "gone.csv", "time_column": "t"}

    with pytest.raises(
        ValidationError, match=re.escape(f"{tmp_path / 'gone.csv'}: no such file")
    ):
        Replay.model_validate(raw, context={"base_dir": tmp_path})


def test_an_edited_file_is_read_again(tmp_path):
    path = write(tmp_path, "log.csv", "t\n0\n1\n")
    assert len(read_log(path, "t", "s")) == 2

    path.write_text("t\n0\n1\n2\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))

    assert len(read_log(path, "t", "s")) == 3


# -- bad files ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, kwargs, message",
    [
        (
            "log.csv",
            "time,bytes\n1,2\n",
            {},
            "no column 't' (did you mean 'time'?); columns: time, bytes",
        ),
        (
            "log.csv",
            "t,bytes\n1,2\n",
            {"size_column": "byte"},
            "no column 'byte' (did you mean 'bytes'?); columns: t, bytes",
        ),
        ("log.csv", "t\n", {}, "has no rows; a log needs at least one event"),
        (
            "log.csv",
            "t,b\n1,1\n2,2\n ,3\n4,4\n,5\n",
            {},
            "column 't', line 4: missing time (empty cell) (1 more such rows)",
        ),
        (
            "log.csv",
            "t\n1\nabc\n",
            {},
            "column 't', line 3: cannot parse 'abc' as a number of s",
        ),
        ("log.csv", "t\n1\ninf\n", {}, "column 't', line 3: time 'inf' is not finite"),
        (
            "log.csv",
            "t,b\n1,5\n2,-3\n3,-1\n",
            {"size_column": "b"},
            "column 'b', line 3: size '-3' must be a finite number of bytes from 0 to 1e9 "
            "(1 more such rows)",
        ),
        (
            "log.csv",
            "t,b\n1,5\n2,\n",
            {"size_column": "b"},
            "column 'b', line 3: missing size (empty cell)",
        ),
        (
            "log.csv",
            "t,b\n1,5\n2,big\n",
            {"size_column": "b"},
            "column 'b', line 3: cannot parse 'big' as a number of bytes",
        ),
        (
            "log.txt",
            "t\n1\n",
            {},
            "unknown file type '.txt'; expected a .csv, .parquet or .pq file",
        ),
        ("log.parquet", "not parquet", {}, None),
    ],
)
def test_bad_logs_name_file_column_line_and_value(
    tmp_path, name, text, kwargs, message
):
    path = write(tmp_path, name, text)

    with pytest.raises(ScenarioError) as caught:
        read_log(path, kwargs.get("time_column", "t"), "s", kwargs.get("size_column"))

    if message is None:  # the message comes from pandas or pyarrow: pin its start
        assert str(caught.value).startswith(f"{path}: ")
    else:
        assert str(caught.value) == f"{path}: {message}"


def test_blank_lines_in_a_csv_are_skipped_but_blank_times_are_not(tmp_path):
    path = write(tmp_path, "log.csv", "t,b\n1,1\n\n2,2\n")
    assert read_log(path, "t", "s").offsets_s.tolist() == [0.0, 1.0]

    path = write(tmp_path, "log2.csv", "t,b\n1,1\n,2\n")
    with pytest.raises(
        ScenarioError,
        match=re.escape(f"{path}: column 't', line 3: missing time (empty cell)"),
    ):
        read_log(path, "t", "s")


def test_unparsable_datetimes_name_the_value(tmp_path):
    path = write(tmp_path, "log.csv", "t\n2026-01-01T00:00:00Z\n2026-13-01T00:00:00Z\n")

    with pytest.raises(
        ScenarioError,
        match=re.escape(
            f"{path}: column 't', line 3: cannot parse '2026-13-01T00:00:00Z' as an "
            "ISO 8601 date and time"
        ),
    ):
        read_log(path, "t", "datetime")


def test_parquet_nulls_and_wrong_units_are_reported(tmp_path):
    path = tmp_path / "log.parquet"
    pd.DataFrame(
        {"t": [1.0, None], "n": [1.0, 2.0], "at": pd.to_datetime(["2026-01-01"] * 2)}
    ).to_parquet(path)

    with pytest.raises(
        ScenarioError,
        match=re.escape(f"{path}: column 't', row 2: missing time (empty cell)"),
    ):
        read_log(path, "t", "s")
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            f"{path}: column 'n' holds numbers, not dates and times; set time_unit to "
            '"s", "ms", "us" or "ns"'
        ),
    ):
        read_log(path, "n", "datetime")
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            f"{path}: column 'at' holds timestamps; set time_unit to \"datetime\""
        ),
    ):
        read_log(path, "at", "s")


def test_missing_and_folder_paths_are_reported(tmp_path):
    with pytest.raises(
        ScenarioError, match=re.escape(f"{tmp_path / 'no.csv'}: no such file")
    ):
        read_log(tmp_path / "no.csv", "t", "s")
    with pytest.raises(
        ScenarioError,
        match=re.escape(f"{tmp_path}: is a folder; expected a CSV or Parquet file"),
    ):
        read_log(tmp_path, "t", "s")


# -- fitting -----------------------------------------------------------------


def daily(path, **fields) -> Fitted:
    fields.setdefault("time_column", "timestamp")
    return Fitted(kind="fitted", file=str(path), **fields)


def test_fitted_counts_per_bin_match_the_fitted_rate():
    config = daily(ORDERS)
    profile = config.fit().profile
    days = 200

    times = config.draw(days * DAY_S, np.random.default_rng(SEED)).times

    counts = np.bincount((np.mod(times, DAY_S) // 3600).astype(int), minlength=24)
    low, high = bonferroni_interval(days * profile.rates_per_s * 3600)
    assert np.all((low <= counts) & (counts <= high)), (SEED, counts, low, high)
    assert config.mean_rate_per_s == pytest.approx(profile.rates_per_s.mean())


def test_start_at_places_time_zero_in_the_day():
    config = daily(ORDERS, start_at_s=14 * 3600.0, bin_s=1800.0)
    profile = config.fit().profile
    days = 100

    times = config.draw(days * DAY_S, np.random.default_rng(SEED)).times

    # simulated bin j is the profile's bin j + 28 (14:00 is bin 28 of 48)
    counts = np.bincount((np.mod(times, DAY_S) // 1800).astype(int), minlength=48)
    expected = days * np.roll(profile.rates_per_s, -28) * 1800
    low, high = bonferroni_interval(expected)
    assert np.all((low <= counts) & (counts <= high)), (SEED, counts, expected)


def test_daily_profile_is_recovered_from_a_poisson_log(tmp_path):
    script = load_script()
    rng = np.random.default_rng(SEED)
    span = 30 * DAY_S
    t = script.thinned(script.daily_rate_per_s, 0.011, span, rng)
    path = tmp_path / "poisson.csv"
    pd.DataFrame({"t": t + 1_700_006_400.0}).to_csv(path, index=False)  # a midnight

    report = fit_rate(
        Fitted(kind="fitted", file=str(path), time_column="t", time_unit="s")
    )

    # the events fitted to each hour against the true rate's integral over
    # the part of that hour the log covered
    def integral(a, b):
        w = 2 * np.pi / DAY_S
        phase = 2 * np.pi * script.PEAK_HOUR_UTC / 24
        mean, amp = script.MEAN_RATE_PER_S, script.AMPLITUDE
        swing = np.sin(w * b - phase) - np.sin(w * a - phase)
        return mean * ((b - a) + amp / w * swing)

    bins = report.bins
    first, last = t[0] + 1_700_006_400.0, t[-1] + 1_700_006_400.0
    a = np.maximum(bins.start_s, first)
    b = np.minimum(bins.start_s + 3600, last)
    truth = np.bincount(bins.profile_bin, weights=integral(a, b), minlength=24)
    fitted = np.bincount(bins.profile_bin, weights=bins.expected, minlength=24)
    low, high = bonferroni_interval(truth)
    assert np.all((low <= fitted) & (fitted <= high)), (SEED, fitted, truth)
    assert report.p_value > 1e-3, report.dispersion_index


def test_sample_csv_shows_an_afternoon_peak_and_bursts():
    report = daily(ORDERS).fit()

    rates = report.profile.rates_per_s
    assert 12 <= int(np.argmax(rates)) <= 17
    assert rates[0:4].mean() < rates[12:17].mean() / 3
    # the bursts make hourly counts far more variable than Poisson
    assert report.dof == 7 * 24 - 24 - 2  # the first and last hours are partial
    assert report.p_value < 1e-9 and report.burst_variance > 0


def test_sample_parquet_is_poisson_around_a_weekly_profile():
    report = Fitted(
        kind="fitted",
        file=str(CLICKS),
        time_column="published_at",
        profile="weekly",
        bin_s=3 * 3600.0,
    ).fit()

    weekday = report.profile.rates_per_s[:40].mean()
    weekend = report.profile.rates_per_s[40:].mean()
    assert weekend < weekday / 2
    assert report.p_value > 1e-3, report.dispersion_index


def test_gamma_burstiness_makes_counts_overdispersed():
    config = daily(ORDERS, burstiness="gamma")
    report = config.fit()
    days = 60

    times = config.draw(days * DAY_S, np.random.default_rng(SEED)).times

    hourly = np.bincount((times // 3600).astype(int), minlength=days * 24)
    expected = np.tile(report.profile.rates_per_s * 3600, days)
    x2 = float(np.sum((hourly - expected) ** 2 / expected))
    assert stats.chi2.sf(x2, len(hourly)) < 1e-9, (SEED, x2)


def test_fitted_draws_are_reproducible_for_a_seed():
    config = daily(ORDERS, burstiness="gamma")

    one = config.draw(DAY_S, np.random.default_rng(SEED)).times
    two = config.draw(DAY_S, np.random.default_rng(SEED)).times
    other = config.draw(DAY_S, np.random.default_rng(SEED + 1)).times

    assert np.array_equal(one, two)
    assert not np.array_equal(one, other)
    assert np.all(np.diff(one) >= 0) and one.min() >= 0 and one.max() < DAY_S


def test_piecewise_profile_repeats_the_log_span(tmp_path):
    path = write(
        tmp_path,
        "log.csv",
        "t\n"
        + "\n".join([str(float(i)) for i in range(0, 100)] + ["100", "150", "199.5"])
        + "\n",
    )
    config = Fitted(
        kind="fitted",
        file=str(path),
        time_column="t",
        time_unit="s",
        profile="piecewise",
        bin_s=100.0,
    )

    report = config.fit()

    assert report.profile.period_s == 200.0
    assert report.profile.rates_per_s.tolist() == [1.0, 3 / 99.5]
    assert math.isnan(report.dispersion_index) and report.dof < 1
    starts, ends, rates = report.profile.segments(450.0, start_at_s=50.0)
    assert starts.tolist() == [0.0, 50.0, 150.0, 250.0, 350.0]
    assert ends.tolist() == [50.0, 150.0, 250.0, 350.0, 450.0]
    assert rates.tolist() == [1.0, 3 / 99.5, 1.0, 3 / 99.5, 1.0]


def test_daily_bins_must_divide_the_day():
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "bin_s (7000.0) must divide the daily period (86400 s) into whole bins"
        ),
    ):
        daily(ORDERS, bin_s=7000.0)


def test_a_log_shorter_than_the_profile_cannot_be_fitted(tmp_path):
    path = write(tmp_path, "log.csv", "t\n0\n3600\n7200\n")

    with pytest.raises(
        ScenarioError,
        match=re.escape(
            f"{path}: the log spans 2 h, which leaves 22 of the 24 bins of a daily "
            "profile with bin_s = 3600 unobserved; give a longer log, wider bins or "
            'profile = "piecewise"'
        ),
    ):
        fit_rate(Fitted(kind="fitted", file=str(path), time_column="t", time_unit="s"))
