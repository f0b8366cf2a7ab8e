"""Workloads taken from the user's own logs: replayed, or fitted and drawn.

A log is a CSV or Parquet file with one row per event: a column of publish
times and, optionally, a column of payload sizes in bytes. Two arrival kinds
use it:

- :class:`Replay` publishes the logged events again, at their logged
  offsets from the first event (optionally sped up), with their logged sizes.
  It is deterministic: every replication sees the same events.
- :class:`Fitted` estimates a time-varying rate from the log (a daily or
  weekly profile, or a piecewise-constant rate over the log's own span) and
  draws a non-homogeneous Poisson process from it, optionally mixed with a
  gamma factor per bin for burstiness that the profile does not explain.
  :func:`fit_rate` returns the fit with a goodness-of-fit summary so that a
  user can see whether a Poisson description of the log is reasonable.

Files are read with pandas (CSV) or pyarrow (Parquet) once per process for
each path, modification time and choice of columns. A bad file raises
:class:`~sim.errors.ScenarioError` naming the file and, where it applies, the
column, the line (CSV, counting the header as line 1) or row (Parquet,
counting from 1) and the value. Nothing is ever downloaded.

This module knows files, numpy and pandas; it knows nothing of SimPy.
"""

from __future__ import annotations

import difflib
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationInfo, model_validator

from sim._base import Frozen
from sim.errors import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

TimeUnit = Literal["s", "ms", "us", "ns", "datetime"]

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
# 1970-01-01 was a Thursday: weekly phases count from Monday 00:00 UTC.
_MONDAY_EPOCH_S = 4 * DAY_S
_DIVISORS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


# -- paths -------------------------------------------------------------------


def resolve_log_path(file: str | Path, base_dir: str | Path | None) -> Path:
    """The log file a scenario names, made absolute.

    A relative ``file`` is taken relative to ``base_dir``, the folder of the
    scenario file that names it (the current folder when ``base_dir`` is
    None); ``~`` is expanded. The file need not exist.
    """
    path = Path(file).expanduser()
    if not path.is_absolute():
        path = Path(base_dir if base_dir is not None else Path.cwd()) / path
    return Path(path.resolve(strict=False))


def log_files(model: Any) -> list[Path]:
    """The log files ``model`` (a scenario, or any part of one) reads when
    it runs: the ``file`` of every replayed or fitted arrival process in it,
    each once, in the order they appear.

    A scenario holds a log's path, not its contents; whatever must change
    when a log is edited (the key of a recorded run, say) hashes these.
    """
    found: dict[Path, None] = {}

    def visit(node: Any) -> None:
        if isinstance(node, _FromLog):
            found[Path(node.file)] = None
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                visit(getattr(node, name))
        elif isinstance(node, (list, tuple)):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for item in node.values():
                visit(item)

    visit(model)
    return list(found)


# -- reading -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EventLog:
    """The events of one log file, sorted by time.

    ``start_s`` is the time of the first event in seconds (since the Unix
    epoch, UTC, for ``datetime`` columns; in the column's own origin for
    numeric ones); ``offsets_s`` are the times of all events after it, so
    ``offsets_s[0] == 0``. ``payload_bytes`` is None when the log has no
    size column. The arrays are read-only: they are shared by a cache.
    """

    source: str
    start_s: float
    offsets_s: np.ndarray
    payload_bytes: np.ndarray | None

    def __len__(self) -> int:
        return len(self.offsets_s)

    @property
    def span_s(self) -> float:
        """Time from the first event to the last."""
        return float(self.offsets_s[-1])

    @property
    def times_s(self) -> np.ndarray:
        """Absolute event times in seconds (float; see ``start_s``)."""
        return self.start_s + self.offsets_s


def read_log(
    path: str | Path,
    time_column: str,
    time_unit: TimeUnit,
    size_column: str | None = None,
) -> EventLog:
    """Read and check a log file (``.csv``, ``.parquet`` or ``.pq``).

    Numeric times are in ``time_unit``; ``"datetime"`` takes ISO 8601 / RFC
    3339 strings (an offset such as ``+02:00`` or ``Z`` is honoured; a time
    without one is taken as UTC) or a Parquet timestamp column. Rows need
    not be in order; they are sorted by time (stably). The result is cached
    per process by path, modification time, size and columns.
    """
    file = Path(path)
    source = str(path)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise ScenarioError(source, ["no such file"]) from None
    except OSError as exc:
        raise ScenarioError(source, [f"cannot be read: {exc}"]) from None
    if file.is_dir():
        raise ScenarioError(source, ["is a folder; expected a CSV or Parquet file"])
    return _read_cached(
        str(file.resolve()),
        source,
        stat.st_mtime_ns,
        stat.st_size,
        time_column,
        time_unit,
        size_column,
    )


@functools.lru_cache(maxsize=32)
def _read_cached(
    resolved: str,
    source: str,
    mtime_ns: int,
    size: int,
    time_column: str,
    time_unit: TimeUnit,
    size_column: str | None,
) -> EventLog:
    # mtime_ns and size are in the key so that an edited file is read again
    fmt = _SUFFIXES.get(Path(resolved).suffix.lower())
    if fmt is None:
        raise ScenarioError(
            source,
            [
                f"unknown file type {Path(resolved).suffix!r}; expected a .csv, "
                ".parquet or .pq file"
            ],
        )
    wanted = [time_column] + ([size_column] if size_column else [])
    frame = _read_frame(resolved, source, fmt, wanted)
    if len(frame) == 0:
        raise ScenarioError(source, ["has no rows; a log needs at least one event"])

    ns = _times_ns(frame[time_column], time_unit, source, fmt, time_column)
    sizes = None
    if size_column:
        sizes = _sizes(frame[size_column], source, fmt, size_column)

    order = np.argsort(ns, kind="stable")
    ns = ns[order]
    offsets = _offsets_s(ns, time_unit)
    start = float(ns[0]) / (1e9 if time_unit == "datetime" else _DIVISORS[time_unit])
    offsets.flags.writeable = False
    if sizes is not None:
        sizes = sizes[order]
        sizes.flags.writeable = False
    return EventLog(
        source=source, start_s=start, offsets_s=offsets, payload_bytes=sizes
    )


def _read_frame(path: str, source: str, fmt: str, wanted: list[str]) -> pd.DataFrame:
    import pandas as pd

    try:
        if fmt == "csv":
            columns = list(pd.read_csv(path, nrows=0).columns)
        else:
            import pyarrow.parquet as pq

            columns = list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow's own errors derive from Exception only
        raise _unreadable(source, fmt, exc) from None

    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ScenarioError(source, [_missing_column(c, columns) for c in missing])

    try:
        if fmt == "csv":
            # as text, so that "datetime" parsing and error messages see what
            # the file holds, and numbers are converted by one rule below
            return pd.read_csv(path, usecols=wanted, dtype=str, keep_default_na=False)
        return pd.read_parquet(path, columns=wanted)
    except Exception as exc:
        raise _unreadable(source, fmt, exc) from None


def _unreadable(source: str, fmt: str, exc: Exception) -> ScenarioError:
    return ScenarioError(source, [f"cannot be read as {fmt.upper()}: {exc}"])


def _missing_column(column: str, columns: list[str]) -> str:
    # short names ("t", "ts" for "timestamp") defeat difflib's ratio: try
    # a prefix, then an abbreviation (same first letter, letters in order)
    lower = column.lower()
    close = [c for c in columns if c.lower().startswith(lower)][:1]
    close = close or [c for c in columns if _abbreviates(lower, c.lower())][:1]
    close = close or difflib.get_close_matches(column, columns, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"no column {column!r}{hint}; columns: {', '.join(map(str, columns))}"


def _abbreviates(short: str, name: str) -> bool:
    if not short or not name.startswith(short[0]):
        return False
    rest = iter(name)
    return all(letter in rest for letter in short)


def _where(fmt: str, index: int) -> str:
    return f"line {index + 2}" if fmt == "csv" else f"row {index + 1}"


def _blank(values: pd.Series) -> np.ndarray:
    import pandas as pd

    blank = values.isna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        blank = blank | values.astype(str).str.strip().eq("").to_numpy()
    return blank


def _first_bad(
    mask: np.ndarray, values: pd.Series, fmt: str, column: str, problem: str
) -> str | None:

    if not mask.any():
        return None
    i = int(np.flatnonzero(mask)[0])
    count = int(mask.sum())
    more = f" ({count - 1} more such rows)" if count > 1 else ""
    what = problem.format(values.iloc[i])
    return f"column {column!r}, {_where(fmt, i)}: {what}{more}"


def _times_ns(
    values: pd.Series, unit: TimeUnit, source: str, fmt: str, column: str
) -> np.ndarray:
    """Times as int64: nanoseconds since the epoch for datetimes, else the
    column's own integers where it holds integers, else float64."""
    import pandas as pd

    blank = _blank(values)
    bad = _first_bad(blank, values, fmt, column, "missing time (empty cell)")
    if bad:
        raise ScenarioError(source, [bad])

    if unit == "datetime":
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            parsed = values
            if values.dt.tz is None:
                parsed = values.dt.tz_localize("UTC")
            parsed = parsed.dt.tz_convert("UTC")
        elif pd.api.types.is_numeric_dtype(values.dtype):
            raise ScenarioError(
                source,
                [
                    f"column {column!r} holds numbers, not dates and times; set "
                    'time_unit to "s", "ms", "us" or "ns"'
                ],
            )
        else:
            parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
            bad = _first_bad(
                parsed.isna().to_numpy(),
                values,
                fmt,
                column,
                "cannot parse {!r} as an ISO 8601 date and time",
            )
            if bad:
                raise ScenarioError(source, [bad])
        return parsed.dt.as_unit("ns").astype("int64").to_numpy()

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        raise ScenarioError(
            source, [f'column {column!r} holds timestamps; set time_unit to "datetime"']
        )
    numbers = pd.to_numeric(values, errors="coerce")
    bad = _first_bad(
        numbers.isna().to_numpy(),
        values,
        fmt,
        column,
        f"cannot parse {{!r}} as a number of {unit}",
    )
    bad = bad or _first_bad(
        ~np.isfinite(numbers.to_numpy(dtype=float)),
        values,
        fmt,
        column,
        "time {!r} is not finite",
    )
    if bad:
        raise ScenarioError(source, [bad])
    array = numbers.to_numpy()
    return array if array.dtype.kind == "i" else array.astype(float)


def _offsets_s(times: np.ndarray, unit: TimeUnit) -> np.ndarray:
    # subtract before scaling, in integers where the column is integer, so
    # that epoch-sized values keep their sub-second digits
    divisor = 1e9 if unit == "datetime" else _DIVISORS[unit]
    return (times - times[0]).astype(float) / divisor


def _sizes(values: pd.Series, source: str, fmt: str, column: str) -> np.ndarray:
    import pandas as pd

    blank = _blank(values)
    numbers = pd.to_numeric(values.where(~blank), errors="coerce")
    array = numbers.to_numpy(dtype=float)
    problems = [
        _first_bad(blank, values, fmt, column, "missing size (empty cell)"),
        _first_bad(
            ~blank & np.isnan(array),
            values,
            fmt,
            column,
            "cannot parse {!r} as a number of bytes",
        ),
        _first_bad(
            ~np.isnan(array) & ((array < 0) | ~np.isfinite(array) | (array > 1e9)),
            values,
            fmt,
            column,
            "size {!r} must be a finite number of bytes from 0 to 1e9",
        ),
    ]
    bad = next((p for p in problems if p), None)
    if bad:
        raise ScenarioError(source, [bad])
    return np.rint(array).astype(np.int64)


# -- arrival kinds -----------------------------------------------------------


@dataclass(frozen=True)
class DrawnEvents:
    """Publish times (sorted, simulated seconds in ``[0, duration_s)``) and,
    when the log gives them, payload sizes in bytes (else None: the
    scenario's ``payload_bytes`` distribution applies)."""

    times: np.ndarray
    payload_bytes: np.ndarray | None

    def __len__(self) -> int:
        return len(self.times)


class _FromLog(Frozen):
    file: str = Field(min_length=1)
    time_column: str = Field(min_length=1)
    time_unit: TimeUnit = "datetime"

    @model_validator(mode="after")
    def _resolve_and_check(self, info: ValidationInfo) -> Any:
        # With a base folder in the validation context (the scenario loader
        # passes the scenario file's folder), make the path absolute and read
        # the file now, so that a bad log is reported when the scenario loads.
        base = (info.context or {}).get("base_dir") if info.context else None
        if base is None:
            return self
        # frozen: write the field directly, once, while validating
        self.__dict__["file"] = str(resolve_log_path(self.file, base))
        self.log()
        return self

    def resolved(self, base_dir: str | Path | None) -> Any:
        """A copy whose ``file`` is absolute (see :func:`resolve_log_path`)."""
        path = resolve_log_path(self.file, base_dir)
        return self.model_copy(update={"file": str(path)})

    def log(self) -> EventLog:
        """The events of the file (read once per process; see :func:`read_log`)."""
        return read_log(
            self.file,
            self.time_column,
            self.time_unit,
            getattr(self, "size_column", None),
        )


class Replay(_FromLog):
    """Publish the logged events again.

    Event ``i`` is published at ``start_offset_s + (t_i - t_0) / speedup``
    simulated seconds, where ``t_0`` is the first logged event; events from
    ``duration_s`` on are left out. With ``size_column`` each event keeps its
    logged payload size; without, the scenario's ``payload_bytes`` applies.
    The log is not looped: a log shorter than the simulation leaves its end
    quiet. Every replication replays the same events (the random generator
    is not used).
    """

    kind: Literal["replay"]
    size_column: str | None = Field(default=None, min_length=1)
    speedup: float = Field(default=1.0, gt=0)
    start_offset_s: float = Field(default=0.0, ge=0)

    @property
    def mean_rate_per_s(self) -> float:
        """Events per simulated second over the replayed log's span."""
        log = self.log()
        if len(log) < 2 or log.span_s == 0:
            return float(len(log))
        return (len(log) - 1) / (log.span_s / self.speedup)

    def draw(
        self, duration_s: float, rng: np.random.Generator | None = None
    ) -> DrawnEvents:
        """The logged events that fall in ``[0, duration_s)``."""
        log = self.log()
        times = self.start_offset_s + log.offsets_s / self.speedup
        keep = times < duration_s
        sizes = None if log.payload_bytes is None else log.payload_bytes[keep].copy()
        return DrawnEvents(times=times[keep], payload_bytes=sizes)


class Fitted(_FromLog):
    """A non-homogeneous Poisson process whose rate is fitted to the log.

    ``profile`` says what the rate depends on: the time of day (``daily``,
    UTC), the time of week (``weekly``, from Monday 00:00 UTC) or the time
    since the log's first event (``piecewise``, repeated after the log's
    span, rounded up to whole bins). The rate is constant within each bin of
    ``bin_s`` seconds, estimated as the events logged in that bin divided by
    the time the log covered it; for ``daily`` and ``weekly`` ``bin_s`` must
    divide the period, and the log must cover every bin at least once.

    ``start_at_s`` places simulated time 0 within the period (seconds after
    midnight UTC for ``daily``, after Monday 00:00 UTC for ``weekly``, after
    the first event for ``piecewise``). ``rate_scale`` multiplies the fitted
    rate (to ask "what if traffic doubled?").

    ``burstiness = "gamma"`` multiplies the rate of each bin by an
    independent gamma factor of mean 1 whose variance is fitted to the
    counts' excess over Poisson (a Cox process whose counts per bin are
    negative binomial). It models overdispersion between bins only: it
    does not make bins correlated, nor events cluster within a bin.
    """

    kind: Literal["fitted"]
    profile: Literal["daily", "weekly", "piecewise"] = "daily"
    bin_s: float = Field(default=3600.0, gt=0)
    start_at_s: float = Field(default=0.0, ge=0)
    rate_scale: float = Field(default=1.0, gt=0)
    burstiness: Literal["none", "gamma"] = "none"

    @model_validator(mode="after")
    def _bins_fit_period(self) -> Fitted:
        period = {"daily": DAY_S, "weekly": WEEK_S}.get(self.profile)
        if period is not None:
            bins = period / self.bin_s
            if abs(bins - round(bins)) > 1e-9 * bins:
                raise ValueError(
                    f"bin_s ({self.bin_s}) must divide the {self.profile} period "
                    f"({period:g} s) into whole bins"
                )
        return self

    def fit(self) -> FitReport:
        """The fitted rate and how well it describes the log."""
        return fit_rate(self)

    @property
    def mean_rate_per_s(self) -> float:
        """The fitted rate averaged over its period, times ``rate_scale``."""
        return self.rate_scale * self.fit().profile.mean_rate_per_s

    def draw(self, duration_s: float, rng: np.random.Generator) -> DrawnEvents:
        """Arrival times in ``[0, duration_s)``; sizes are left to the scenario."""
        report = self.fit()
        variance = report.burst_variance if self.burstiness == "gamma" else 0.0
        times = report.profile.sample(
            duration_s,
            rng,
            start_at_s=self.start_at_s,
            scale=self.rate_scale,
            burst_variance=variance,
        )
        return DrawnEvents(times=times, payload_bytes=None)


# -- fitting -----------------------------------------------------------------


@dataclass(frozen=True)
class RateProfile:
    """A rate that is constant within bins of ``bin_s`` and repeats every
    ``period_s`` (``rates_per_s[k]`` holds in ``[k bin_s, (k+1) bin_s)``)."""

    rates_per_s: np.ndarray
    bin_s: float
    period_s: float

    @property
    def mean_rate_per_s(self) -> float:
        widths = np.diff(self._edges())
        return float(np.sum(self.rates_per_s * widths) / self.period_s)

    def _edges(self) -> np.ndarray:
        edges = np.arange(len(self.rates_per_s) + 1) * self.bin_s
        return np.minimum(edges, self.period_s)

    def rate_at(self, phase_s: np.ndarray | float) -> np.ndarray:
        """The rate (events per second) at the given phases, in seconds."""
        phase = np.mod(np.asarray(phase_s, dtype=float), self.period_s)
        k = np.minimum((phase // self.bin_s).astype(int), len(self.rates_per_s) - 1)
        return self.rates_per_s[k]

    def segments(
        self, duration_s: float, start_at_s: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cut ``[0, duration_s)`` where the bin changes: starts, ends, rates."""
        offset = math.fmod(start_at_s, self.bin_s)
        first = self.bin_s - offset if offset > 0 else self.bin_s
        inner = np.arange(first, duration_s, self.bin_s)
        # the piecewise period may end with a partial bin: cut there too
        cuts = (self.period_s - np.mod(start_at_s, self.period_s)) + np.arange(
            0.0, duration_s, self.period_s
        )
        edges = np.unique(
            np.concatenate(([0.0], inner, cuts[cuts < duration_s], [duration_s]))
        )
        starts, ends = edges[:-1], edges[1:]
        rates = self.rate_at(start_at_s + (starts + ends) / 2)
        return starts, ends, rates

    def sample(
        self,
        duration_s: float,
        rng: np.random.Generator,
        start_at_s: float = 0.0,
        scale: float = 1.0,
        burst_variance: float = 0.0,
    ) -> np.ndarray:
        """Sorted arrival times of the process in ``[0, duration_s)``.

        Exact for a piecewise-constant rate: a Poisson count per segment,
        then uniform times within it. ``burst_variance`` > 0 first multiplies
        each segment's rate by a gamma factor of mean 1 and that variance.
        """

        if duration_s <= 0:
            return np.empty(0)
        starts, ends, rates = self.segments(duration_s, start_at_s)
        rates = rates * scale
        if burst_variance > 0:
            shape = 1.0 / burst_variance
            rates = rates * rng.gamma(shape, burst_variance, len(rates))
        counts = rng.poisson(rates * (ends - starts))
        lows = np.repeat(starts, counts)
        widths = np.repeat(ends - starts, counts)
        return np.sort(lows + rng.random(len(lows)) * widths)


@dataclass(frozen=True)
class FitReport:
    """A fitted rate profile and how well a Poisson process describes the log.

    ``bins`` has one row per bin of the calendar the log covered:
    ``start_s`` (absolute, as the log's times), ``profile_bin``,
    ``exposure_s`` (how much of the bin the log covered), ``observed`` and
    ``expected`` event counts. Over the bins the log covered fully,
    ``dispersion_index`` is Pearson's X^2 divided by its degrees of freedom
    ``dof`` (full bins minus fitted rates): near 1 if the counts are Poisson
    around the profile, well above 1 if events come in bursts the profile
    does not explain. ``p_value`` is the chance of an index at least this
    large if they were. ``burst_variance`` is the method-of-moments variance
    of a gamma factor of mean 1 per bin (0 when the counts are not
    overdispersed). Dispersion and p-value are NaN when ``dof`` < 1, as for a
    ``piecewise`` profile, whose every bin is fitted to itself.
    """

    source: str
    profile: RateProfile
    bins: pd.DataFrame
    dispersion_index: float
    dof: int
    p_value: float
    burst_variance: float
    events: int


def fit_rate(config: Fitted) -> FitReport:
    """Fit ``config``'s rate profile to its log (cached per file and settings)."""
    log = config.log()
    return _fit_cached(log, config.profile, config.bin_s)


@functools.lru_cache(maxsize=32)
def _fit_cached(log: EventLog, profile: str, bin_s: float) -> FitReport:
    import pandas as pd

    # EventLog is hashable by identity, and each is cached per file version
    times = log.times_s
    if profile == "piecewise":
        origin, period = log.start_s, max(math.ceil(log.span_s / bin_s), 1) * bin_s
    else:
        origin = 0.0 if profile == "daily" else _MONDAY_EPOCH_S
        period = DAY_S if profile == "daily" else WEEK_S
    n_profile = int(round(period / bin_s))

    first, last = float(times[0]), float(times[-1])
    g0 = math.floor((first - origin) / bin_s)
    # the log is observed on [first, last]: an event exactly on a bin edge at
    # the end belongs to the bin it closes, not to one it was never in
    g1 = max(g0, math.ceil((last - origin) / bin_s) - 1)
    occurrence = np.arange(g0, g1 + 1)
    bin_start = origin + occurrence * bin_s
    exposure = np.minimum(bin_start + bin_s, last) - np.maximum(bin_start, first)
    exposure = np.clip(exposure, 0.0, bin_s)
    if len(log) == 1 or last == first:
        exposure = np.full(1, bin_s)
    g = np.floor((times - origin) / bin_s).astype(np.int64) - g0
    g = np.clip(g, 0, g1 - g0)
    observed = np.bincount(g, minlength=len(occurrence))
    k = np.mod(occurrence, n_profile)

    exposure_k = np.bincount(k, weights=exposure, minlength=n_profile)
    counts_k = np.bincount(k, weights=observed, minlength=n_profile)
    uncovered = np.flatnonzero(exposure_k <= 0)
    if len(uncovered):
        covered_h = (last - first) / 3600
        raise ScenarioError(
            log.source,
            [
                f"the log spans {covered_h:.3g} h, which leaves {len(uncovered)} of the "
                f"{n_profile} bins of a {profile} profile with bin_s = {bin_s:g} "
                'unobserved; give a longer log, wider bins or profile = "piecewise"'
            ],
        )
    rates = counts_k / exposure_k
    expected = rates[k] * exposure

    bins = pd.DataFrame(
        {
            "start_s": bin_start,
            "profile_bin": k,
            "exposure_s": exposure,
            "observed": observed,
            "expected": expected,
        }
    )
    full = (exposure >= bin_s * (1 - 1e-9)) & (expected > 0)
    fitted_rates = np.count_nonzero(np.bincount(k[full], minlength=n_profile))
    dof = int(np.count_nonzero(full) - fitted_rates)
    c, m = observed[full].astype(float), expected[full]
    if dof >= 1:
        from scipy.stats import chi2

        x2 = float(np.sum((c - m) ** 2 / m))
        dispersion, p_value = x2 / dof, float(chi2.sf(x2, dof))
        burst = max(0.0, float(np.sum((c - m) ** 2 - m) / np.sum(m**2)))
    else:
        dispersion, p_value, burst = math.nan, math.nan, 0.0

    rates.flags.writeable = False
    return FitReport(
        source=log.source,
        profile=RateProfile(rates_per_s=rates, bin_s=bin_s, period_s=period),
        bins=bins,
        dispersion_index=dispersion,
        dof=dof,
        p_value=p_value,
        burst_variance=burst,
        events=len(log),
    )
