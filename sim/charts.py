"""Comparison charts drawn from a tidy summary (see :mod:`sim.summary`).

Plotting functions take a DataFrame and an optional Axes and return the
Axes; :func:`figures` builds the standard set. Nothing here writes files or
runs simulations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.metrics import BY_NAME

# chart file stem -> (main metric, companion metric drawn dashed, or None)
CHARTS: dict[str, tuple[str, str | None]] = {
    "latency": ("latency_mean_s", "latency_p99_s"),
    "cpu_per_event": ("cpu_s_per_event", None),
    "bytes_per_event": ("bytes_per_event", None),
    "requests_per_event": ("requests_per_event", None),
    "empty_poll_fraction": ("empty_poll_fraction", None),
}

_COLOURS = (
    "#1b6ca8",
    "#e07b00",
    "#2a9d3a",
    "#c0392b",
    "#7b4fa0",
    "#7f6a3e",
    "#d35fa8",
    "#6b6b6b",
    "#a8a800",
    "#00a3b5",
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
_UNITS = {"_per_s": "1/s", "_bytes": "B", "_s": "s"}


def axis_label(path: str) -> str:
    """A readable label with unit for a swept parameter path."""
    leaf = path.rsplit(".", 1)[-1]
    for suffix, unit in _UNITS.items():
        if leaf.endswith(suffix):
            return f"{path} ({unit})"
    return path


def metric_label(metric: str) -> str:
    m = BY_NAME[metric]
    return f"{m.label} ({m.unit})" if m.unit else m.label


def plot_metric(
    summary: pd.DataFrame,
    metric: str,
    x: str | None,
    ax: Axes | None = None,
    *,
    companion: str | None = None,
    strategies: Sequence[str] | None = None,
) -> Axes:
    """One line per strategy: mean of ``metric`` against swept parameter ``x``
    with its 95% confidence band; ``companion`` is drawn dashed, means only.

    A hollow marker flags a point where some events were still undelivered
    when the runs stopped: its latency is a lower bound and its costs miss
    the deliveries that never happened. With ``x`` None (a sweep of one
    point) strategies are bars with error bars.
    """
    if ax is None:
        ax = Figure(figsize=(8, 4.5), layout="constrained").add_subplot()
    order = list(strategies or dict.fromkeys(summary["strategy"]))
    plain = summary[summary["versus"].isna()] if "versus" in summary else summary
    rows = plain[plain["metric"] == metric]

    if x is None:
        return _bars(rows, metric, order, ax)

    bounded = metric in BOUNDED
    short = BY_NAME[companion].label.split(", ")[-1] if companion else ""
    for i, name in enumerate(order):
        line = rows[rows["strategy"] == name].sort_values(x)
        if line["mean"].notna().sum() == 0:
            continue
        colour, marker = _COLOURS[i % len(_COLOURS)], _MARKERS[i % len(_MARKERS)]
        xs = _categorical(line[x])
        ax.plot(xs, line["mean"], color=colour, marker=marker, ms=4, label=name)
        low, high = line["ci95_low"], line["ci95_high"]
        if bounded:
            low, high = low.clip(0, 1), high.clip(0, 1)
        ax.fill_between(xs, low, high, color=colour, alpha=0.18, lw=0)
        incomplete = _incomplete(plain, name, x, line[x])
        if incomplete.any():
            ax.plot(
                xs[incomplete],
                line["mean"][incomplete],
                ls="none",
                marker=marker,
                ms=9,
                mfc="white",
                mec=colour,
                mew=1.5,
            )
        if companion is not None:
            extra = plain[(plain["metric"] == companion) & (plain["strategy"] == name)]
            extra = extra.sort_values(x)
            ax.plot(_categorical(extra[x]), extra["mean"], color=colour, ls="--", lw=1)

    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        ax.text(
            0.5,
            0.5,
            f"no strategy here has {BY_NAME[metric].label}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="grey",
        )
    if companion is not None and handles:
        handles.append(Line2D([], [], color="black", ls="--", lw=1))
        labels.append(f"{short} (dashed)")
    if _any_incomplete(plain) and handles:
        handles.append(Line2D([], [], ls="none", marker="o", mfc="white", mec="black"))
        labels.append("some events undelivered")

    ax.set_xlabel(axis_label(x))
    label = metric_label(metric)
    if companion is not None:
        label = f"{BY_NAME[metric].label.split(',')[0]} ({BY_NAME[metric].unit})"
    ax.set_ylabel(label)
    if not _is_categorical(plain[x]):
        _log_if_wide(ax, plain[x], "x")
    values = rows["mean"]
    if companion is not None:
        values = pd.concat([values, plain.loc[plain["metric"] == companion, "mean"]])
    _log_if_wide(ax, values, "y")
    ax.grid(True, which="major", alpha=0.3)
    title = BY_NAME[metric].label
    if companion is not None:
        title += f" (solid) and {short} (dashed)"
    ax.set_title(title, fontsize=10)
    if handles:
        ax.legend(
            handles,
            labels,
            fontsize=8,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
        )
    return ax


# fractions, whose intervals are clipped to [0, 1]
BOUNDED = ("empty_poll_fraction",)


def _is_categorical(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(
        values
    )


def _categorical(values: pd.Series) -> np.ndarray:
    """Numbers as they are; anything else (true/false, names) as labels."""
    if _is_categorical(values):
        return values.astype(str).to_numpy()
    return values.to_numpy()


def _incomplete(plain: pd.DataFrame, name: str, x: str, xs: pd.Series) -> np.ndarray:
    undelivered = plain[
        (plain["metric"] == "undelivered") & (plain["strategy"] == name)
    ]
    by_x = undelivered.set_index(x)["mean"]
    return np.array([by_x.get(v, 0.0) > 0 for v in xs])


def _any_incomplete(plain: pd.DataFrame) -> bool:
    return bool((plain.loc[plain["metric"] == "undelivered", "mean"] > 0).any())


def _bars(rows: pd.DataFrame, metric: str, order: list[str], ax: Axes) -> Axes:
    rows = rows.set_index("strategy").reindex(order)
    low = (rows["mean"] - rows["ci95_low"]).fillna(0).to_numpy()
    high = (rows["ci95_high"] - rows["mean"]).fillna(0).to_numpy()
    colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(order))]
    ax.bar(order, rows["mean"].to_numpy(), yerr=[low, high], color=colours, capsize=3)
    ax.set_ylabel(metric_label(metric))
    _log_if_wide(ax, rows["mean"], "y")
    ax.tick_params(axis="x", labelrotation=20)
    ax.set_title(BY_NAME[metric].label, fontsize=10)
    return ax


def _log_if_wide(ax: Axes, values: pd.Series, which: str) -> None:
    """Use a log scale when the values are all positive and span two decades."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if v.size and np.all(v > 0) and v.max() / v.min() >= 100:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")


def figures(summary: pd.DataFrame, axes: Sequence[str]) -> dict[str, Figure]:
    """The standard charts of a sweep, keyed by file stem.

    The first swept parameter is the x axis; a panel is drawn for every
    combination of the values of the others.
    """
    x = axes[0] if axes else None
    others = list(axes[1:])
    panels = (
        list(itertools.product(*(sorted(summary[a].dropna().unique()) for a in others)))
        if others
        else [()]
    )
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    order = list(dict.fromkeys(summary["strategy"]))

    charts = {}
    plain = summary[summary["versus"].isna()] if "versus" in summary else summary
    for stem, (metric, companion) in CHARTS.items():
        if plain.loc[plain["metric"] == metric, "mean"].notna().sum() == 0:
            continue  # e.g. the empty-poll fraction of a sweep with no pollers
        fig = Figure(figsize=(8 * columns, 4.5 * rows), layout="constrained")
        for k, values in enumerate(panels):
            ax = fig.add_subplot(rows, columns, k + 1)
            part = summary
            for name, value in zip(others, values):
                part = part[part[name] == value]
            plot_metric(part, metric, x, ax, companion=companion, strategies=order)
            if others:
                where = ", ".join(f"{n} = {v}" for n, v in zip(others, values))
                ax.set_title(f"{ax.get_title()}\n{where}", fontsize=9)
        charts[stem] = fig
    return charts
