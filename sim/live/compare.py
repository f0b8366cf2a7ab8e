"""Predicted beside measured: the simulator's figures for a scenario next to
a live run's, metric by metric, with the target each should meet.

Targets: counts (deliveries, requests, polls) equal; bytes within 10%;
median reaction latency within 25% plus the timer resolution; CPU within a
factor of two. Pure functions of the two runs' metrics; the command line
writes the table and the chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sim.metrics import BY_NAME


@dataclass(frozen=True)
class Target:
    """How close measured must come to predicted: ``equal`` counts, a
    ``relative`` error (plus ``absolute`` slack), or a ``factor``."""

    kind: str
    value: float = 0.0

    def met(self, predicted: float, measured: float, slack: float = 0.0) -> bool:
        if any(math.isnan(v) for v in (predicted, measured)):
            return False
        if self.kind == "equal":
            return predicted == measured
        if self.kind == "relative":
            return abs(measured - predicted) <= self.value * abs(predicted) + slack
        low, high = sorted((predicted, measured))
        return low > 0 and high / low <= self.value

    def describe(self, slack: float = 0.0) -> str:
        if self.kind == "equal":
            return "equal"
        if self.kind == "relative":
            extra = f" + {slack * 1e3:.2g} ms" if slack else ""
            return f"within {self.value:.0%}{extra}"
        return f"within x{self.value:g}"


TARGETS: dict[str, Target] = {
    "deliveries": Target("equal"),
    "requests_total": Target("equal"),
    "polls": Target("equal"),
    "bytes_total": Target("relative", 0.10),
    "latency_p50_s": Target("relative", 0.25),
    "cpu_s_total": Target("factor", 2.0),
    "cpu_s_publisher": Target("factor", 2.0),
    "cpu_s_broker": Target("factor", 2.0),
    "cpu_s_subscribers": Target("factor", 2.0),
}
# requests_total also counts AMQP and Redis commands in a live run
PANEL_LABELS = {"requests_total": "requests"}
COLUMNS = (
    "strategy",
    "transport",
    "metric",
    "unit",
    "predicted",
    "measured",
    "ratio",
    "target",
    "met",
)


def comparison_table(
    rows: list[tuple[str, str, dict[str, float], dict[str, float]]],
    timer_resolution_s: float = 0.0,
) -> pd.DataFrame:
    """One row per strategy and metric from ``(strategy, transport,
    predicted metrics, measured metrics)``; a metric both runs put at zero
    (the broker's CPU where there is no broker, polls of a push) or leave
    undefined (the latency of a run that delivered nothing) is left out.
    ``ratio`` is measured / predicted."""
    records = []
    for strategy, transport, predicted, measured in rows:
        for metric, target in TARGETS.items():
            p, m = float(predicted[metric]), float(measured[metric])
            if (p == 0 and m == 0) or (math.isnan(p) and math.isnan(m)):
                continue
            slack = timer_resolution_s if metric.startswith("latency") else 0.0
            records.append(
                {
                    "strategy": strategy,
                    "transport": transport,
                    "metric": metric,
                    "unit": BY_NAME[metric].unit,
                    "predicted": p,
                    "measured": m,
                    "ratio": m / p if p and not math.isnan(p) else math.nan,
                    "target": target.describe(slack),
                    "met": target.met(p, m, slack),
                }
            )
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def plot_metric(table: pd.DataFrame, metric: str, ax=None):
    """Predicted and measured ``metric`` of every strategy as paired bars;
    returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    part = table[table["metric"] == metric]
    xs = range(len(part))
    width = 0.4
    ax.bar([x - width / 2 for x in xs], part["predicted"], width, label="predicted")
    ax.bar([x + width / 2 for x in xs], part["measured"], width, label="measured")
    ax.set_xticks(list(xs), part["strategy"], rotation=30, ha="right")
    unit = BY_NAME[metric].unit
    label = PANEL_LABELS.get(metric, BY_NAME[metric].label)
    ax.set_title(f"{label} ({unit})" if unit else label)
    if len(part) and (part[["predicted", "measured"]] > 0).all().all():
        values = part[["predicted", "measured"]].to_numpy()
        if values.max() / values.min() > 30:
            ax.set_yscale("log")
    return ax


def comparison_figure(table: pd.DataFrame):
    """A figure of :func:`plot_metric` panels, one per compared metric."""
    import matplotlib.pyplot as plt

    metrics = [m for m in TARGETS if (table["metric"] == m).any()]
    cols = 3
    rows = max(1, math.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False
    )
    for ax, metric in zip(axes.flat, metrics):
        plot_metric(table, metric, ax)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="upper right")
    fig.suptitle("Simulator's prediction and live measurement")
    fig.tight_layout()
    return fig
