"""Write the sample event logs shipped in ``sim/scenarios/data/``.

Two small, synthetic logs with a known shape, so that the docs and tests can
show what replaying and fitting a log does:

- ``orders-log.csv``: 7 days from Monday 2026-11-02 00:00 UTC; ISO 8601
  times with milliseconds and ``Z``; a ``bytes`` column. Events follow a
  daily cycle (:func:`daily_rate_per_s`, highest at 14:00 UTC) plus bursts:
  about 1.5 a day, each lasting an exponential 60 s on average, at 0.5
  events per second.
- ``clicks-log.parquet``: 14 days from the same Monday; a UTC timestamp
  column ``published_at`` and a ``size_bytes`` column. Weekdays follow the
  daily cycle; weekends carry 30% of it. No bursts.

The process is drawn by thinning, independently of the simulator's own
sampler, with a fixed seed: the files are the same on every run.

    python scripts/make_sample_logs.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261204
START = pd.Timestamp("2026-11-02T00:00:00Z")  # a Monday
DAY_S = 86_400.0

MEAN_RATE_PER_S = 0.006
PEAK_HOUR_UTC = 14.0
AMPLITUDE = 0.8
BURSTS_PER_DAY = 1.5
BURST_MEAN_S = 60.0
BURST_RATE_PER_S = 0.5
WEEKEND_FACTOR = 0.3

OUT = Path(__file__).resolve().parent.parent / "sim" / "scenarios" / "data"


def daily_rate_per_s(t_s: np.ndarray) -> np.ndarray:
    """The daily cycle at ``t_s`` seconds after a midnight UTC."""
    hours = np.mod(np.asarray(t_s, dtype=float), DAY_S) / 3600
    cycle = np.cos(2 * np.pi * (hours - PEAK_HOUR_UTC) / 24)
    return MEAN_RATE_PER_S * (1 + AMPLITUDE * cycle)


def weekly_rate_per_s(t_s: np.ndarray) -> np.ndarray:
    """The daily cycle on weekdays, scaled down at weekends (t from Monday)."""
    day = np.floor(np.mod(np.asarray(t_s, dtype=float), 7 * DAY_S) / DAY_S)
    return daily_rate_per_s(t_s) * np.where(day >= 5, WEEKEND_FACTOR, 1.0)


def thinned(
    rate, rate_max: float, span_s: float, rng: np.random.Generator
) -> np.ndarray:
    """A non-homogeneous Poisson process on ``[0, span_s)`` by thinning."""
    n = rng.poisson(rate_max * span_s)
    candidates = np.sort(rng.uniform(0.0, span_s, n))
    keep = rng.random(n) * rate_max < rate(candidates)
    return candidates[keep]


def bursts(span_s: float, rng: np.random.Generator) -> np.ndarray:
    """Burst events: Poisson burst starts, exponential lengths, Poisson within."""
    n = rng.poisson(BURSTS_PER_DAY * span_s / DAY_S)
    starts = np.sort(rng.uniform(0.0, span_s, n))
    chunks = []
    for start in starts:
        length = rng.exponential(BURST_MEAN_S)
        count = rng.poisson(BURST_RATE_PER_S * length)
        chunks.append(start + rng.uniform(0.0, length, count))
    times = np.concatenate(chunks) if chunks else np.empty(0)
    return np.sort(times[times < span_s])


def sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Payload sizes in bytes: log-normal around 900 B."""
    return np.rint(rng.lognormal(np.log(900.0), 0.6, n)).astype(np.int64)


def orders_log(rng: np.random.Generator, days: int = 7) -> pd.DataFrame:
    """The CSV sample: daily cycle with bursts."""
    span = days * DAY_S
    rate_max = MEAN_RATE_PER_S * (1 + AMPLITUDE)
    t = np.sort(
        np.concatenate(
            [thinned(daily_rate_per_s, rate_max, span, rng), bursts(span, rng)]
        )
    )
    stamps = START + pd.to_timedelta(np.round(t * 1000).astype(np.int64), unit="ms")
    return pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
            "bytes": sizes(len(t), rng),
        }
    )


def clicks_log(rng: np.random.Generator, days: int = 14) -> pd.DataFrame:
    """The Parquet sample: weekly shape, no bursts."""
    span = days * DAY_S
    rate_max = MEAN_RATE_PER_S * (1 + AMPLITUDE)
    t = thinned(weekly_rate_per_s, rate_max, span, rng)
    stamps = START + pd.to_timedelta(np.round(t * 1000).astype(np.int64), unit="ms")
    return pd.DataFrame(
        {
            "published_at": pd.Series(stamps).dt.as_unit("ms"),
            "size_bytes": sizes(len(t), rng),
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(SEED)
    orders = orders_log(rng)
    clicks = clicks_log(rng)
    orders.to_csv(args.out / "orders-log.csv", index=False)
    clicks.to_parquet(args.out / "clicks-log.parquet", index=False)
    for name, frame in (("orders-log.csv", orders), ("clicks-log.parquet", clicks)):
        size = (args.out / name).stat().st_size
        print(f"{args.out / name}: {len(frame)} events, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
