"""One self-contained HTML page per results folder: ``report.html``.

The page answers the sweep's question first, in sentences computed from the
runs (:func:`findings`): where polling starts to cost less CPU per event
than push, how many times push's CPU it spends where events are rare, and
the reaction latency it costs. Then come the charts of :mod:`sim.charts`,
which strategy is cheapest and fastest at each point, the crossovers
between strategies for each metric, the summary table with 95% confidence
intervals, the scenario (read as prose, and as TOML) and the manifest.

Everything the page shows is inside it: charts are PNG images embedded as
base64 data, the style sheet is inline, and there are no scripts, fonts or
links to anything outside the file, so it opens the same offline, attached
to a mail or from a file share. Everything is computed from ``runs.parquet``
and ``manifest.json``; the report never runs a simulation.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.charts import (
    POLLING_KINDS,
    PUSH_KINDS,
    cost_of_waiting_points,
    describe_point,
    figures,
    own_axes,
    png,
    short_name,
)
from sim.compare import CROSSOVER_COLUMNS, all_crossovers
from sim.errors import ResultsError
from sim.metrics import BY_NAME, METRIC_NAMES
from sim.summary import ratio_interval, summarise
from sim.sweep import read_results, write_atomic

REPORT_FILE = "report.html"

POLLING = POLLING_KINDS
PUSH = PUSH_KINDS

# the charts shown, in order, with what each one is for
CHART_CAPTIONS = {
    "cpu_per_event": "Modelled CPU of all roles per event published, with 95% "
    "intervals (cut at 0, as a cost cannot be negative). Where a polling line "
    "falls below a push line, polling costs less.",
    "cost_of_waiting": "What waiting buys: CPU (top) and bytes (bottom) per "
    "event against mean reaction latency. A strategy with a swept interval is "
    "a curve through its intervals, the others are points.",
    "latency": "Reaction latency, publish until a subscriber's worker starts: "
    "median (line), p50 to p90 (dark band), p90 to p99 (light band), mean "
    "(dotted).",
    "latency_cdf": "The whole reaction-latency distribution at one sweep "
    "point, every replication pooled.",
    "bytes_per_event": "Bytes on every link, both directions, per event.",
    "requests_per_event": "HTTP requests of every kind per event.",
    "empty_poll_fraction": "The share of polls answered with no event.",
}

# summary-table columns: the metrics people decide on
TABLE_METRICS = (
    "cpu_s_per_event",
    "bytes_per_event",
    "requests_per_event",
    "latency_p50_s",
    "latency_p99_s",
    "latency_mean_s",
    "empty_poll_fraction",
)
CROSSOVER_METRICS = (
    "cpu_s_per_event",
    "bytes_per_event",
    "requests_per_event",
    "latency_mean_s",
    "latency_p99_s",
)


@dataclass(frozen=True)
class Finding:
    """One plain-language statement, and whether it belongs at the top."""

    text: str
    headline: bool = False


def write_report(folder: Path) -> Path:
    """Read the results folder ``folder`` and write its ``report.html``
    through a temporary file, so a reader never sees half a page."""
    folder = Path(folder)
    runs, info = read_results(folder)
    check_results(runs, info, folder)
    page = build_report(runs, info)
    path = folder / REPORT_FILE
    try:
        write_atomic(path, lambda p: p.write_text(page, encoding="utf-8"))
    except OSError as exc:
        raise ResultsError(
            f"{path}: cannot write the report ({exc.strerror}); expected a "
            "results folder this user may write to"
        ) from None
    return path


def check_results(runs: pd.DataFrame, info: dict, folder: Path | str = ".") -> None:
    """Raise :class:`ResultsError` naming the file, field and value if the
    manifest ``info`` or the ``runs`` are not what a sweep writes: the
    swept values as lists, the scenario's tables as tables, every metric
    column numeric."""
    folder = Path(folder)
    manifest, table = folder / "manifest.json", folder / "runs.parquet"
    axes = info.get("axes")
    if not isinstance(axes, dict):
        raise ResultsError(
            f"{manifest}: field 'axes' is {json.dumps(axes, default=str)}; "
            "expected a table of swept parameters and their values"
        )
    for axis, values in axes.items():
        if not isinstance(values, list) or not values:
            raise ResultsError(
                f"{manifest}: field 'axes.{axis}' is "
                f"{json.dumps(values, default=str)}; expected a non-empty list of "
                "the values swept"
            )
    points = runs["point"].nunique()
    if not axes and points > 1:
        raise ResultsError(
            f"{manifest}: field 'axes' is empty but {table} holds {points} "
            "points; expected the swept parameters that tell the points apart"
        )
    scenario = info.get("scenario")
    if scenario is not None:
        if not isinstance(scenario, dict):
            raise ResultsError(
                f"{manifest}: field 'scenario' is "
                f"{json.dumps(scenario, default=str)[:80]}; expected a table"
            )
        for key in ("simulation", "workload", "network", "costs", "subscriber"):
            if key in scenario and not isinstance(scenario[key], dict):
                raise ResultsError(
                    f"{manifest}: field 'scenario.{key}' is "
                    f"{json.dumps(scenario[key], default=str)[:80]}; expected a table"
                )
        strategies = scenario.get("strategies", [])
        if not isinstance(strategies, list) or not all(
            isinstance(s, dict) for s in strategies
        ):
            raise ResultsError(
                f"{manifest}: field 'scenario.strategies' is "
                f"{json.dumps(strategies, default=str)[:80]}; expected a list of "
                "tables, one per strategy"
            )
    for name in (*METRIC_NAMES, "replication", "point"):
        column = runs[name]
        if not (
            pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
        ):
            bad = column[pd.to_numeric(column, errors="coerce").isna()]
            sample = bad.iloc[0] if len(bad) else column.iloc[0]
            raise ResultsError(
                f"{table}: column {name} holds {_kind_of(column)} such as "
                f"{sample!r}; expected numbers"
            )


def _kind_of(column: pd.Series) -> str:
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        return "text"
    return f"{column.dtype} values"


def build_report(runs: pd.DataFrame, info: dict) -> str:
    """The report of a sweep's ``runs`` and manifest ``info``, as HTML
    (checked first with :func:`check_results`)."""
    check_results(runs, info)
    axes = list(info["axes"])
    summary = summarise(runs, axes)
    crossings = all_crossovers(runs, axes, list(CROSSOVER_METRICS))
    found = findings(runs, summary, crossings, axes)
    charts = figures(summary, axes, runs)
    captions = _captions(summary, axes, runs["replication"].nunique() > 1)
    title = f"pollpush report: {info.get('sweep', '?')}"
    scenario = info.get("scenario") if isinstance(info.get("scenario"), dict) else {}

    parts = [
        _head(title),
        f"<h1>{_e(title)}</h1>",
        f'<p class="lead">{_e(scenario.get("description", ""))}</p>',
        f'<p class="meta">{_e(_meta(info, runs))}</p>',
        '<section class="answer" id="answer"><h2>When does polling pay?</h2>',
        *(
            f'<p class="verdict">{_e(f.text)}</p>'
            for f in verdict(runs, summary, crossings, axes)
        ),
        "<ul>",
        *(f"<li>{_e(f.text)}</li>" for f in found if f.headline),
        "</ul></section>",
        _charts_section(
            charts,
            ["cpu_per_event", "cost_of_waiting"],
            "key-charts",
            captions,
        ),
        '<section id="findings"><h2>Findings</h2><ul>',
        *(f"<li>{_e(f.text)}</li>" for f in found if not f.headline),
        "</ul></section>",
        _charts_section(
            charts,
            [
                k
                for k in CHART_CAPTIONS
                if k not in ("cpu_per_event", "cost_of_waiting")
            ],
            "more-charts",
            captions,
            "More charts",
        ),
        _glance(summary, axes),
        _crossover_section(crossings),
        _summary_section(summary, axes),
        _scenario_section(scenario, info),
        _manifest_section(info),
        (
            "<footer>Written by <code>python -m sim report DIR</code> from the "
            "folder's runs.parquet and manifest.json; every figure above is "
            "computed from them.</footer>"
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# -- findings ------------------------------------------------------------------


def findings(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    crossings: pd.DataFrame,
    axes: Sequence[str],
) -> list[Finding]:
    """Plain-language statements computed from a sweep.

    The headline ones say, for each polling strategy against the push
    strategy with the least CPU per event (the reference), from which event
    rate on it costs less CPU per event (its crossover along a swept event
    rate), and at what reaction latency; or, along a poller's own swept
    interval, from which interval on. The others give the CPU ratio where
    events are rarest and most frequent with a 95% interval, each
    strategy's latency, the empty polls, and which strategy is cheapest how
    often.
    """
    kinds = runs.groupby("strategy", sort=False)["kind"].first()
    pollers = [s for s, k in kinds.items() if k in POLLING]
    pushers = [s for s, k in kinds.items() if k in PUSH]
    plain = _plain(summary)
    if not pollers or not pushers:
        return [
            Finding(
                "This sweep does not compare polling with push (strategies: "
                f"{', '.join(kinds.index)}); the tables below compare them.",
                headline=True,
            ),
            *_cheapest_findings(plain),
        ]

    if not _published(runs):
        return [_nothing_published(runs, axes), *_cheapest_findings(plain)]
    reference = _cheapest(plain, pushers)
    latency = _latency_table(plain)
    rate = _rate_axis(axes)
    if rate is not None and runs[rate].nunique() < 2:
        rate = None  # one rate: the ratios at the point answer
    cpu = _unjudged(runs, crossings[crossings["metric"] == "cpu_s_per_event"])
    out: list[Finding] = []
    if runs["replication"].nunique() < 2:
        out.append(
            Finding(
                "One replication per point: there are no 95% intervals, so "
                "nothing here says whether a difference is beyond noise.",
                headline=True,
            )
        )
    for poller in pollers:
        relevant = _relevant_axes(axes, poller)
        if rate is not None:
            out.append(
                _rate_headline(cpu, runs, poller, reference, rate, relevant, latency)
            )
        for axis in own_axes(axes, poller):
            if runs[axis].nunique() < 2:
                continue
            out.append(
                _interval_headline(cpu, plain, poller, reference, axis, relevant)
            )
    if not out:
        out += _point_findings(runs, pollers, reference, axes)
    if rate is not None and _relevant_axes(axes, None) == [rate]:
        # the ratio where events are rarest and most frequent; the strongest
        # contrast goes to the top
        ratios = [
            _ratio_finding(runs, poller, reference, {rate: value})
            for value in (runs[rate].min(), runs[rate].max())
            for poller in pollers
            if not own_axes(axes, poller)
        ]
        ratios = [r for r in ratios if r is not None]
        if ratios:
            top = max(ratios, key=lambda r: r[1])
            out.append(Finding(top[0].text, headline=True))
            out += [r[0] for r in ratios if r is not top]
    out += _latency_findings(plain, latency, [*pollers, *pushers], axes)
    out += _empty_poll_findings(plain, pollers, axes)
    out += _cheapest_findings(plain)
    return out


def verdict(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    crossings: pd.DataFrame,
    axes: Sequence[str],
) -> list[Finding]:
    """The answer in one sentence, for a sweep of the event rate alone.

    Each polling strategy stands in one of a few relations to the push
    strategy with the least CPU per event (the reference) along the rate:
    cheaper at every rate swept, cheaper nowhere, cheaper from one rate on
    (or below one), or an order that changes several times. The sentence
    names the poller cheaper everywhere if there is one, otherwise the
    first poller to pay and the rate it pays from; a crossing whose order
    is not confident on both sides, or a ratio whose 95% interval holds 1,
    is called a tie within noise, not a win. Empty for other sweeps (and
    for a sweep of one rate, which the point findings answer)."""
    rate = _rate_axis(axes)
    kinds = runs.groupby("strategy", sort=False)["kind"].first()
    pollers = [s for s, k in kinds.items() if k in POLLING]
    pushers = [s for s, k in kinds.items() if k in PUSH]
    if (
        rate is None
        or not pollers
        or not pushers
        or _relevant_axes(axes, None) != [rate]
        or runs[rate].nunique() < 2
        or not _published(runs)
    ):
        return []
    if any(own_axes(axes, p) for p in pollers):
        return []  # the interval decides: see the headline findings
    plain = _plain(summary)
    reference = _cheapest(plain, pushers)
    latency = _latency_table(plain)
    cpu = _unjudged(runs, crossings[crossings["metric"] == "cpu_s_per_event"])
    low, high = _num(runs[rate].min()), _num(runs[rate].max())
    span = f"from {low} to {high} events/s"
    everywhere, paying, below, several, ties = [], [], [], [], []
    for poller in pollers:
        rows = _along(cpu, rate, poller, reference, [rate])
        relation = _relation(rows, poller)
        tied = _tied_rates(runs, poller, reference, rate)
        if relation.kind == "throughout":
            (ties if len(tied) == runs[rate].nunique() else everywhere).append(
                (poller, tied)
            )
        elif relation.kind == "tie" or len(tied) == runs[rate].nunique():
            ties.append((poller, tied))
        elif relation.kind == "cross" and len(relation.crossings) == 1:
            x, side, confident = relation.crossings[0]
            if side == "above":
                level = _level_above(runs, poller, reference, rate, x)
                paying.append((x, poller, "" if confident else _WITHIN, level))
            else:
                below.append((x, poller, confident))
        elif relation.kind == "cross":
            several.append((poller, relation.crossings))

    def price(name: str) -> str:
        return (
            f"a median reaction latency of {_latency_cell(latency, name)} instead "
            f"of {_latency_cell(latency, reference)}"
        )

    sentences = []
    if everywhere:
        first, tied = everywhere[0]
        text = (
            f"At every rate swept, {span}, polling ({first}) costs less CPU per "
            f"event than push ({reference}), with {price(first)}"
        )
        if tied:
            text += (
                f"; within noise (a tie) at {', '.join(_num(t) for t in tied)} events/s"
            )
        if len(everywhere) > 1:
            text += "; so does " + ", ".join(n for n, _ in everywhere[1:])
        sentences.append(text + ".")
    elif paying:
        paying.sort()
        first_rate, first, noise, level = paying[0]
        text = (
            f"Below {_num(first_rate)} events/s, push ({reference}) costs the "
            f"least CPU per event. From there on {first} costs less, with "
            f"{price(first)}"
        )
        if noise:
            text += " (the order next to that crossing is within noise)"
        if level:
            text += f" ({level})"
        if len(paying) > 1:
            rest = ", ".join(
                f"{name} from {_num(x)} events/s"
                + (" (within noise)" if noise else "")
                + (f" ({level})" if level else "")
                for x, name, noise, level in paying[1:]
            )
            text += f"; {rest}"
        sentences.append(text + ".")
    for x, name, confident in below:
        sentences.append(
            f"{name} costs less CPU per event than {reference} only below "
            f"{_num(x)} events/s" + ("" if confident else " (within noise)") + "."
        )
    for name, points in several:
        where = ", ".join(f"{_num(x)}" for x, _, _ in points)
        sentences.append(
            f"{name} and {reference} change places {len(points)} times along the "
            f"rate (at {where} events/s): neither costs less CPU per event "
            "throughout."
        )
    for name, _ in ties:
        sentences.append(
            f"{name} and {reference} cost the same CPU per event within noise "
            f"at every rate {span} (a tie)."
        )
    if not sentences:
        sentences.append(
            f"Not in this sweep: {reference} costs less CPU per event than "
            f"every polling strategy at every rate {span}."
        )
    return [Finding(" ".join(sentences), headline=True)]


@dataclass(frozen=True)
class _Relation:
    """How a poller's CPU per event compares with a reference's along one
    swept parameter: ``kind`` is "throughout" (the poller is cheaper at
    every value), "never", "tie", "none" (no value where both have one) or
    "cross"; ``crossings`` holds (value, "above" or "below" (the side where
    the poller is cheaper), confident)."""

    kind: str
    crossings: tuple = ()


def _relation(rows: pd.DataFrame, poller: str) -> _Relation:
    if rows.empty:
        return _Relation("none")
    crossed = rows.dropna(subset=["crossover"])
    if crossed.empty:
        lower = rows.iloc[0]["lower_below"]
        if lower == poller:
            return _Relation("throughout")
        return _Relation("tie" if lower == "tie" else "never")
    return _Relation(
        "cross",
        tuple(
            (
                float(r["crossover"]),
                "above" if r["lower_above"] == poller else "below",
                bool(r["confident"]),
            )
            for _, r in crossed.sort_values("crossover").iterrows()
        ),
    )


_WITHIN = "within noise"
# a CPU ratio this close to 1 is called the same cost, however narrow its
# interval: common random numbers make tiny differences confident
SAME = 0.01


def _level_above(runs, poller, reference, rate, crossing) -> str:
    """Where the poller costs less than the reference at every swept rate
    above ``crossing`` by less than :data:`SAME`, that said in a few words;
    else empty."""
    ratios = [
        (value, _ratio(runs, poller, reference, {rate: value}))
        for value in sorted(runs[rate].unique())
        if value > crossing
    ]
    ratios = [(v, r) for v, r in ratios if r is not None]
    if not ratios or any(abs(r["mean"] - 1) >= SAME for _, r in ratios):
        return ""
    shown = ", ".join(f"{r['mean']:.3f} times at {_num(v)}" for v, r in ratios)
    return f"but the same CPU as {reference} to within {SAME:.0%}: {shown} events/s"


def _tied_rates(runs, poller, reference, rate) -> list[float]:
    """The rates where the 95% interval of the poller's CPU per event over
    the reference's holds 1 (with one replication there is no interval,
    and no rate is called a tie)."""
    tied = []
    for value in sorted(runs[rate].unique()):
        r = _ratio(runs, poller, reference, {rate: value})
        if r is not None and r["ci95_low"] <= 1 <= r["ci95_high"]:
            tied.append(value)
    return tied


def _unjudged(runs: pd.DataFrame, crossings: pd.DataFrame) -> pd.DataFrame:
    """``crossings`` as the sentences read them: with one replication there
    is no interval to call an order within noise, so none is (the report
    says once that nothing is judged against noise)."""
    if runs["replication"].nunique() > 1:
        return crossings
    return crossings.assign(confident=True)


def _published(runs: pd.DataFrame) -> bool:
    return bool(runs["events_published"].sum() > 0)


def _latency_table(plain: pd.DataFrame) -> pd.DataFrame:
    """Each strategy's latency metrics averaged over the sweep, one column
    per metric (NaN where none was recorded)."""
    return plain.pivot_table(
        index="strategy", columns="metric", values="mean", dropna=False
    ).reindex(columns=list(dict.fromkeys([*plain["metric"], *_LATENCY])))


_LATENCY = ("latency_p50_s", "latency_p99_s", "latency_mean_s")


def _latency_cell(latency: pd.DataFrame, name: str, metric="latency_p50_s") -> str:
    if name not in latency.index or metric not in latency:
        return "not recorded"
    value = latency.loc[name, metric]
    return "not recorded" if pd.isna(value) else _seconds(value)


def _cheapest(plain: pd.DataFrame, names: Sequence[str]) -> str:
    """Of ``names``, the strategy with the lowest CPU per event over the
    sweep (the mean over points of its pooled estimates)."""
    cpu = plain[plain["metric"] == "cpu_s_per_event"].groupby("strategy")["mean"].mean()
    return min(names, key=lambda n: cpu.get(n, math.inf))


def _rate_axis(axes: Sequence[str]) -> str | None:
    return next(
        (a for a in axes if a.startswith("workload.") and a.endswith("rate_per_s")),
        None,
    )


def _relevant_axes(axes: Sequence[str], strategy: str | None) -> list[str]:
    """The swept parameters a strategy's results depend on: all but the
    fields of other strategies."""
    return [
        a
        for a in axes
        if not a.startswith("strategies.") or a.startswith(f"strategies.{strategy}.")
    ]


def _nothing_published(runs: pd.DataFrame, axes: Sequence[str]) -> Finding:
    rate = _rate_axis(axes)
    where = (
        f" (event rates {_num(runs[rate].min())} to {_num(runs[rate].max())} events/s)"
        if rate is not None
        else ""
    )
    return Finding(
        f"No event was published in any run of this sweep{where}, so CPU, "
        "bytes and requests per event are undefined and nothing here says "
        "when polling pays; the tables below hold what was measured.",
        headline=True,
    )


def _rate_headline(cpu, runs, poller, reference, rate, relevant, latency) -> Finding:
    """From which event rate on ``poller`` costs less CPU per event than
    ``reference`` (at each value of its own swept fields, if any), and the
    reaction latency it pays for that."""
    rows = _along(cpu, rate, poller, reference, relevant)
    others = [a for a in relevant if a != rate]
    span = f"from {_num(runs[rate].min())} to {_num(runs[rate].max())} events/s"
    phrases = [
        (where, _phrase(group, poller, "events/s"))
        for where, group in _groups(rows, others)
    ]
    if not others:
        relation = _relation(rows, poller)
        text, shaky = phrases[0][1] if phrases else ("", False)
        noise = _NOISE if shaky else ""
        level = ""
        if relation.kind == "cross" and [c[1] for c in relation.crossings] == ["above"]:
            level = _level_above(
                runs, poller, reference, rate, relation.crossings[0][0]
            )
            level = f" ({level})" if level else ""
        lead = {
            "cross": f"{poller} pays {text}: there it costs less CPU per event "
            f"than {reference}{noise}{level}.",
            "throughout": f"{poller} pays at every rate swept: it costs less "
            f"CPU per event than {reference} {span}.",
            "never": f"{poller} does not pay in this sweep: it costs more CPU "
            f"per event than {reference} at every rate {span}.",
            "tie": f"{poller} and {reference} cost the same CPU per event "
            f"within noise at every rate {span}.",
            "none": f"{poller} and {reference} have no rate where both have a "
            "CPU per event to compare.",
        }[relation.kind]
        return Finding(
            f"{lead} {_latency_price(latency, poller, reference)}".strip(),
            headline=True,
        )
    listed = "; ".join(f"{where}: {text}" for where, (text, _) in phrases)
    noise = _NOISE if any(shaky for _, (_, shaky) in phrases) else ""
    return Finding(
        f"{poller} costs less CPU per event than {reference} when {listed}{noise}.",
        headline=True,
    )


def _interval_headline(cpu, plain, poller, reference, axis, relevant) -> Finding:
    """From which value of its own swept field (its interval, say) on
    ``poller`` costs less CPU per event than ``reference``, and the mean
    reaction latency there."""
    rows = _along(cpu, axis, poller, reference, relevant)
    others = [a for a in relevant if a != axis]
    leaf = axis.rsplit(".", 1)[-1]
    unit = "s" if leaf.endswith("_s") else ""
    phrases = []
    for where, group in _groups(rows, others):
        text, shaky = _phrase(group, poller, unit)
        waited = _latency_at(plain, poller, axis, group)
        if waited:
            text += f" (mean reaction latency {waited} there)"
        phrases.append((where, (text, shaky)))
    listed = "; ".join(
        f"{where}, {_on_axis(leaf, text)}" if where else _on_axis(leaf, text)
        for where, (text, _) in phrases
    )
    noise = _NOISE if any(shaky for _, (_, shaky) in phrases) else ""
    return Finding(
        f"{poller} costs less CPU per event than {reference} {listed}{noise}.",
        headline=True,
    )


def _latency_at(plain, poller, axis, crossings) -> str:
    """The poller's mean reaction latency at its single crossing along
    ``axis``, interpolated (log-log) between the neighbouring grid points."""
    crossed = crossings.dropna(subset=["crossover"])
    if len(crossed) != 1:
        return ""
    row = crossed.iloc[0]
    fixed = {
        c: row[c]
        for c in crossings.columns
        if c in plain and c != axis and c.startswith(("workload.", "strategies."))
    }
    line = _at_point(
        plain[(plain["strategy"] == poller) & (plain["metric"] == "latency_mean_s")],
        fixed,
    ).sort_values(axis)
    xs, ys = line[axis].to_numpy(float), line["mean"].to_numpy(float)
    if len(xs) < 2 or (xs <= 0).any() or (ys <= 0).any():
        return ""
    at = 10 ** np.interp(np.log10(row["crossover"]), np.log10(xs), np.log10(ys))
    return _seconds(at)


_NOISE = " (within noise next to some crossings)"


def _on_axis(leaf: str, text: str) -> str:
    """A :func:`_phrase` read along a poller's own swept field ``leaf``."""
    if text.startswith(("above", "below")):
        return f"with {leaf} {text}"
    if text == "throughout":
        return f"at every {leaf} swept"
    if text == "never":
        return f"at no {leaf} swept (it costs more at every one)"
    if text == "at no point":
        return f"at no {leaf} swept (a tie within noise at every one)"
    return f"along {leaf}: {text}"


def _along(cpu, axis, poller, reference, relevant) -> pd.DataFrame:
    """The crossings of ``poller`` and ``reference`` along ``axis``, at the
    first value of every swept field neither of them depends on (their
    results do not change with it)."""
    rows = cpu[
        (cpu["axis"] == axis)
        & (
            ((cpu["strategy"] == poller) & (cpu["versus"] == reference))
            | ((cpu["strategy"] == reference) & (cpu["versus"] == poller))
        )
    ]
    for other in rows.columns:
        if other.startswith("strategies.") and other not in relevant and other != axis:
            rows = rows[rows[other] == rows[other].min()]
    return rows


def _groups(rows: pd.DataFrame, others: Sequence[str]):
    if not others:
        yield "", rows
        return
    for key, group in rows.groupby(list(others), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        yield _where(dict(zip(others, key))), group


def _phrase(rows: pd.DataFrame, poller: str, unit: str) -> tuple[str, bool]:
    """Where ``poller`` is the cheaper of a pair along one axis, in a few
    words ("above 0.0416 events/s", "throughout", "never"), and whether the
    order is within noise next to a crossing."""
    unit = f" {unit}" if unit else ""
    crossed = rows.dropna(subset=["crossover"])
    if crossed.empty:
        if rows.empty:
            return "cannot be compared", False
        lower = rows.iloc[0]["lower_below"]
        if lower == poller:
            return "throughout", False
        return ("never", False) if lower != "tie" else ("at no point", False)
    parts = []
    for _, row in crossed.iterrows():
        side = "above" if row["lower_above"] == poller else "below"
        parts.append(f"{side} {_num(row['crossover'])}{unit}")
    return " and ".join(parts), not bool(crossed["confident"].all())


def _latency_price(latency: pd.DataFrame, poller: str, reference: str) -> str:
    if "latency_p50_s" not in latency or poller not in latency.index:
        return ""
    mine = latency.loc[poller]
    if pd.isna(mine["latency_p50_s"]):
        return "Its reaction latency was not recorded."
    return (
        f"Its reaction latency: {_seconds(mine['latency_p50_s'])} median, "
        f"{_seconds(mine['latency_p99_s'])} p99."
    )


def _where(values: dict) -> str:
    parts = []
    for path, value in values.items():
        if path.endswith("rate_per_s"):
            parts.append(f"at {_num(value)} events/s")
        elif path.startswith("strategies.") and path.endswith(".interval_s"):
            parts.append(f"polling every {_num(value)} s")
        else:
            unit = " s" if path.endswith("_s") else ""
            parts.append(f"at {_axis_name(path)} = {_num(value)}{unit}")
    return ", ".join(parts)


def _axis_name(path: str) -> str:
    return short_name(path)


def _ratio_finding(runs, poller, reference, at: dict) -> tuple[Finding, float] | None:
    """The poller's CPU per event as a multiple of the reference's at one
    point, pooled over replications, with a delta-method 95% interval (its
    lower end clipped at 0, as a ratio of costs cannot be negative), and
    how far the ratio is from 1 (a factor either way).

    Strategies replay the same events in a replication (common random
    numbers), so the ratio of CPU per event is the ratio of total CPU."""
    r = _ratio(runs, poller, reference, at)
    if r is None:
        return None
    interval = ""
    if not math.isnan(r["ci95_low"]):
        interval = (
            f" [95% interval {_num(max(r['ci95_low'], 0.0))}, {_num(r['ci95_high'])}]"
        )
    where = _where(at)
    where = f"{where[:1].upper()}{where[1:]}, " if where else ""
    if r["ci95_low"] <= 1 <= r["ci95_high"]:
        judged = ": a tie within noise, as the interval holds 1"
    elif abs(r["mean"] - 1) < SAME:
        judged = f": the same CPU to within {SAME:.0%}"
    elif math.isnan(r["ci95_low"]):
        judged = " (one replication, so no interval)"
    else:
        judged = ""
    text = (
        f"{where}{poller} spends {_num(r['mean'])} times "
        f"{reference}'s CPU per event{interval}{judged}; "
        f"{_seconds(r['per_event'])} per event."
    )
    return Finding(text), max(r["mean"], 1 / r["mean"]) if r["mean"] > 0 else 0.0


def _ratio(runs, poller, reference, at: dict) -> dict | None:
    """The poller's total CPU over the reference's at one point, pooled
    over the replications both ran, with its 95% interval (NaN with one
    replication) and the poller's CPU per event; None where no event was
    published or the reference spent nothing."""
    rows = _at_point(runs, at)
    mine = rows[rows["strategy"] == poller].set_index("replication")
    theirs = rows[rows["strategy"] == reference].set_index("replication")
    both = mine.index.intersection(theirs.index)
    events = mine.loc[both, "events_published"].sum() if len(both) else 0
    if not events or theirs.loc[both, "cpu_s_total"].sum() <= 0:
        return None
    r = ratio_interval(
        mine.loc[both, "cpu_s_total"].to_numpy(float),
        theirs.loc[both, "cpu_s_total"].to_numpy(float),
    )
    return {**r, "per_event": mine.loc[both, "cpu_s_total"].sum() / events}


def _at_point(frame: pd.DataFrame, at: dict) -> pd.DataFrame:
    for name, value in at.items():
        frame = frame[frame[name] == value]
    return frame


def _point_findings(runs, pollers, reference, axes) -> list[Finding]:
    """With neither an event rate nor an interval swept: the CPU ratio at
    each point (the first ten)."""
    points = runs.drop_duplicates("point")[list(axes)].to_dict("records") or [{}]
    out = []
    for at in points[:10]:
        for poller in pollers:
            found = _ratio_finding(runs, poller, reference, at)
            if found is not None:
                out.append(Finding(found[0].text, headline=True))
    return out


def _latency_findings(
    plain: pd.DataFrame,
    latency: pd.DataFrame,
    names: Sequence[str],
    axes: Sequence[str],
) -> list[Finding]:
    """Each strategy's reaction latency, averaged over the sweep; for one
    with swept fields of its own, the range of its mean latency over them."""
    out = []
    for name in names:
        if name not in latency.index or "latency_p50_s" not in latency:
            continue
        row = latency.loc[name]
        if math.isnan(row["latency_p50_s"]):
            continue
        mine = own_axes(axes, name)
        if mine:
            means = plain[
                (plain["strategy"] == name) & (plain["metric"] == "latency_mean_s")
            ].dropna(subset=["mean"])
            if means.empty:
                continue
            low, high = (
                means.loc[means["mean"].idxmin()],
                means.loc[means["mean"].idxmax()],
            )
            out.append(
                Finding(
                    f"{name}'s mean reaction latency runs from "
                    f"{_seconds(low['mean'])} ({_where({a: low[a] for a in mine})}) "
                    f"to {_seconds(high['mean'])} "
                    f"({_where({a: high[a] for a in mine})})."
                )
            )
            continue
        out.append(
            Finding(
                f"{name} reacts in {_seconds(row['latency_p50_s'])} at the median "
                f"and {_seconds(row['latency_p99_s'])} at p99 "
                f"(mean {_seconds(row['latency_mean_s'])}), averaged over the sweep."
            )
        )
    return out


def _empty_poll_findings(plain, pollers, axes) -> list[Finding]:
    rows = plain[
        (plain["metric"] == "empty_poll_fraction") & plain["strategy"].isin(pollers)
    ].dropna(subset=["mean"])
    out = []
    for name, group in rows.groupby("strategy", sort=False):
        worst = group.loc[group["mean"].idxmax()]
        where = _where({a: worst[a] for a in _relevant_axes(axes, name)})
        out.append(
            Finding(
                f"{name}: up to {_percent(worst['mean'])} of polls come back empty"
                + (f" ({where})" if where else "")
                + "."
            )
        )
    return out


def _cheapest_findings(plain) -> list[Finding]:
    cpu = plain[plain["metric"] == "cpu_s_per_event"].dropna(subset=["mean"])
    if cpu.empty:
        return []
    winners = cpu.loc[cpu.groupby("point")["mean"].idxmin()]
    counts = winners["strategy"].value_counts()
    text = ", ".join(f"{name} at {n}" for name, n in counts.items())
    return [Finding(f"Least CPU per event: {text} of {len(winners)} sweep points.")]


def _plain(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["versus"].isna()] if "versus" in summary else summary


# -- page parts ----------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: #1d1d1f; max-width: 1280px; margin: 0 auto; padding: 16px 28px; }
h1 { font-size: 26px; margin: 8px 0 2px; }
h2 { font-size: 20px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.lead { font-size: 17px; margin: 4px 0; }
.meta { color: #555; font-size: 13px; }
.answer { background: #eef5fb; border-left: 6px solid #1b6ca8; padding: 4px 18px;
          margin: 14px 0; }
.answer h2 { border: none; margin-top: 10px; }
.answer li { margin: 4px 0; font-size: 15px; }
.verdict { font-size: 18px; font-weight: 600; margin: 6px 0 4px; }
figure { margin: 12px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 13px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 8px 0 16px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right;
         white-space: nowrap; }
.wide { overflow-x: auto; }
th { background: #f4f4f4; }
td.name, th.name { text-align: left; }
pre { background: #f7f7f7; padding: 10px; overflow-x: auto; font-size: 12px; }
footer { color: #666; font-size: 12px; margin: 30px 0 10px; }
"""


def _head(title: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
    )


def _meta(info: dict, runs: pd.DataFrame) -> str:
    software = info.get("software") if isinstance(info.get("software"), dict) else {}
    strategies = list(dict.fromkeys(runs["strategy"]))
    reps = runs["replication"].nunique()
    return (
        f"{runs['point'].nunique()} points x {len(strategies)} strategies x "
        f"{reps} replications = {len(runs)} runs; finished "
        f"{info.get('finished_at', '?')} in {info.get('wall_s', '?')} s; "
        f"pollpush {software.get('pollpush', '?')}, commit "
        f"{software.get('git_commit') or 'unknown'}"
    )


def _png(fig) -> str:
    return base64.b64encode(png(fig)).decode("ascii")


def _charts_section(
    charts: dict,
    stems: Sequence[str],
    anchor: str,
    captions: dict[str, str],
    title: str = "",
) -> str:
    parts = [f'<section id="{anchor}">']
    if title:
        parts.append(f"<h2>{_e(title)}</h2>")
    for stem in stems:
        if stem not in charts:
            continue
        alt = stem.replace("_", " ")
        parts.append(
            f'<figure id="chart-{stem}"><img alt="{_e(alt)}" '
            f'src="data:image/png;base64,{_png(charts[stem])}">'
            f"<figcaption>{_e(captions[stem])}"
            "</figcaption></figure>"
        )
    if "latency_cdf" in stems and "latency_cdf" not in charts:
        parts.append(
            "<p>No latency distribution: these runs were recorded without "
            "latency quantiles (run the sweep again to draw the CDF).</p>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _captions(
    summary: pd.DataFrame, axes: Sequence[str], replicated: bool
) -> dict[str, str]:
    """Each chart's caption for this sweep: bars rather than lines for a
    sweep of one point, no intervals with one replication, and the points
    the cost-of-waiting chart leaves out."""
    captions = dict(CHART_CAPTIONS)
    if not axes:
        captions["cpu_per_event"] = (
            "Modelled CPU of all roles per event published, one bar per "
            "strategy at the sweep's one point, with 95% intervals (cut at 0). "
            "A polling bar lower than a push bar costs less."
        )
        captions["latency"] = (
            "Reaction latency, publish until a subscriber's worker starts: "
            "median (marker) to p99 (bar) of each strategy."
        )
    if not replicated:
        captions["cpu_per_event"] = (
            captions["cpu_per_event"]
            .replace(
                "with 95% intervals (cut at 0, as a cost cannot be negative)",
                "one run per point (one replication, so no intervals)",
            )
            .replace("with 95% intervals (cut at 0)", "one run (no intervals)")
        )
    _, dropped = cost_of_waiting_points(summary, axes)
    if dropped:
        shared = [a for a in axes if not a.startswith("strategies.")]
        listed = "; ".join(describe_point(dict(zip(shared, v))) for v in dropped)
        captions["cost_of_waiting"] += (
            f" Not shown, for room ({len(dropped)} points; the tables below have "
            f"them): {listed}."
        )
    return captions


def _glance(summary: pd.DataFrame, axes: Sequence[str]) -> str:
    plain = _plain(summary)
    columns = [
        ("cpu_s_per_event", "least CPU per event", _seconds),
        ("bytes_per_event", "fewest bytes per event", _bytes),
        ("latency_p99_s", "lowest p99 latency", _seconds),
    ]
    header = "".join(f"<th>{_e(_axis_name(a))}</th>" for a in axes)
    header += "".join(f'<th class="name">{_e(label)}</th>' for _, label, _ in columns)
    rows = []
    for point, group in plain.groupby("point", sort=True):
        first = group.iloc[0]
        cells = "".join(f"<td>{_e(_num(first[a]))}</td>" for a in axes)
        for metric, _, fmt in columns:
            part = group[group["metric"] == metric].dropna(subset=["mean"])
            if part.empty:
                cells += '<td class="name">-</td>'
                continue
            best = part.loc[part["mean"].idxmin()]
            value = f"{best['strategy']} ({fmt(best['mean'])})"
            cells += f'<td class="name">{_e(value)}</td>'
        rows.append(f"<tr>{cells}</tr>")
    return (
        '<section id="glance"><h2>Best at each point</h2><div class="wide"><table>'
        f"<tr>{header}</tr>{''.join(rows)}</table></div></section>"
    )


def _crossover_section(crossings: pd.DataFrame) -> str:
    found = crossings.dropna(subset=["crossover"])
    never = len(crossings) - len(found)
    parts = [
        '<section id="crossovers"><h2>Crossovers</h2>',
        (
            "<p>Where, along a swept parameter, one strategy's mean overtakes "
            "another's (interpolated between grid points, on log scales where "
            "values span decades). <em>confident</em>: the paired 95% interval of "
            "the difference excludes zero at both neighbouring points. "
            f"{never} other pairs keep the same order throughout.</p>"
        ),
    ]
    if found.empty:
        parts.append("<p>No pair of strategies crosses.</p></section>")
        return "\n".join(parts)
    others = [c for c in crossings.columns if c not in ("axis", *CROSSOVER_COLUMNS)]
    head = [
        "along",
        *[_axis_name(o) for o in others],
        "metric",
        "lower below",
        "crossover",
        "lower above",
        "between",
        "confident",
    ]
    rows = []
    for _, r in found.iterrows():
        cells = [
            _axis_name(r["axis"]),
            *[_num(r[o]) for o in others],
            BY_NAME[r["metric"]].label,
            r["lower_below"],
            _num(r["crossover"]),
            r["lower_above"],
            f"{_num(r['bracket_low'])} - {_num(r['bracket_high'])}",
            "yes" if r["confident"] else "no",
        ]
        rows.append(
            "<tr>" + "".join(f'<td class="name">{_e(c)}</td>' for c in cells) + "</tr>"
        )
    parts.append(
        '<div class="wide"><table><tr>'
        + "".join(f'<th class="name">{_e(h)}</th>' for h in head)
        + "</tr>"
        + "".join(rows)
        + "</table></div></section>"
    )
    return "\n".join(parts)


def _summary_section(summary: pd.DataFrame, axes: Sequence[str]) -> str:
    plain = _plain(summary)
    plain = plain[plain["metric"].isin(TABLE_METRICS)]
    metrics = [
        m
        for m in TABLE_METRICS
        if plain.loc[plain["metric"] == m, "mean"].notna().any()
    ]
    head = "".join(f"<th>{_e(_axis_name(a))}</th>" for a in axes)
    head += '<th class="name">strategy</th>'
    head += "".join(f"<th>{_e(BY_NAME[m].label)}</th>" for m in metrics)
    rows = []
    intervals = bool(plain["ci95_low"].notna().any())
    keyed = plain.set_index(["point", "strategy", "metric"])
    for (point, strategy), group in plain.groupby(["point", "strategy"], sort=False):
        first = group.iloc[0]
        cells = "".join(f"<td>{_e(_num(first[a]))}</td>" for a in axes)
        cells += f'<td class="name">{_e(strategy)}</td>'
        for m in metrics:
            row = keyed.loc[(point, strategy, m)]
            cells += f"<td>{_e(_estimate(m, row))}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return (
        '<section id="summary"><h2>Summary: means and 95% intervals</h2>'
        + (
            "<p>Means over replications with Student-t 95% intervals in "
            "brackets, cut at 0 (and a share at 100%), as none of these can be "
            "negative; "
            if intervals
            else "<p>One replication per point, so these are single runs and "
            "there are no intervals; "
        )
        + "CPU, bytes and requests per event, the mean latency and the empty-poll "
        "fraction are pooled as total over total (summary.csv has every metric "
        f'and the paired differences).</p><div class="wide"><table><tr>{head}</tr>'
        f"{''.join(rows)}"
        "</table></div></section>"
    )


def _estimate(metric: str, row: pd.Series) -> str:
    fmt = _formatter(metric)
    if math.isnan(row["mean"]):
        return "-"
    text = fmt(row["mean"])
    if not math.isnan(row["ci95_low"]):
        low, high = max(row["ci95_low"], 0.0), max(row["ci95_high"], 0.0)
        if metric.endswith("fraction"):
            low, high = min(low, 1.0), min(high, 1.0)
        text += f" [{fmt(low)}, {fmt(high)}]"
    return text


def _formatter(metric: str):
    if metric.endswith("_s") or metric == "cpu_s_per_event":
        return _seconds
    if metric.startswith("bytes"):
        return _bytes
    if metric.endswith("fraction"):
        return lambda v: f"{v:.1%}"
    return _num


def _scenario_section(scenario: dict, info: dict) -> str:
    parts = ['<section id="scenario"><h2>Scenario</h2>']
    if not scenario:
        parts.append("<p>The manifest holds no scenario.</p></section>")
        return "\n".join(parts)
    parts.append(
        "<ul>"
        + "".join(f"<li>{_e(t)}</li>" for t in describe_scenario(scenario, info))
        + "</ul>"
    )
    document = dict(scenario)
    if info.get("axes"):
        document["sweep"] = {"name": info.get("sweep"), "axes": info["axes"]}
    parts.append(
        "<details><summary>The scenario as TOML (every field resolved, "
        f"defaults included; source: {_e(str(info.get('source', '?')))})</summary>"
        f"<pre>{_e(to_toml(document))}</pre></details></section>"
    )
    return "\n".join(parts)


def describe_scenario(scenario: dict, info: dict) -> list[str]:
    """The scenario in a few sentences: workload, network, run length,
    strategies and what was swept."""
    sim = scenario.get("simulation", {})
    work = scenario.get("workload", {})
    arrivals = work.get("arrivals", {})
    net = scenario.get("network", {})
    lines = [
        f"{work.get('subscribers', '?')} subscribers each want every event"
        if work.get("wanted_fraction", 1.0) == 1.0
        else f"{work.get('subscribers', '?')} subscribers each want "
        f"{work.get('wanted_fraction'):.0%} of {work.get('event_types')} event types",
        "Events: "
        + _distribution(arrivals)
        + "; payloads: "
        + _distribution(work.get("payload_bytes", {}))
        + " bytes",
        "Network: one-way latency "
        + _distribution(net.get("latency_s", {}))
        + f" s; {net.get('request_overhead_bytes', '?')} B per request and "
        f"{net.get('response_overhead_bytes', '?')} B per response of overhead",
        (
            f"Each run simulates {_num(sim.get('duration_s', math.nan))} s after a "
            f"{_num(sim.get('warmup_s', math.nan))} s warm-up; "
            f"{sim.get('replications', '?')} replications from seed "
            f"{sim.get('seed', '?')}"
        ),
    ]
    for s in scenario.get("strategies", []):
        settings = [
            f"{k} {_num(s[k]) if isinstance(s[k], (int, float)) else s[k]}"
            for k in (
                "interval_s",
                "wait_s",
                "max_batch",
                "concurrency",
                "push_concurrency",
                "timeout_s",
                "preset",
                "transport",
            )
            if s.get(k) is not None
        ]
        retry = s.get("retry") or {}
        if retry.get("kind", "none") != "none":
            settings.append(f"retry {retry['kind']}")
        lines.append(
            f"Strategy {s.get('name')}: {s.get('kind')}"
            + (f" ({', '.join(settings)})" if settings else "")
        )
    for axis, values in (info.get("axes") or {}).items():
        lines.append(f"Swept: {axis} over {', '.join(_num(v) for v in values)}")
    return lines


def _distribution(d: dict) -> str:
    kind = d.get("kind")
    if kind is None:
        return "?"
    fields = ", ".join(
        f"{k} {_num(v) if isinstance(v, (int, float)) else v}"
        for k, v in d.items()
        if k != "kind" and v is not None
    )
    return f"{kind} ({fields})" if fields else kind


def _manifest_section(info: dict) -> str:
    shown = {k: v for k, v in info.items() if k != "scenario"}
    return (
        '<section id="manifest"><h2>Manifest</h2><details><summary>What was '
        "run, with which software and seeds, when, and the files written "
        "(manifest.json; the scenario is above)</summary>"
        f"<pre>{_e(json.dumps(shown, indent=2, default=str))}</pre></details>"
        "</section>"
    )


# -- TOML ----------------------------------------------------------------------


def to_toml(document: dict) -> str:
    """``document`` (plain JSON-like data, as a scenario's model dump) as
    TOML: tables for nested tables, arrays of tables for lists of tables,
    inline tables below that; None values are left out, since TOML has no
    null."""
    lines: list[str] = []
    _toml_table(document, [], lines)
    return "\n".join(lines).strip() + "\n"


def _toml_table(
    table: dict, path: list[str], lines: list[str], array: bool = False
) -> None:
    scalars = {k: v for k, v in table.items() if not _is_table(v) and not _is_tables(v)}
    if path:
        name = ".".join(_toml_key(p) for p in path)
        lines.append("")
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    for key, value in scalars.items():
        if value is not None:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        if _is_table(value):
            _toml_table(value, [*path, key], lines)
        elif _is_tables(value):
            for item in value:
                _toml_table(item, [*path, key], lines, array=True)


def _is_table(value) -> bool:
    # small tables of scalars (distributions, arrivals) read best inline
    return isinstance(value, dict) and (
        any(isinstance(v, (dict, list)) for v in value.values()) or len(value) > 4
    )


def _is_tables(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) for v in value)
    )


def _toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum()
    return key if bare else json.dumps(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        items = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v)}"
            for k, v in value.items()
            if v is not None
        )
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    return json.dumps(str(value))


# -- numbers -------------------------------------------------------------------


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value) -> str:
    """A number with three significant digits, no exponent for everyday
    magnitudes; anything else as text."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.number)
    ):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "-"
    if value == 0 or 1e-4 <= abs(value) < 1e6:
        if value == int(value) and abs(value) < 1e6:
            return f"{int(value)}"
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.2g}"
    return f"{value:.3g}"


def _percent(value: float) -> str:
    """A share as a percentage, never rounded to 0% or 100% unless it is
    exactly that."""
    for digits in range(4):
        text = f"{value:.{digits}%}"
        if 0 < value < 1 and float(text[:-1]) in (0.0, 100.0):
            continue
        return text
    return text


def _seconds(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.3g} s"
    if magnitude >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def _bytes(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.3g} B"


__all__ = [
    "REPORT_FILE",
    "Finding",
    "build_report",
    "check_results",
    "describe_scenario",
    "findings",
    "to_toml",
    "write_report",
]
