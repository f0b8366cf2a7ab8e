"""Replications summarised: mean and t-based 95% confidence interval.

The summary is tidy: one row per (sweep point, strategy, metric), with the
swept parameters as columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.metrics import METRIC_NAMES

CONFIDENCE = 0.95


def summarise(runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """Mean, standard deviation and 95% interval over replications.

    ``n`` counts the replications where the metric is defined (a run with
    no event has no latency). The interval is ``mean +- t * sd / sqrt(n)``
    with Student's t at ``n - 1`` degrees of freedom, NaN when ``n < 2``.
    """
    keys = ["point", *axes, "strategy", "kind"]
    long = runs.melt(id_vars=keys, value_vars=list(METRIC_NAMES), var_name="metric")
    long["value"] = long["value"].astype(float)
    grouped = long.groupby([*keys, "metric"], sort=False, dropna=False)["value"]
    table = grouped.agg(n="count", mean="mean", std="std").reset_index()

    n = table["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(n > 1, n - 1, np.nan))
        half = t * table["std"].to_numpy() / np.sqrt(n)
    table["ci95_low"] = table["mean"] - half
    table["ci95_high"] = table["mean"] + half
    return table
