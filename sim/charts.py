"""Comparison charts drawn from a tidy summary (see :mod:`sim.summary`) or
from a sweep's runs.

Plotting functions take a DataFrame and an optional Axes and return the
Axes; :func:`figures` builds the standard set that the ``charts`` command
saves, the report embeds and the notebooks show. They share one look: each
strategy keeps its colour and marker (:func:`strategy_styles`, by the order
strategies appear in the sweep) on every chart, axes span decades on log
scales, legends sit outside the plot on the right. Nothing here writes
files or runs simulations.

Latency is drawn as percentile bands (median line, p50 to p90 shaded
darker, p90 to p99 lighter) rather than means alone; :func:`latency_cdf`
pools each strategy's runs into one distribution at a sweep point; the
cost of waiting (:func:`plot_cost_of_waiting`) puts CPU or bytes per event
against reaction latency, one curve per strategy as its own swept interval
varies.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.errors import ResultsError
from sim.metrics import BY_NAME, LATENCY_QUANTILE_LEVELS, LATENCY_QUANTILES

# the kinds of strategy that poll, and that push
POLLING_KINDS = ("short_poll", "long_poll")
PUSH_KINDS = ("fanout", "broker")
# chart file stem -> (main metric, companion metric drawn dashed, or None);
# latency has its own chart (:func:`plot_latency_bands`)
CHARTS: dict[str, tuple[str, str | None]] = {
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
_LINESTYLES = ("-", "--", "-.", (0, (8, 3)), (0, (6, 2, 1, 2, 1, 2)))
# the parameters of a distribution (sim.scenario), named in a path after the
# field they draw
DISTRIBUTION_FIELDS = ("value", "mean", "median", "sigma", "low", "high")
_UNITS = {"_per_s": "1/s", "_bytes": "B", "_s": "s"}
# one panel's size in inches, and the resolution charts are saved at
PANEL_SIZE = (8.0, 4.5)
DPI = 110
# percentile bands of the latency charts: (low, high, opacity)
BANDS = (
    ("latency_p50_s", "latency_p90_s", 0.35),
    ("latency_p90_s", "latency_p99_s", 0.15),
)
# swept fields that set how long a strategy may wait before it learns of an
# event, for the cost-of-waiting chart
WAIT_FIELDS = ("interval_s", "wait_s", "dispatch_delay_s", "max_interval_s")


def strategy_styles(order: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Colour and marker of each strategy, by its place in ``order`` (the
    order strategies appear in the sweep), the same on every chart."""
    return {
        name: (_COLOURS[i % len(_COLOURS)], _MARKERS[i % len(_MARKERS)])
        for i, name in enumerate(order)
    }


def strategy_lines(order: Sequence[str]) -> dict[str, object]:
    """The line style of each strategy on the latency charts, by its place in
    ``order``: lines that lie on one another (long polling and push react
    alike) stay visible as different dashes. Dotted is left for the mean."""
    return {name: _LINESTYLES[i % len(_LINESTYLES)] for i, name in enumerate(order)}


def new_figure(panels: tuple[int, int] = (1, 1)) -> Figure:
    """An empty figure sized for ``panels`` (rows, columns) of the standard
    panel size, laid out so that outside legends fit."""
    rows, columns = panels
    width, height = PANEL_SIZE
    return Figure(figsize=(width * columns, height * rows), layout="constrained")


def png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes at the charts' resolution: what the report
    embeds, and what a notebook shows (``IPython.display.Image(png(fig))``)
    without pyplot."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _legend(ax: Axes, handles: list | None = None, labels: list | None = None) -> None:
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            fontsize=8,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
        )


def axis_label(path: str) -> str:
    """A readable label with unit for a swept parameter path (a parameter of
    a distribution takes the unit of the field it draws)."""
    parts = path.split(".")
    leaves = parts[-2:] if parts[-1] in DISTRIBUTION_FIELDS else parts[-1:]
    for leaf in reversed(leaves):
        for suffix, unit in _UNITS.items():
            if leaf.endswith(suffix):
                return f"{path} ({unit})"
    return path


def short_name(path: str) -> str:
    """A swept parameter path in a few words: a strategy's field as
    "poll's interval_s", a workload field by its last name, a parameter of
    a distribution with the field it draws ("payload_bytes" for a fixed
    value, "payload_bytes mean")."""
    parts = path.split(".")
    if parts[0] == "strategies" and len(parts) == 3:
        return f"{parts[1]}'s {parts[2]}"
    if len(parts) >= 2 and parts[-1] in DISTRIBUTION_FIELDS:
        return parts[-2] if parts[-1] == "value" else f"{parts[-2]} {parts[-1]}"
    return parts[-1]


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
        ax = new_figure().add_subplot()
    order = list(strategies or dict.fromkeys(summary["strategy"]))
    styles = strategy_styles(order)
    plain = _plain(summary)
    rows = plain[plain["metric"] == metric]

    if x is None:
        return _bars(rows, metric, order, ax)

    bounded = metric in BOUNDED
    short = BY_NAME[companion].label.split(", ")[-1] if companion else ""
    for name in order:
        line = rows[rows["strategy"] == name].sort_values(x)
        if line["mean"].notna().sum() == 0:
            continue
        colour, marker = styles[name]
        xs = _categorical(line[x])
        ax.plot(xs, line["mean"], color=colour, marker=marker, ms=4, label=name)
        # every charted metric is a count, a cost or a share: an interval
        # reaching below 0 (or a share's above 1) is cut there
        low, high = line["ci95_low"].clip(lower=0), line["ci95_high"].clip(lower=0)
        if bounded:
            low, high = low.clip(upper=1), high.clip(upper=1)
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
        _empty(ax, f"no strategy here has {BY_NAME[metric].label}")
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
    _floor_log_axis(ax, values)
    ax.grid(True, which="major", alpha=0.3)
    title = BY_NAME[metric].label
    if companion is not None:
        title += f" (solid) and {short} (dashed)"
    ax.set_title(title, fontsize=10)
    _legend(ax, handles, labels)
    return ax


def plot_latency_bands(
    summary: pd.DataFrame,
    x: str | None,
    ax: Axes | None = None,
    *,
    strategies: Sequence[str] | None = None,
) -> Axes:
    """Reaction latency against swept parameter ``x`` as percentile bands:
    for each strategy the median (solid), p50 to p90 shaded darker, p90 to
    p99 lighter, and the mean dotted. Each percentile is the mean over
    replications of the runs' own percentiles. With ``x`` None the bands
    are drawn as one bar per strategy, median to p99."""
    if ax is None:
        ax = new_figure().add_subplot()
    order = list(strategies or dict.fromkeys(summary["strategy"]))
    styles = strategy_styles(order)
    lines = strategy_lines(order)
    plain = _plain(summary)
    means = plain.pivot_table(
        index=["strategy", *([x] if x else [])],
        columns="metric",
        values="mean",
        dropna=False,
    )
    needed = ["latency_mean_s", "latency_p50_s", "latency_p90_s", "latency_p99_s"]
    if not set(needed) <= set(means.columns) or means[needed].isna().all().all():
        _empty(ax, "no reaction latency here")
        return ax

    drawn = []
    for k, name in enumerate(order):
        if name not in means.index.get_level_values(0):
            continue
        line = means.loc[name]
        if x is None:
            line = line.to_frame().T
        line = line.dropna(subset=["latency_p50_s"])
        if line.empty:
            continue
        colour, marker = styles[name]
        xs = _categorical(pd.Series(line.index)) if x else np.array([k])
        if x is None:
            ax.vlines(
                xs,
                line["latency_p50_s"],
                line["latency_p99_s"],
                color=colour,
                alpha=0.35,
                lw=14,
            )
            ax.plot(
                xs,
                line["latency_p50_s"],
                color=colour,
                marker=marker,
                ls="none",
                label=name,
            )
        else:
            ax.plot(
                xs,
                line["latency_p50_s"],
                color=colour,
                marker=marker,
                ms=4,
                ls=lines[name],
                label=name,
            )
            for low, high, alpha in BANDS:
                ax.fill_between(
                    xs, line[low], line[high], color=colour, alpha=alpha, lw=0
                )
            ax.plot(xs, line["latency_mean_s"], color=colour, ls=":", lw=1)
        drawn.append(line)

    handles, labels = ax.get_legend_handles_labels()
    handles += [
        Patch(color="black", alpha=BANDS[0][2], lw=0),
        Patch(color="black", alpha=BANDS[1][2], lw=0),
        Line2D([], [], color="black", ls=":", lw=1),
    ]
    labels += ["p50 to p90", "p90 to p99", "mean (dotted)"]
    if x is None:
        ax.set_xticks(range(len(order)), order, rotation=20)
        handles, labels = handles[:-3], labels[:-3]
    else:
        ax.set_xlabel(axis_label(x))
        if not _is_categorical(plain[x]):
            _log_if_wide(ax, plain[x], "x")
    if drawn:
        values = pd.concat([d[needed].stack() for d in drawn])
        _log_if_wide(ax, values, "y")
    ax.set_ylabel("reaction latency (s)")
    ax.set_title("reaction latency: median, p50 to p90, p90 to p99", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax, handles, labels)
    return ax


def latency_cdf(runs: pd.DataFrame, points: int = 200) -> pd.DataFrame:
    """Each strategy's reaction-latency CDF, pooled over its runs in
    ``runs`` (typically the runs of one sweep point).

    Each run keeps its latency at :data:`LATENCY_QUANTILE_LEVELS`; between
    them its CDF is interpolated linearly. The pooled CDF at latency x is
    the runs' CDFs at x weighted by their latency samples (deliveries plus
    censored pairs), as if every sample had been kept. Returns
    ``strategy``, ``latency_s`` (``points`` values, log-spaced when the
    latencies span a decade), ``fraction``.
    """
    levels = np.asarray(LATENCY_QUANTILE_LEVELS)
    frames = []
    for name, group in runs.groupby("strategy", sort=False):
        quantiles = [np.asarray(q, dtype=float) for q in group[LATENCY_QUANTILES]]
        weights = (group["deliveries"] + group["latency_censored"]).to_numpy(float)
        kept = [(q, w) for q, w in zip(quantiles, weights) if q.size and w > 0]
        if not kept:
            continue
        low = min(q[0] for q, _ in kept)
        high = max(q[-1] for q, _ in kept)
        if low > 0 and high >= 10 * low:
            grid = np.geomspace(low, high, points)
        else:
            grid = np.linspace(low, high, points)
        total = sum(w for _, w in kept)
        fraction = sum(w * _run_cdf(q, levels, grid) for q, w in kept) / total
        frames.append(
            pd.DataFrame({"strategy": name, "latency_s": grid, "fraction": fraction})
        )
    if not frames:
        return pd.DataFrame(columns=["strategy", "latency_s", "fraction"])
    return pd.concat(frames, ignore_index=True)


def _run_cdf(quantiles: np.ndarray, levels: np.ndarray, grid: np.ndarray) -> np.ndarray:
    # a run whose samples are all equal has a step CDF at that value
    if quantiles[-1] == quantiles[0]:
        return (grid >= quantiles[0]).astype(float)
    # np.interp needs increasing x: of repeated quantiles keep the highest level
    last = np.r_[quantiles[1:] != quantiles[:-1], True]
    return np.interp(grid, quantiles[last], levels[last], left=0.0, right=1.0)


def plot_latency_cdf(
    runs: pd.DataFrame,
    ax: Axes | None = None,
    *,
    strategies: Sequence[str] | None = None,
    where: str = "",
) -> Axes:
    """The reaction-latency CDF of each strategy over ``runs`` (the runs of
    one sweep point; ``where`` names it in the title), with the median and
    p99 marked."""
    if ax is None:
        ax = new_figure().add_subplot()
    order = list(strategies or dict.fromkeys(runs["strategy"]))
    styles = strategy_styles(order)
    lines = strategy_lines(order)
    cdf = latency_cdf(runs)
    for name in order:
        line = cdf[cdf["strategy"] == name]
        if line.empty:
            continue
        colour, marker = styles[name]
        ax.plot(
            line["latency_s"],
            line["fraction"],
            color=colour,
            lw=1.8,
            ls=lines[name],
            marker=marker,
            ms=4,
            markevery=0.1,
            label=name,
        )
    if cdf.empty:
        _empty(ax, "no reaction latency here")
        return ax
    for level in (0.5, 0.99):
        ax.axhline(level, color="grey", lw=0.8, ls="--")
        ax.text(
            0.01,
            level,
            f"p{level * 100:g}",
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="bottom",
            fontsize=8,
            color="grey",
        )
    _log_if_wide(ax, cdf["latency_s"], "x")
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("reaction latency (s)")
    ax.set_ylabel("fraction of deliveries")
    title = "reaction latency, CDF"
    ax.set_title(f"{title}\n{where}" if where else title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax)
    return ax


def mark_crossovers(
    ax: Axes, crossings: pd.DataFrame, strategies: Sequence[str]
) -> Axes:
    """Mark on ``ax`` each crossing of :func:`sim.compare.crossovers` rows
    ``crossings`` (along the chart's x axis) with a dotted vertical line in
    the colour of the strategy that is lower above it, labelled at the top."""
    styles = strategy_styles(strategies)
    marks = crossings.dropna(subset=["crossover"]).sort_values("crossover")
    previous, top = None, True
    for _, row in marks.iterrows():
        x = row["crossover"]
        colour = styles.get(row["lower_above"], ("black", ""))[0]
        ax.axvline(x, color=colour, ls=":", lw=1.2)
        # labels of crossings close together go to the top and the bottom
        close = previous is not None and (
            abs(np.log10(x / previous)) < 0.2 if x > 0 and previous > 0 else False
        )
        top = not top if close else True
        previous = x
        ax.annotate(
            f"{row['lower_above']} cheaper \u2192",
            (x, 1.0 if top else 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3 if top else 3),
            textcoords="offset points",
            ha="left",
            va="top" if top else "bottom",
            rotation=90,
            fontsize=7,
            color=colour,
        )
    return ax


def mark_polling_crossovers(
    fig: Figure, runs: pd.DataFrame, summary: pd.DataFrame, axes: Sequence[str]
) -> None:
    """On a one-panel CPU-per-event chart along the event rate alone, mark
    where each polling strategy starts (or stops) costing less than the push
    strategy with the least CPU per event over the sweep."""
    if len(axes) != 1 or len(fig.axes) != 1 or "kind" not in runs:
        return
    rate = axes[0]
    if not (rate.startswith("workload.") and rate.endswith("rate_per_s")):
        return
    from sim.compare import crossovers

    kinds = runs.groupby("strategy", sort=False)["kind"].first()
    pollers = [s for s, k in kinds.items() if k in POLLING_KINDS]
    pushers = [s for s, k in kinds.items() if k in PUSH_KINDS]
    if not pollers or not pushers:
        return
    plain = _plain(summary)
    cpu = plain[plain["metric"] == "cpu_s_per_event"].groupby("strategy")["mean"]
    means = cpu.mean()
    reference = min(pushers, key=lambda n: means.get(n, math.inf))
    rows = pd.concat(
        [
            crossovers(
                runs[runs["strategy"].isin([poller, reference])],
                rate,
                "cpu_s_per_event",
                axes=[rate],
            )
            for poller in pollers
        ]
    )
    rows = rows[rows["lower_above"].map(kinds).isin(POLLING_KINDS)]
    mark_crossovers(fig.axes[0], rows, list(kinds.index))


def own_axes(axes: Sequence[str], strategy: str) -> list[str]:
    """The swept parameters that belong to ``strategy`` alone."""
    return [a for a in axes if a.startswith(f"strategies.{strategy}.")]


def plot_cost_of_waiting(
    summary: pd.DataFrame,
    axes: Sequence[str],
    metric: str = "cpu_s_per_event",
    ax: Axes | None = None,
    *,
    latency: str = "latency_mean_s",
    strategies: Sequence[str] | None = None,
) -> Axes:
    """What waiting buys: ``metric`` (a cost per event) against reaction
    ``latency``, one curve per strategy through the values of its own swept
    fields (a polling interval, say), each labelled; a strategy with no
    swept field of its own is one point. ``summary`` is one combination of
    the other swept parameters (the event rate, say).

    Read it as a menu: a curve's points further right wait longer for less
    cost; a strategy's point below and left of another's is cheaper and
    faster at once. A dotted level through each single point shows where a
    curve becomes cheaper than that strategy.
    """
    if ax is None:
        ax = new_figure().add_subplot()
    order = list(strategies or dict.fromkeys(summary["strategy"]))
    styles = strategy_styles(order)
    plain = _plain(summary)
    xs_all, ys_all = [], []
    for name in order:
        mine = own_axes(axes, name)
        rows = plain[plain["strategy"] == name]
        table = rows.pivot_table(
            index=mine or ["strategy"], columns="metric", values="mean", dropna=False
        )
        if metric not in table or latency not in table:
            continue
        table = table[[latency, metric]].dropna()
        if table.empty:
            continue
        colour, marker = styles[name]
        xs, ys = table[latency].to_numpy(), table[metric].to_numpy()
        ax.plot(
            xs,
            ys,
            color=colour,
            marker=marker,
            ms=5,
            label=name,
            ls="-" if mine else "none",
        )
        if not mine:
            # a level to read the curves of swept strategies against
            ax.axhline(ys[0], color=colour, ls=":", lw=0.8, alpha=0.7)
        if mine:
            leaf = mine[0].rsplit(".", 1)[-1]
            unit = " s" if leaf.endswith("_s") else ""
            for value, px, py in zip(table.index, xs, ys):
                value = value[0] if isinstance(value, tuple) else value
                ax.annotate(
                    f"{value:g}{unit}",
                    (px, py),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                    color=colour,
                )
        xs_all.extend(xs)
        ys_all.extend(ys)
    if not xs_all:
        _empty(ax, f"no {BY_NAME[metric].label} here")
        return ax
    _log_if_wide(ax, pd.Series(xs_all), "x", DECADE)
    _log_if_wide(ax, pd.Series(ys_all), "y", DECADE)
    ax.set_xlabel(metric_label(latency))
    ax.set_ylabel(metric_label(metric))
    ax.set_title(
        f"cost of waiting: {BY_NAME[metric].label} against latency", fontsize=10
    )
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax)
    return ax


def middle_point(runs: pd.DataFrame, axes: Sequence[str]) -> dict:
    """The swept values of a representative point: the middle value of each
    swept parameter (the lower of two middles)."""
    chosen = {}
    for a in axes:
        values = sorted(runs[a].dropna().unique())
        if values:
            chosen[a] = values[(len(values) - 1) // 2]
    return chosen


def describe_point(values: dict) -> str:
    """Swept values as a short label: workload fields by their last name."""
    parts = []
    for path, value in values.items():
        name = short_name(path) if path.startswith("workload.") else path
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        parts.append(f"{name} = {value:g}" if number else f"{name} = {value}")
    return ", ".join(parts)


def _at(frame: pd.DataFrame, values: dict) -> pd.DataFrame:
    for name, value in values.items():
        frame = frame[frame[name] == value]
    return frame


def _empty(ax: Axes, text: str) -> None:
    """Say on an empty chart what is missing."""
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="grey"
    )


def _plain(summary: pd.DataFrame) -> pd.DataFrame:
    """The per-strategy rows of a summary, without paired differences."""
    return summary[summary["versus"].isna()] if "versus" in summary else summary


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
    low = (rows["mean"] - rows["ci95_low"].clip(lower=0)).fillna(0).to_numpy()
    high = (rows["ci95_high"] - rows["mean"]).fillna(0).to_numpy()
    colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(order))]
    ax.bar(order, rows["mean"].to_numpy(), yerr=[low, high], color=colours, capsize=3)
    ax.set_ylabel(metric_label(metric))
    _log_if_wide(ax, rows["mean"], "y")
    _floor_log_axis(ax, rows["mean"])
    ax.tick_params(axis="x", labelrotation=20)
    ax.set_title(BY_NAME[metric].label, fontsize=10)
    return ax


def _floor_log_axis(ax: Axes, values: pd.Series) -> None:
    """On a log y axis, start at half the smallest mean, so that an interval
    cut at 0 does not stretch the axis down by decades."""
    if ax.get_yscale() != "log":
        return
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    v = v[v > 0]
    if v.size:
        ax.set_ylim(bottom=v.min() / 2)


def _log_if_wide(ax: Axes, values: pd.Series, which: str, span: float = 100) -> None:
    """Use a log scale when the values are all positive and their largest is
    at least ``span`` times their smallest (two decades by default)."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if v.size and np.all(v > 0) and v.max() / v.min() >= span:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")


def figures(
    summary: pd.DataFrame,
    axes: Sequence[str],
    runs: pd.DataFrame | None = None,
    *,
    at: dict | None = None,
) -> dict[str, Figure]:
    """The standard charts of a sweep, keyed by file stem.

    The first swept parameter is the x axis; a panel is drawn for every
    combination of the values of the others. The cost-of-waiting chart has
    a CPU panel above a bytes panel for each combination of the parameters
    that belong to no single strategy (:func:`cost_of_waiting_points`), two
    side by side, further ones in more rows; the title names the points left
    out, if any. With ``runs`` the reaction-latency CDF is
    drawn at the sweep point ``at`` (default: :func:`middle_point`).
    """
    axes = list(axes)
    if not axes and "point" in summary and summary["point"].nunique() > 1:
        raise ResultsError(
            f"manifest.json: field 'axes' is empty but the runs hold "
            f"{summary['point'].nunique()} points; expected the swept parameters "
            "that tell the points apart"
        )
    x = axes[0] if axes else None
    others = axes[1:]
    panels = _panels(summary, others)
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    order = list(dict.fromkeys(summary["strategy"]))
    plain = _plain(summary)

    def paneled(draw) -> Figure:
        fig = new_figure((rows, columns))
        for k, values in enumerate(panels):
            ax = fig.add_subplot(rows, columns, k + 1)
            draw(_at(summary, dict(zip(others, values))), ax)
            if others:
                where = ", ".join(f"{n} = {v}" for n, v in zip(others, values))
                ax.set_title(f"{ax.get_title()}\n{where}", fontsize=9)
        return fig

    charts = {}
    if plain.loc[plain["metric"] == "latency_p50_s", "mean"].notna().any():
        charts["latency"] = paneled(
            lambda part, ax: plot_latency_bands(part, x, ax, strategies=order)
        )
    for stem, (metric, companion) in CHARTS.items():
        if plain.loc[plain["metric"] == metric, "mean"].notna().sum() == 0:
            continue  # e.g. the empty-poll fraction of a sweep with no pollers
        charts[stem] = paneled(
            lambda part, ax, m=metric, c=companion: plot_metric(
                part, m, x, ax, companion=c, strategies=order
            )
        )

    if runs is not None and LATENCY_QUANTILES in runs:
        point = middle_point(runs, axes) if at is None else at
        fig = new_figure()
        plot_latency_cdf(
            _at(runs, point),
            fig.add_subplot(),
            strategies=order,
            where=describe_point(point),
        )
        charts["latency_cdf"] = fig
    if runs is not None and "cpu_per_event" in charts:
        mark_polling_crossovers(charts["cpu_per_event"], runs, summary, axes)

    shared = [a for a in axes if not a.startswith("strategies.")]
    costs = [
        m
        for m in ("cpu_s_per_event", "bytes_per_event")
        if plain.loc[plain["metric"] == m, "mean"].notna().any()
    ]
    if costs and plain.loc[plain["metric"] == "latency_mean_s", "mean"].notna().any():
        combos, dropped = cost_of_waiting_points(summary, axes)
        columns = min(COST_COLUMNS, len(combos))
        bands = math.ceil(len(combos) / columns)
        width, height = COST_PANEL_SIZE
        fig = Figure(
            figsize=(width * columns + 1.5, height * len(costs) * bands),
            layout="constrained",
        )
        for k, values in enumerate(combos):
            band, c = divmod(k, columns)
            for r, metric in enumerate(costs):
                row = band * len(costs) + r
                ax = fig.add_subplot(len(costs) * bands, columns, row * columns + c + 1)
                point = dict(zip(shared, values))
                plot_cost_of_waiting(
                    _at(summary, point), axes, metric, ax, strategies=order
                )
                if point:
                    ax.set_title(
                        f"{ax.get_title()}\n{describe_point(point)}", fontsize=9
                    )
                last = c == columns - 1 or k == len(combos) - 1
                if not last and ax.get_legend():
                    ax.get_legend().remove()
        if dropped:
            fig.suptitle(
                f"{len(dropped)} points not shown: "
                + "; ".join(describe_point(dict(zip(shared, v))) for v in dropped),
                fontsize=9,
                wrap=True,
            )
        charts["cost_of_waiting"] = fig
    return charts


def cost_of_waiting_points(
    summary: pd.DataFrame, axes: Sequence[str]
) -> tuple[list[tuple], list[tuple]]:
    """The combinations of the swept parameters that belong to no single
    strategy that the cost-of-waiting chart shows (at most
    :data:`MAX_COST_POINTS`, first and last included, evenly spread), and
    those it leaves out."""
    shared = [a for a in axes if not a.startswith("strategies.")]
    every = _panels(summary, shared)
    shown = _spread(every, MAX_COST_POINTS)
    return shown, [v for v in every if v not in shown]


# the cost-of-waiting chart: at most this many points of the sweep, this many
# side by side (two panels of this size stay legible on a 1280 px page), and
# the size of each panel: cost against latency reads best near square
MAX_COST_POINTS = 6
COST_COLUMNS = 2
COST_PANEL_SIZE = (5.5, 4.2)
# a cost-of-waiting axis spanning a decade is drawn on a log scale
DECADE = 10


def _panels(summary: pd.DataFrame, others: Sequence[str]) -> list[tuple]:
    if not others:
        return [()]
    return list(
        itertools.product(*(sorted(summary[a].dropna().unique()) for a in others))
    )


def _spread(items: list, most: int) -> list:
    """At most ``most`` of ``items``, first and last included, evenly spread."""
    if len(items) <= most:
        return items
    picks = np.linspace(0, len(items) - 1, most).round().astype(int)
    return [items[i] for i in dict.fromkeys(picks)]
