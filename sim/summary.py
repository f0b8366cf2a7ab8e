"""Replications summarised: mean and t-based 95% confidence interval.

The summary is tidy: one row per (sweep point, strategy, metric), with the
swept parameters as columns.

Metrics that are ratios of totals (CPU, bytes and requests per event, the
empty-poll fraction, the mean reaction latency) are pooled across
replications as ratio estimators, total over total, rather than averaged
run by run: a replication with few events would otherwise weigh as much as
one with many, and the mean of ratios is biased when counts are small. Their
interval comes from the ratio's linearised (delta-method) variance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.metrics import METRIC_NAMES
from sim.prices import COST_COLUMNS

CONFIDENCE = 0.95

# metric -> (numerator, denominator) columns, each a total of one run
RATIOS: dict[str, tuple[str, str]] = {
    "cpu_s_per_event": ("cpu_s_total", "events_published"),
    "bytes_per_event": ("bytes_total", "events_published"),
    "requests_per_event": ("requests_total", "events_published"),
    "empty_poll_fraction": ("empty_polls", "polls"),
    "latency_mean_s": ("_latency_sum_s", "_latency_samples"),
}


def summarise(runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Mean, standard deviation and 95% interval over replications.

    ``n`` counts the replications where the metric is defined (a run with
    no event has no latency). The interval is ``mean +- t * se`` with
    Student's t at ``n - 1`` degrees of freedom, NaN when ``n < 2``; ``se``
    is ``sd / sqrt(n)``, or the ratio estimator's for the metrics in
    :data:`RATIOS` (``std`` is then the per-run values' deviation, for
    reference).
    """
    keys = ["point", *axes, "strategy", "kind"]
    metrics = [m for m in (*METRIC_NAMES, *COST_COLUMNS) if m in runs.columns]
    long = runs.melt(id_vars=keys, value_vars=metrics, var_name="metric")
    long["value"] = long["value"].astype(float)
    grouped = long.groupby([*keys, "metric"], sort=False, dropna=False)["value"]
    table = grouped.agg(n="count", mean="mean", std="std").reset_index()

    n = table["n"].to_numpy()
    half = _t(n) * table["std"].to_numpy() / np.sqrt(n)
    table["ci95_low"] = table["mean"] - half
    table["ci95_high"] = table["mean"] + half

    pooled = _pooled_ratios(runs, keys)
    if not pooled.empty:
        table = table.set_index([*keys, "metric"])
        table.update(pooled.set_index([*keys, "metric"]))
        table = table.reset_index()
    return table


def _pooled_ratios(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = runs.copy()
    if {"latency_mean_s", "deliveries"} <= set(frame.columns):
        samples = frame["deliveries"] + frame.get("latency_censored", 0)
        frame["_latency_samples"] = samples
        frame["_latency_sum_s"] = frame["latency_mean_s"].fillna(0.0) * samples

    rows = []
    for metric, (num, den) in RATIOS.items():
        if metric not in frame.columns or num not in frame or den not in frame:
            continue
        for key, group in frame.groupby(keys, sort=False, dropna=False):
            x = group[num].to_numpy(dtype=float)
            y = group[den].to_numpy(dtype=float)
            rows.append(
                {**dict(zip(keys, key)), "metric": metric, **ratio_interval(x, y)}
            )
    return pd.DataFrame(rows)


def ratio_interval(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Total-over-total estimate of E[x] / E[y] over replications, with
    its delta-method t interval: ``n``, ``mean``, ``ci95_low``,
    ``ci95_high``."""
    n = x.size
    if y.sum() <= 0:
        return {"n": 0, "mean": np.nan, "ci95_low": np.nan, "ci95_high": np.nan}
    r = x.sum() / y.sum()
    if n < 2:
        return {"n": n, "mean": r, "ci95_low": np.nan, "ci95_high": np.nan}
    residual = x - r * y
    se = np.sqrt((residual**2).sum() / (n * (n - 1))) / y.mean()
    half = float(_t(np.array([n]))[0] * se)
    return {"n": n, "mean": r, "ci95_low": r - half, "ci95_high": r + half}


def _t(n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(n > 1, n - 1, np.nan))
