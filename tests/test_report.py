"""The report: one self-contained page, written by every sweep and by
``python -m sim report``, whose findings come from the results."""

import html
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.report import REPORT_FILE, _num, build_report, to_toml
from sim.sweep import read_results

SWEEP = """
name = "report-test"
description = "Rates against two polling intervals, for the report tests."
[simulation]
duration_s = 900
warmup_s = 30
seed = 11
replications = 3
[workload]
subscribers = 4
arrivals = { kind = "poisson", rate_per_s = 1.0 }
payload_bytes = { kind = "fixed", value = 1000 }
[network]
latency_s = { kind = "lognormal", median = 0.002, sigma = 0.3 }
request_overhead_bytes = 350
response_overhead_bytes = 250
[costs]
cpu_s_per_request_sent = 175e-6
cpu_s_per_request_handled = 155e-6
cpu_s_per_kib_serialised = 30e-6
cpu_s_per_kib_deserialised = 20e-6
[subscriber]
service_time_s = { kind = "exponential", mean = 0.005 }
concurrency = 2
[[strategies]]
name = "poll"
kind = "short_poll"
interval_s = 5
[[strategies]]
name = "long"
kind = "long_poll"
wait_s = 20
[[strategies]]
name = "fanout"
kind = "fanout"
concurrency = 4
timeout_s = 5
[sweep]
axes = { "workload.arrivals.rate_per_s" = [0.02, 0.2, 2] }
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results folder written by the sweep command, report included."""
    import sys

    folder = tmp_path_factory.mktemp("report")
    path = folder / "sweep.toml"
    path.write_text(SWEEP)
    out = folder / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out)]
        + ["--jobs", "1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"{out / REPORT_FILE}" in done.stdout
    return out


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</section>", start)]


def test_a_sweep_writes_its_report_last(results):
    page = (results / REPORT_FILE).read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # the manifest the report embeds is the finished one
    assert "manifest.json" in _section(page, "manifest")
    assert not list(results.glob(".*.tmp"))


def test_the_report_fetches_nothing(results):
    page = (results / REPORT_FILE).read_text()
    sources = re.findall(
        r"""\b(?:src|href|srcset|action|data)\s*=\s*["']?([^"'\s>]+)""", page
    )
    assert sources, "expected embedded images"
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in sources), [
        s[:40] for s in sources if not s.startswith("data:")
    ]
    for tag in ("<script", "<link", "<iframe", "<object", "<embed", "@import", "url("):
        assert tag not in page.lower(), tag
    assert page.count("data:image/png;base64,") >= 5


def test_the_answer_comes_first_with_crossovers_from_the_results(results):
    page = (results / REPORT_FILE).read_text()
    assert page.index('id="answer"') < page.index("<img")
    answer = _text(_section(page, "answer"))
    assert "When does polling pay?" in answer

    crossovers = pd.read_csv(results / "crossovers.csv")
    cpu = crossovers[
        (crossovers["metric"] == "cpu_s_per_event")
        & crossovers["strategy"].isin(["poll", "long"])
        & (crossovers["versus"] == "fanout")
    ]
    assert len(cpu) == 2
    for _, row in cpu.iterrows():
        if pd.isna(row["crossover"]):
            expected = (
                "pays at every rate swept"
                if row["lower_below"] == row["strategy"]
                else "does not pay in this sweep"
            )
            assert f"{row['strategy']} {expected}" in answer
        else:
            side = "above" if row["lower_above"] == row["strategy"] else "below"
            assert (
                f"{row['strategy']} pays {side} {_num(row['crossover'])} events/s"
                in answer
            )


def test_the_verdict_names_the_first_poller_to_pay_and_its_rate(results):
    crossovers = pd.read_csv(results / "crossovers.csv")
    cpu = crossovers[
        (crossovers["metric"] == "cpu_s_per_event")
        & (crossovers["versus"] == "fanout")
        & (crossovers["lower_above"] == crossovers["strategy"])
    ].sort_values("crossover")
    first = cpu.iloc[0]
    verdict = _text(_section((results / REPORT_FILE).read_text(), "answer"))
    assert (
        f"Below {_num(first['crossover'])} events/s, push (fanout) costs the least "
        f"CPU per event. From there on {first['strategy']} costs less"
    ) in verdict


def test_the_cpu_ratio_where_events_are_rarest_is_the_pooled_ratio(results):
    runs, _ = read_results(results)
    rare = runs[runs["workload.arrivals.rate_per_s"] == 0.02]
    poll = rare[rare["strategy"] == "poll"]["cpu_s_total"].sum()
    fanout = rare[rare["strategy"] == "fanout"]["cpu_s_total"].sum()
    page = _text((results / REPORT_FILE).read_text())
    assert f"At 0.02 events/s, poll spends {_num(poll / fanout)} times fanout's" in page


def test_the_report_holds_summary_crossovers_scenario_and_manifest(results):
    page = (results / REPORT_FILE).read_text()
    for anchor in ("glance", "crossovers", "summary", "scenario", "manifest"):
        assert f'id="{anchor}"' in page
    summary = _text(_section(page, "summary"))
    assert "95%" in summary and "[" in summary
    scenario = _text(_section(page, "scenario"))
    assert "4 subscribers each want every event" in scenario
    assert "Swept: workload.arrivals.rate_per_s over 0.02, 0.2, 2" in scenario
    assert 'name = "report-test"' in scenario
    for chart in ("cpu_per_event", "latency", "latency_cdf", "cost_of_waiting"):
        assert f'id="chart-{chart}"' in page


def test_the_scenario_toml_reads_back_as_the_scenario(results):
    import tomllib

    _, info = read_results(results)
    document = tomllib.loads(to_toml(info["scenario"]))
    expected = _without_none(info["scenario"])
    assert document == expected


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


def test_the_same_folder_gives_the_same_report(results):
    runs, info = read_results(results)
    assert build_report(runs, info) == (results / REPORT_FILE).read_text()


def test_report_command_rewrites_the_page(results, python):
    (results / REPORT_FILE).unlink()
    done = subprocess.run(
        [python, "-m", "sim", "report", str(results)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (results / REPORT_FILE).is_file()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "no such folder; expected a results folder"),
        ("empty", "not a results folder; missing runs.parquet, manifest.json"),
        ("parquet", "runs.parquet: cannot be read"),
        ("manifest", "manifest.json: cannot be read"),
        ("axes-value", "field 'axes.workload.arrivals.rate_per_s' is 5; expected"),
        ("axes-empty", "field 'axes' is empty but"),
        ("strategies", "field 'scenario.strategies' is \"x\"; expected a list"),
        ("workload", "field 'scenario.workload' is null; expected a table"),
        ("text", "column cpu_s_total holds text such as '0."),
        ("file", "not a folder; expected a results folder"),
        ("blank", "no folder named; expected a results folder"),
    ],
)
def test_a_bad_folder_is_one_clear_error_and_writes_nothing(
    results, tmp_path, python, damage, message
):
    import json

    folder = tmp_path / "damaged"
    if damage == "file":
        folder.write_text("not a folder")
    elif damage not in ("missing", "blank"):
        folder.mkdir()
        if damage != "empty":
            for name in ("runs.parquet", "manifest.json"):
                (folder / name).write_bytes((results / name).read_bytes())
        if damage in ("parquet", "manifest"):
            target = folder / (
                "runs.parquet" if damage == "parquet" else "manifest.json"
            )
            target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
        info = json.loads((results / "manifest.json").read_text())
        if damage == "axes-value":
            info["axes"] = {RATE: 5}
        elif damage == "axes-empty":
            info["axes"] = {}
        elif damage == "strategies":
            info["scenario"]["strategies"] = "x"
        elif damage == "workload":
            info["scenario"]["workload"] = None
        elif damage == "text":
            runs = pd.read_parquet(results / "runs.parquet")
            runs["cpu_s_total"] = runs["cpu_s_total"].map(str)
            runs.to_parquet(folder / "runs.parquet")
        if damage not in ("empty", "parquet", "manifest"):
            (folder / "manifest.json").write_text(json.dumps(info))
        (folder / REPORT_FILE).write_text("the previous report")

    argument = "" if damage == "blank" else str(folder)
    done = subprocess.run(
        [python, "-m", "sim", "report", argument], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    if damage not in ("missing", "blank", "file"):
        assert (folder / REPORT_FILE).read_text() == "the previous report"
        assert not list(folder.glob(".*.tmp"))


# -- in a browser ---------------------------------------------------------------

CHROMIUM = ("chromium", "chromium-browser")
WINDOW = (1280, 4800)
# the strategies' colours on every chart (sim.charts), and the answer box's
PALETTE = {
    "poll": (0x1B, 0x6C, 0xA8),
    "long": (0xE0, 0x7B, 0x00),
    "fanout": (0x2A, 0x9D, 0x3A),
}
ANSWER_BACKGROUND = (0xEE, 0xF5, 0xFB)


def _chromium() -> str:
    import shutil

    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "chromium is not installed (Debian: apt-get install chromium); "
        ".ci/run installs it"
    )


def _render(page: Path, folder: Path) -> tuple[Path, Path]:
    """``page`` rendered by headless Chromium with name resolution mapped to
    nothing (so no request can leave the machine), as a screenshot, and
    Chromium's network log of the visit."""
    shot, netlog = folder / "report.png", folder / "netlog.json"
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        f"--user-data-dir={folder / 'profile'}",
        # any host name resolves to nothing, so no request can leave
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={netlog}",
        f"--screenshot={shot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--hide-scrollbars",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    return shot, netlog


def requests_started(netlog: Path) -> list[str]:
    """Every URL the page made Chromium start a request job for, from the
    network log of a visit, other than file: and data: URLs. The resolver
    rule makes each such request fail, but the page tried. The browser's
    own requests (its clock, updates, accounts) have no initiator
    ("not an origin"); a page's carry its origin ("null" for a file)."""
    import json

    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = [
        e["params"]["url"]
        for e in log["events"]
        if names.get(e["type"]) == "URL_REQUEST_START_JOB"
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]
    return [u for u in dict.fromkeys(urls) if not u.startswith(("file:", "data:"))]


@pytest.fixture(scope="module")
def screenshot(results, tmp_path_factory):
    """The report rendered by headless Chromium, and its network log."""
    return _render(results / REPORT_FILE, tmp_path_factory.mktemp("browser"))


def test_chromium_renders_the_answer_and_the_charts(screenshot):
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(screenshot[0]).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])

    # the answer box fills part of the first screenful
    top = pixels[:900]
    assert _share(top, ANSWER_BACKGROUND) > 0.03

    # the charts drew every strategy in its colour, on many rows of the page
    for name, colour in PALETTE.items():
        rows = np.flatnonzero(_near(pixels, colour, 30).any(axis=1))
        assert rows.size > 150, (name, rows.size)
        assert rows.max() - rows.min() > WINDOW[1] / 3, name

    # not a blank or uniform page: anti-aliased charts use many colours
    colours = np.unique(pixels.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 500


def _near(pixels, colour, tolerance):
    return (np.abs(pixels - np.array(colour)) <= tolerance).all(axis=-1)


def _share(pixels, colour) -> float:
    return float(_near(pixels, colour, 2).mean())


def test_no_request_leaves_the_machine(screenshot):
    import json

    log = json.loads(screenshot[1].read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    events = [(names.get(e["type"], "?"), e) for e in log["events"]]

    # the page started no request beyond itself and its embedded images
    assert requests_started(screenshot[1]) == []
    # not one byte written to a socket, TCP or UDP
    sent = [n for n, _ in events if n in ("SOCKET_BYTES_SENT", "UDP_BYTES_SENT")]
    assert not sent
    # every host name lookup failed (Chromium's own update and sign-in
    # services try some), so no connection could be made
    lookups = [
        e["params"]
        for n, e in events
        if n == "HOST_RESOLVER_MANAGER_REQUEST" and e["phase"] == 2
    ]
    assert all(p.get("net_error") == -105 for p in lookups), lookups
    connected = [
        e["params"]
        for n, e in events
        if n == "TCP_CONNECT" and e.get("params", {}).get("address")
    ]
    assert not connected


def test_a_page_that_fetches_is_caught(results, tmp_path):
    page = (results / REPORT_FILE).read_text()
    fetching = tmp_path / REPORT_FILE
    fetching.write_text(
        page.replace("<body>", '<body><img src="http://127.0.0.1:9/x.png">', 1)
    )
    _, netlog = _render(fetching, tmp_path)
    assert requests_started(netlog) == ["http://127.0.0.1:9/x.png"]


RATE = "workload.arrivals.rate_per_s"


def _in_process(strategies, rates=None):
    """Runs and a manifest for a sweep of the test scenario over the event
    ``rates`` (or of its one point), built in this process."""
    from sim.run import run
    from sim.scenario import Scenario
    from tests.conftest import build

    rows = []
    for point, rate in enumerate(rates or [None]):
        changes = {"workload__arrivals": {"kind": "poisson", "rate_per_s": rate}}
        s = Scenario.model_validate(build(**(changes if rate else {})))
        for name in strategies:
            for rep in range(s.simulation.replications):
                swept = {RATE: rate} if rate else {}
                rows.append({"point": point, **swept, **run(s, name, rep).row()})
    info = {
        "sweep": "in-process",
        "axes": {RATE: rates} if rates else {},
        "scenario": s.model_dump(mode="json"),
    }
    return pd.DataFrame(rows), info


def test_a_sweep_of_one_point_reports_the_ratios_at_that_point():
    runs, info = _in_process(["poll", "fanout", "broker"])
    page = build_report(runs, info)
    answer = _text(_section(page, "answer"))
    poll = runs[runs["strategy"] == "poll"]["cpu_s_total"].sum()
    fanout = runs[runs["strategy"] == "fanout"]["cpu_s_total"].sum()
    assert f"poll spends {_num(poll / fanout)} times fanout's CPU per event" in answer
    assert 'id="chart-latency_cdf"' in page


def test_a_sweep_without_polling_says_so():
    runs, info = _in_process(["fanout", "broker"], [0.2, 1.0])
    answer = _text(_section(build_report(runs, info), "answer"))
    assert "does not compare polling with push (strategies: fanout, broker)" in answer


def test_runs_without_latency_quantiles_still_make_a_report(results):
    from sim.metrics import LATENCY_QUANTILES

    runs, info = read_results(results)
    page = build_report(runs.drop(columns=LATENCY_QUANTILES), info)
    assert 'id="chart-latency_cdf"' not in page
    assert "recorded without latency quantiles" in page


def test_a_report_that_cannot_be_written_is_one_clear_error(results, tmp_path, python):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("runs.parquet", "manifest.json"):
        (folder / name).write_bytes((results / name).read_bytes())
    (folder / REPORT_FILE).mkdir()  # a folder where the page should go
    done = subprocess.run(
        [python, "-m", "sim", "report", str(folder)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"{folder / REPORT_FILE}: cannot write the report" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(folder.glob(".*.tmp"))


def _answer(runs, info, crossings=None) -> str:
    """The bold answer of ``runs``, computed as the report computes it (with
    ``crossings`` in place of the computed ones if given)."""
    from sim.compare import all_crossovers
    from sim.report import CROSSOVER_METRICS, verdict
    from sim.summary import summarise

    axes = list(info["axes"])
    summary = summarise(runs, axes)
    if crossings is None:
        crossings = all_crossovers(runs, axes, list(CROSSOVER_METRICS))
    return " ".join(f.text for f in verdict(runs, summary, crossings, axes))


def _scaled(runs, strategy, factor):
    """``runs`` with every CPU figure of ``strategy`` times ``factor``."""
    runs = runs.copy()
    mine = runs["strategy"] == strategy
    for column in [c for c in runs.columns if c.startswith("cpu_s")]:
        runs.loc[mine, column] = runs.loc[mine, column] * factor
    return runs


def test_a_poller_cheaper_at_every_rate_is_the_answer(results):
    runs, info = read_results(results)
    runs = _scaled(runs, "poll", 1e-3)
    answer = _answer(runs, info)
    assert answer.startswith(
        "At every rate swept, from 0.02 to 2 events/s, polling (poll) costs less "
        "CPU per event than push (fanout)"
    ), answer
    assert "Below" not in answer
    page = _text(_section(build_report(runs, info), "answer"))
    assert "poll pays at every rate swept" in page


def test_a_poller_cheaper_nowhere_says_so_without_never(results):
    runs, info = read_results(results)
    runs = _scaled(_scaled(runs, "poll", 1e3), "long", 1e3)
    answer = _answer(runs, info)
    assert answer.startswith(
        "Not in this sweep: fanout costs less CPU per event than every polling "
        "strategy at every rate from 0.02 to 2 events/s."
    ), answer
    page = _text(_section(build_report(runs, info), "answer"))
    assert "poll does not pay in this sweep: it costs more CPU per event" in page
    assert "pays never" not in page and "never:" not in page


def test_a_crossing_within_noise_is_not_called_a_win(results):
    from sim.compare import all_crossovers
    from sim.report import CROSSOVER_METRICS

    runs, info = read_results(results)
    crossings = all_crossovers(runs, [RATE], list(CROSSOVER_METRICS))
    crossings["confident"] = True
    assert "within noise" not in _answer(runs, info, crossings)
    crossings["confident"] = False
    answer = _answer(runs, info, crossings)
    assert "From there on" in answer
    assert "(the order next to that crossing is within noise)" in answer


def test_a_ratio_whose_interval_holds_one_is_a_tie(results):
    runs, info = read_results(results)
    runs = runs.copy()
    fanout = runs[runs["strategy"] == "fanout"].set_index(["point", "replication"])
    long = runs["strategy"] == "long"
    keys = pd.MultiIndex.from_frame(runs.loc[long, ["point", "replication"]])
    # 0.999 times fanout's CPU, give or take 2% from replication to replication
    wobble = 1 + 0.02 * np.array([-1.0, 1.0, 0.0])[runs.loc[long, "replication"]]
    runs.loc[long, "cpu_s_total"] = (
        fanout.loc[keys, "cpu_s_total"].to_numpy() * 0.999 * wobble
    )
    runs["cpu_s_per_event"] = runs["cpu_s_total"] / runs["events_published"]
    runs = _scaled(runs, "poll", 1e3)
    answer = _answer(runs, info)
    assert "long and fanout cost the same CPU per event within noise" in answer
    assert "long costs less" not in answer and "polling (long)" not in answer
    page = _text(build_report(runs, info))
    assert "a tie within noise, as the interval holds 1" in page


def test_a_sweep_where_no_event_is_published_says_so(results):
    runs, info = read_results(results)
    runs = runs.copy()
    runs["events_published"] = 0
    answer = _text(_section(build_report(runs, info), "answer"))
    assert "No event was published in any run of this sweep" in answer
    assert "CPU, bytes and requests per event are undefined" in answer
    assert "pays at" not in answer and "does not pay" not in answer


def test_a_sweep_of_one_rate_makes_no_range_claims():
    runs, info = _in_process(["poll", "fanout"], [0.2])
    answer = _text(_section(build_report(runs, info), "answer"))
    assert "cannot be compared" not in answer
    assert "from 0.2 to 0.2" not in answer
    assert "At 0.2 events/s, poll spends" in answer


def test_runs_with_no_latency_at_all_still_make_a_report(results):
    from sim.metrics import LATENCY_QUANTILES

    runs, info = read_results(results)
    runs = runs.drop(columns=LATENCY_QUANTILES)
    for column in [c for c in runs.columns if c.startswith("latency_")]:
        runs[column] = np.nan
    answer = _text(_section(build_report(runs, info), "answer"))
    assert "not recorded" in answer


def test_an_empty_poll_share_short_of_all_is_not_rounded_to_all():
    from sim.report import _percent

    assert _percent(0.998) == "99.8%"
    assert _percent(1.0) == "100%"
    assert _percent(0.42) == "42%"
    assert _percent(0.0004) == "0.04%"


def test_summary_intervals_are_cut_at_zero():
    from sim.report import _estimate

    row = pd.Series({"mean": 0.002, "ci95_low": -0.001, "ci95_high": 0.005})
    assert _estimate("cpu_s_per_event", row) == "2 ms [0 s, 5 ms]"
    share = pd.Series({"mean": 0.99, "ci95_low": 0.97, "ci95_high": 1.01})
    assert _estimate("empty_poll_fraction", share) == "99.0% [97.0%, 100.0%]"


def test_the_cli_cpu_chart_marks_the_crossovers_as_the_report_does(results):
    from sim.charts import figures
    from sim.summary import summarise

    runs, info = read_results(results)
    axes = list(info["axes"])
    fig = figures(summarise(runs, axes), axes, runs)["cpu_per_event"]
    marks = [t.get_text() for t in fig.axes[0].texts]
    crossovers = pd.read_csv(results / "crossovers.csv")
    paying = crossovers[
        (crossovers["metric"] == "cpu_s_per_event")
        & (crossovers["versus"] == "fanout")
        & (crossovers["lower_above"] == crossovers["strategy"])
    ]
    assert len(paying) >= 1
    assert sorted(marks) == sorted(f"{s} cheaper \u2192" for s in paying["strategy"])


def test_one_replication_promises_no_intervals_and_judges_no_noise(results):
    from sim.compare import all_crossovers
    from sim.report import CROSSOVER_METRICS

    runs, info = read_results(results)
    runs = runs[runs["replication"] == 0]
    crossings = all_crossovers(runs, [RATE], list(CROSSOVER_METRICS))
    assert not crossings["confident"].any()  # no interval, so never confident
    page = build_report(runs, info)
    answer = _text(_section(page, "answer"))
    assert "One replication per point: there are no 95% intervals" in answer
    assert "within noise" not in answer and "a tie" not in answer
    assert "one replication, so no intervals" in _text(_section(page, "key-charts"))
    summary = _text(_section(page, "summary"))
    assert "One replication per point, so these are single runs" in summary
    assert "Student-t" not in summary


def test_a_sweep_of_one_point_has_bar_captions():
    runs, info = _in_process(["poll", "fanout"])
    charts = _text(_section(build_report(runs, info), "key-charts"))
    assert "one bar per strategy" in charts
    assert "polling line" not in charts


def test_charts_of_several_points_without_axes_is_one_clear_error(
    results, tmp_path, python
):
    import json

    folder = tmp_path / "no-axes"
    folder.mkdir()
    (folder / "runs.parquet").write_bytes((results / "runs.parquet").read_bytes())
    info = json.loads((results / "manifest.json").read_text())
    info["axes"] = {}
    (folder / "manifest.json").write_text(json.dumps(info))
    done = subprocess.run(
        [python, "-m", "sim", "charts", str(folder)], capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert "field 'axes' is empty but the runs hold 3 points" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((folder / "charts").glob("*.png"))


def test_a_win_by_less_than_one_percent_is_called_the_same_cost(results):
    runs, info = read_results(results)
    runs = _scaled(runs, "poll", 1e3)
    fanout = runs[runs["strategy"] == "fanout"].set_index(["point", "replication"])
    long = runs["strategy"] == "long"
    keys = pd.MultiIndex.from_frame(runs.loc[long, ["point", "replication"]])
    # three times fanout's CPU at the two lower rates, 0.995 times at the top
    factor = np.where(runs.loc[long, RATE] == 2, 0.995, 3.0)
    runs.loc[long, "cpu_s_total"] = fanout.loc[keys, "cpu_s_total"].to_numpy() * factor
    runs["cpu_s_per_event"] = runs["cpu_s_total"] / runs["events_published"]
    answer = _answer(runs, info)
    assert "From there on long costs less" in answer
    assert "(but the same CPU as fanout to within 1%: 0.995 times at 2 events/s)" in (
        answer
    )
    page = _text(build_report(runs, info))
    assert "At 2 events/s, long spends 0.995 times fanout's CPU per event" in page
    assert (
        "than fanout (but the same CPU as fanout to within 1%: 0.995 times at "
        "2 events/s)." in page
    )
    assert "the same CPU to within 1%" in page


@pytest.mark.parametrize(
    ("lower", "expected"),
    [
        ("fanout", "at no interval_s swept (it costs more at every one)"),
        ("poll", "at every interval_s swept"),
        ("tie", "at no interval_s swept (a tie within noise at every one)"),
    ],
)
def test_a_poller_along_its_own_field_is_said_without_never(lower, expected):
    from sim.report import _interval_headline

    axis = "strategies.poll.interval_s"
    cpu = pd.DataFrame(
        [
            {
                "axis": axis,
                "metric": "cpu_s_per_event",
                "strategy": "poll",
                "versus": "fanout",
                "crossover": np.nan,
                "lower_below": lower,
                "lower_above": lower,
                "confident": True,
            }
        ]
    )
    found = _interval_headline(cpu, pd.DataFrame(), "poll", "fanout", axis, [axis])
    assert found.text == f"poll costs less CPU per event than fanout {expected}."
    assert "never" not in found.text
