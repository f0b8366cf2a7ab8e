"""Strategies compared with each other: paired differences and crossovers.

Every strategy of a replication replays the same events (common random
numbers), so at one sweep point the difference between two strategies is
best measured replication by replication: noise they share cancels, and the
interval of the mean difference is a t interval over the per-replication
differences (a paired t interval), usually far narrower than the two
strategies' own intervals suggest.

A crossover is where, along one swept parameter, one strategy's metric
overtakes another's (polling's CPU per event falling below push's as the
event rate grows, say). It is found between adjacent grid points by
interpolation, on log scales where the values span decades.

Pure functions of the tidy runs DataFrame that :mod:`sim.sweep` builds
(``point``, the swept parameters by dotted path, ``strategy``, ``kind``,
``replication``, ``seed``, then the metrics); they return DataFrames and
write nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.metrics import LATENCY_QUANTILES, METRIC_NAMES
from sim.summary import CONFIDENCE

IDENTITY = ("point", "strategy", "kind", "replication", "seed")
# per-run columns that are neither swept parameters nor scalar metrics
SAMPLES = (LATENCY_QUANTILES,)
# values whose largest is at least this many times their smallest "span
# decades" and are interpolated on a log scale
DECADES = 10.0
TIE = "tie"


@dataclass(frozen=True)
class Comparison:
    """Everything :func:`compare_runs` finds in a sweep's runs."""

    differences: pd.DataFrame
    crossovers: pd.DataFrame


def sweep_axes(runs: pd.DataFrame) -> list[str]:
    """The swept-parameter columns of ``runs``: neither identity nor metric."""
    return [
        c
        for c in runs.columns
        if c not in IDENTITY and c not in METRIC_NAMES and c not in SAMPLES
    ]


def paired_differences(
    runs: pd.DataFrame,
    axes: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    *,
    both_orders: bool = False,
) -> pd.DataFrame:
    """Mean difference ``strategy - versus`` of each metric at each point,
    with a paired t-based 95% interval over replications.

    One row per (point, strategy, versus, metric), with the swept
    parameters (``axes``, default :func:`sweep_axes`) as columns, then
    ``n`` (replications where both strategies have the metric), ``mean``
    and ``std`` of the per-replication differences, ``ci95_low`` and
    ``ci95_high`` (Student's t, n - 1 degrees of freedom; NaN when n < 2),
    and ``strategy_mean`` and ``versus_mean`` over those same replications.
    Pairs are taken in the order strategies first appear in ``runs``, each
    once (``strategy`` before ``versus``), or in both orders with
    ``both_orders``. ``metrics`` defaults to every metric column present.
    """
    axes = _checked_axes(runs, axes)
    metrics = _checked_metrics(runs, metrics)
    _check_unique_runs(runs)
    names = list(pd.unique(runs["strategy"]))
    pairs = (
        list(itertools.permutations(names, 2))
        if both_orders
        else list(itertools.combinations(names, 2))
    )

    long = runs.melt(
        id_vars=["point", "replication", "strategy"],
        value_vars=metrics,
        var_name="metric",
    )
    long["value"] = long["value"].astype(float)
    keys = ["point", "replication", "metric", "strategy"]
    wide = long.set_index(keys)["value"].unstack("strategy")
    groups = pd.MultiIndex.from_product(
        [pd.unique(runs["point"]), metrics], names=["point", "metric"]
    )

    tables = []
    for first, second in pairs:
        a, b = wide[first], wide[second]
        both = a.notna() & b.notna()
        paired = pd.DataFrame({"difference": (a - b)[both], "a": a[both], "b": b[both]})
        table = (
            paired.groupby(level=["point", "metric"], sort=False)
            .agg(
                n=("difference", "count"),
                mean=("difference", "mean"),
                std=("difference", "std"),
                strategy_mean=("a", "mean"),
                versus_mean=("b", "mean"),
            )
            .reindex(groups)
        )
        table["n"] = table["n"].fillna(0).astype(int)
        table.insert(0, "strategy", first)
        table.insert(1, "versus", second)
        tables.append(table.reset_index())

    columns = [
        "point",
        *axes,
        "strategy",
        "versus",
        "metric",
        "n",
        "mean",
        "std",
        "ci95_low",
        "ci95_high",
        "strategy_mean",
        "versus_mean",
    ]
    if not tables:
        return pd.DataFrame(columns=columns)
    out = pd.concat(tables, ignore_index=True)
    out["ci95_low"], out["ci95_high"] = _t_interval(out["mean"], out["std"], out["n"])
    out = out.merge(_point_axes(runs, axes), on="point", how="left")
    order = {m: i for i, m in enumerate(metrics)}
    out = out.sort_values(
        ["point", "metric"],
        key=lambda c: c.map(order) if c.name == "metric" else c,
        kind="stable",
    )
    return out[columns].reset_index(drop=True)


def crossovers(
    runs: pd.DataFrame,
    axis: str,
    metric: str,
    axes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Where, along the swept ``axis``, one strategy's ``metric`` overtakes
    another's.

    For each combination of the other swept parameters and each pair of
    strategies (as in :func:`paired_differences`), the strategies' means at
    adjacent grid points are joined by straight lines and the crossing of
    the two lines is reported. The axis is taken on a log scale when its
    values are positive and span at least a decade (largest / smallest >=
    10), and likewise the metric's values; a power law is then a straight
    line. Grid points where either strategy lacks the metric are left out.

    One row per crossing, or one row with ``crossover`` NaN when the pair
    never crosses: the other axes, ``axis``, ``metric``, ``strategy``,
    ``versus``, ``crossover`` (the interpolated value of the axis),
    ``bracket_low`` and ``bracket_high`` (the grid values it lies between),
    ``lower_below`` and ``lower_above`` (the strategy with the lower metric
    below and above the crossing, or throughout when there is none;
    ``"tie"`` where the two are equal), ``confident`` (the paired 95%
    interval of the difference excludes zero at both bracketing points, or
    with no crossing at every point where they differ, so the order is not
    noise), and ``x_scale``, ``y_scale`` (``"log"`` or ``"linear"``). A
    crossing exactly at a grid point (equal means there) is reported at
    that point.
    """
    axes = _checked_axes(runs, axes)
    if axis not in axes:
        raise ValueError(
            f"axis {axis!r} is not a swept parameter of these runs; "
            f"swept: {', '.join(axes) if axes else 'none'}"
        )
    if not pd.api.types.is_numeric_dtype(runs[axis]):
        raise ValueError(
            f"axis {axis!r} has non-numeric values ({runs[axis].iloc[0]!r}, ...); "
            "a crossover needs a numeric axis"
        )
    return _crossovers(paired_differences(runs, axes, [metric]), axes, axis, metric)


def all_crossovers(
    runs: pd.DataFrame,
    axes: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`crossovers` along every numeric swept axis with at least two
    values, for every metric (default: all present), in one table."""
    axes = _checked_axes(runs, axes)
    metrics = _checked_metrics(runs, metrics)
    diffs = paired_differences(runs, axes, metrics)
    tables = [
        _crossovers(diffs[diffs["metric"] == metric], axes, axis, metric)
        for axis in axes
        if pd.api.types.is_numeric_dtype(runs[axis]) and runs[axis].nunique() > 1
        for metric in metrics
    ]
    if not tables:
        return pd.DataFrame(columns=["axis", *CROSSOVER_COLUMNS])
    return pd.concat(tables, ignore_index=True)


def compare_runs(runs: pd.DataFrame, axes: Sequence[str] | None = None) -> Comparison:
    """Paired differences at every point and crossovers along every axis,
    for every metric; computes, writes nothing."""
    return Comparison(
        differences=paired_differences(runs, axes),
        crossovers=all_crossovers(runs, axes),
    )


# -- helpers -----------------------------------------------------------------

CROSSOVER_COLUMNS = [
    "metric",
    "strategy",
    "versus",
    "crossover",
    "bracket_low",
    "bracket_high",
    "lower_below",
    "lower_above",
    "confident",
    "x_scale",
    "y_scale",
]


def _crossovers(
    diffs: pd.DataFrame, axes: Sequence[str], axis: str, metric: str
) -> pd.DataFrame:
    """:func:`crossovers` from the paired differences of one metric."""
    others = [a for a in axes if a != axis]
    keys = others + ["strategy", "versus"]
    rows = []
    for key, group in diffs.groupby(keys, sort=False, dropna=False):
        fixed = dict(zip(keys, key))
        group = group[group["n"] > 0].dropna(subset=["strategy_mean", "versus_mean"])
        for found in _crossings(group.sort_values(axis), axis, *key[-2:]):
            rows.append(
                {
                    **{a: fixed[a] for a in others},
                    "axis": axis,
                    "metric": metric,
                    "strategy": fixed["strategy"],
                    "versus": fixed["versus"],
                    **found,
                }
            )
    return pd.DataFrame(rows, columns=[*others, "axis", *CROSSOVER_COLUMNS])


def _crossings(group: pd.DataFrame, axis: str, first: str, second: str) -> list[dict]:
    x = group[axis].to_numpy(dtype=float)
    a = group["strategy_mean"].to_numpy(dtype=float)
    b = group["versus_mean"].to_numpy(dtype=float)
    confident = ((group["ci95_low"] > 0) | (group["ci95_high"] < 0)).to_numpy()

    x_log = _spans_decades(x)
    y_log = _spans_decades(np.concatenate([a, b]))
    X = np.log10(x) if x_log else x
    d = np.log10(a) - np.log10(b) if y_log else a - b
    sign = np.sign(d)
    scales = {
        "x_scale": "log" if x_log else "linear",
        "y_scale": "log" if y_log else "linear",
    }
    lower = {-1.0: first, 1.0: second}

    found = []
    nonzero = np.flatnonzero(sign)
    for i, j in zip(nonzero[:-1], nonzero[1:]):
        if sign[i] == sign[j]:
            continue
        if j == i + 1:
            at = X[i] + d[i] / (d[i] - d[j]) * (X[j] - X[i])
            crossing = 10**at if x_log else at
        else:
            crossing = x[i + 1]  # equal at the grid points between
        found.append(
            {
                "crossover": float(crossing),
                "bracket_low": x[i],
                "bracket_high": x[j],
                "lower_below": lower[sign[i]],
                "lower_above": lower[sign[j]],
                "confident": bool(confident[i] and confident[j]),
                **scales,
            }
        )
    if found:
        return found

    if nonzero.size:
        throughout = lower[sign[nonzero[0]]]
    else:
        throughout = TIE if x.size else None
    return [
        {
            "crossover": np.nan,
            "bracket_low": np.nan,
            "bracket_high": np.nan,
            "lower_below": throughout,
            "lower_above": throughout,
            "confident": bool(confident[nonzero].all()) if nonzero.size else False,
            **scales,
        }
    ]


def _spans_decades(values: np.ndarray) -> bool:
    if not values.size or not (values > 0).all():
        return False
    return bool(values.max() >= DECADES * values.min())


def _t_interval(
    mean: pd.Series, std: pd.Series, n: pd.Series
) -> tuple[pd.Series, pd.Series]:
    count = n.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(count > 1, count - 1, np.nan))
        half = t * std.to_numpy(dtype=float) / np.sqrt(count)
    return mean - half, mean + half


def _point_axes(runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    return runs.groupby("point", sort=False)[list(axes)].first().reset_index()


def _checked_axes(runs: pd.DataFrame, axes: Sequence[str] | None) -> list[str]:
    needed = ("point", "strategy", "replication")
    missing = [c for c in needed if c not in runs.columns]
    if missing:
        raise ValueError(
            f"runs lack the column(s) {', '.join(missing)}; expected the tidy runs "
            "frame of a sweep (point, swept parameters, strategy, kind, "
            "replication, seed, metrics)"
        )
    if axes is None:
        return sweep_axes(runs)
    unknown = [a for a in axes if a not in runs.columns]
    if unknown:
        raise ValueError(
            f"no column for swept parameter(s) {', '.join(map(repr, unknown))}; "
            f"columns: {', '.join(runs.columns)}"
        )
    return list(axes)


def _checked_metrics(runs: pd.DataFrame, metrics: Sequence[str] | None) -> list[str]:
    if metrics is None:
        return [m for m in METRIC_NAMES if m in runs.columns]
    unknown = [m for m in metrics if m not in runs.columns]
    if unknown:
        present = [m for m in METRIC_NAMES if m in runs.columns]
        raise ValueError(
            f"no metric column {', '.join(map(repr, unknown))} in the runs; "
            f"metrics present: {', '.join(present)}"
        )
    return list(metrics)


def _check_unique_runs(runs: pd.DataFrame) -> None:
    repeated = runs.duplicated(["point", "replication", "strategy"])
    if repeated.any():
        row = runs[repeated].iloc[0]
        raise ValueError(
            f"runs hold more than one row for point {row['point']}, replication "
            f"{row['replication']}, strategy {row['strategy']!r}; expected one run "
            "per (point, strategy, replication)"
        )
