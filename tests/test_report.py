"""The report: one self-contained page, written by every sweep and by
``python -m sim report``, whose findings come from the results."""

import html
import re
import subprocess

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
                "throughout" if row["lower_below"] == row["strategy"] else "never"
            )
            assert f"{row['strategy']} pays {expected}" in answer
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
    ],
)
def test_a_bad_folder_is_one_clear_error_and_writes_nothing(
    results, tmp_path, python, damage, message
):
    folder = tmp_path / "damaged"
    if damage != "missing":
        folder.mkdir()
        if damage != "empty":
            for name in ("runs.parquet", "manifest.json"):
                (folder / name).write_bytes((results / name).read_bytes())
            target = folder / (
                "runs.parquet" if damage == "parquet" else "manifest.json"
            )
            target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 2])
        (folder / REPORT_FILE).write_text("the previous report")

    done = subprocess.run(
        [python, "-m", "sim", "report", str(folder)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    if damage != "missing":
        assert (folder / REPORT_FILE).read_text() == "the previous report"
        assert not list(folder.glob(".*.tmp"))


# -- in a browser ---------------------------------------------------------------

CHROMIUM = ("chromium", "chromium-browser")
WINDOW = (1280, 3600)
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


@pytest.fixture(scope="module")
def screenshot(results, tmp_path_factory):
    """The report rendered by headless Chromium with name resolution mapped
    to nothing, and Chromium's network log of the visit."""
    folder = tmp_path_factory.mktemp("browser")
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
        (results / REPORT_FILE).resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    return shot, netlog


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
