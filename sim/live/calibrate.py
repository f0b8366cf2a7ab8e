"""Measure the cost model's figures on this machine and write a profile.

Each figure is CPU time from the operating system (``getrusage``) over many
repetitions, divided by their number:

- per request sent and handled: keep-alive HTTP/1.1 POSTs of a two-byte
  body over 127.0.0.1, client (``http.client``) in this process and server
  (``http.server``) in a spawned one, each measuring itself. Requests are
  sent ``gap_s`` apart (20 ms by default), as events come to most services:
  a request that finds the process idle, its caches cold and its thread
  asleep costs two to four times what one sent back-to-back in a tight loop
  costs, and the loop's figure is recorded too, as
  ``[costs_back_to_back]``;
- per KiB serialised and deserialised: the standard library's ``json`` on a
  document of small objects;
- per envelope: :func:`sim.envelopes.parse` and the payload's decoding, for
  each envelope a live subscriber inspects, on a small payload (the fixed
  part of the cost: the per-KiB part is the deserialisation above).

It also records what the simulator takes from the network rather than from
costs: the HTTP framing of those exchanges in bytes (request and response
headers, from the kernel's TCP counters) and the median round trip, and how
late ``time.sleep`` wakes (the timer resolution that latency comparisons
allow for). A profile is TOML; a scenario loads its ``[costs]`` with
``[costs] profile = "path"``.
"""

from __future__ import annotations

import http.client
import http.server
import json
import multiprocessing
import platform
import statistics
import time
from datetime import UTC, datetime

from sim.live.plan import PARSED_ENVELOPES
from sim.live.wire import (
    cpu_s,
    envelope,
    now_ns,
    read_event,
    start_ignoring_interrupts,
    tcp_counters,
)

BODY = b"{}"


def _serve(conn, requests: int) -> None:
    """Answer ``requests`` POSTs with 204 on one keep-alive connection and
    report the CPU they took."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 30
    conn.send(server.server_address[1])
    started = cpu_s()
    server.handle_request()  # one connection, served until the client closes
    conn.send(cpu_s() - started)
    server.server_close()


def measure_requests(requests: int, gap_s: float = 0.0) -> dict[str, float]:
    """CPU per request sent and handled, framing bytes, round trip, with
    ``gap_s`` seconds between requests."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child, requests), daemon=True)
    start_ignoring_interrupts(server)
    conn = None
    try:
        if not parent.poll(30):
            raise RuntimeError("the calibration server did not start")
        port = parent.recv()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Content-Type": "application/json"}
        conn.request("POST", "/", body=BODY, headers=headers)  # connect first
        conn.getresponse().read()
        sent_before, received_before = tcp_counters(conn.sock)
        trips = []
        started = cpu_s()
        for _ in range(requests - 1):
            if gap_s:
                time.sleep(gap_s)
            t = now_ns()
            conn.request("POST", "/", body=BODY, headers=headers)
            conn.getresponse().read()
            trips.append(now_ns() - t)
        sent = (cpu_s() - started) / (requests - 1)
        sent_after, received_after = tcp_counters(conn.sock)
        conn.close()
        if not parent.poll(30):
            raise RuntimeError("the calibration server did not report")
        handled = parent.recv() / requests
    finally:
        if conn is not None:
            conn.close()  # the server's one connection ends: so does it
        server.join(5)
        if server.is_alive():
            server.kill()
            server.join(1)
    exchanges = requests - 1
    return {
        "cpu_s_per_request_sent": sent,
        "cpu_s_per_request_handled": handled,
        "request_overhead_bytes": round(
            (sent_after - sent_before) / exchanges - len(BODY)
        ),
        "response_overhead_bytes": round(
            (received_after - received_before) / exchanges
        ),
        "round_trip_median_s": statistics.median(trips) / 1e9,
    }


def measure_kib(repeat: int = 5) -> dict[str, float]:
    """CPU per KiB of JSON written and read."""
    doc = [
        {"id": f"evt-{i}", "value": i * 1.5, "tags": ["a", "b"]} for i in range(1000)
    ]
    text = json.dumps(doc)
    kib = len(text.encode()) / 1024
    dumps = _best(lambda: json.dumps(doc), 20, repeat)
    loads = _best(lambda: json.loads(text), 20, repeat)
    return {
        "cpu_s_per_kib_serialised": dumps / kib,
        "cpu_s_per_kib_deserialised": loads / kib,
    }


def measure_envelopes(repeat: int = 5) -> dict[str, float]:
    """CPU to inspect one envelope of each kind (small payload) and read
    the event number and publish instant from its payload."""
    figures = {}
    for kind in PARSED_ENVELOPES:
        body, headers = envelope(kind, 1, 64, now_ns())
        inspect = lambda k=kind, b=body, h=headers: read_event(k, b, h)
        figures[kind] = _best(inspect, 2000, repeat)
    return figures


def measure_timer(samples: int = 200) -> float:
    """The median lateness of ``time.sleep(0.001)``: how finely a process
    can time its own actions on this machine now."""
    late = []
    for _ in range(samples):
        t = time.perf_counter()
        time.sleep(0.001)
        late.append(time.perf_counter() - t - 0.001)
    return statistics.median(late)


def _best(call, number: int, repeat: int) -> float:
    """The least CPU per call over ``repeat`` rounds of ``number`` calls:
    other work on a shared machine only ever adds."""
    best = float("inf")
    for _ in range(repeat):
        started = cpu_s()
        for _ in range(number):
            call()
        best = min(best, (cpu_s() - started) / number)
    return best


def calibrate(requests: int = 500, gap_s: float = 0.02) -> dict:
    """Every figure of a cost profile, measured now on this machine."""
    http_figures = measure_requests(requests, gap_s)
    tight = measure_requests(max(requests, 2000))
    kib = measure_kib()
    costs = {
        "cpu_s_per_request_sent": http_figures.pop("cpu_s_per_request_sent"),
        "cpu_s_per_request_handled": http_figures.pop("cpu_s_per_request_handled"),
        **kib,
    }
    return {
        "machine": {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "requests": requests,
            "gap_s": gap_s,
        },
        "costs": costs,
        "costs_back_to_back": {
            k: tight[k] for k in ("cpu_s_per_request_sent", "cpu_s_per_request_handled")
        },
        "network": {
            **http_figures,
            "round_trip_back_to_back_median_s": tight["round_trip_median_s"],
            "timer_resolution_s": measure_timer(),
        },
        "envelopes": {
            f"cpu_s_per_{kind}": v for kind, v in measure_envelopes().items()
        },
    }


def profile_toml(profile: dict) -> str:
    """A profile as TOML, with a note on where each table comes from."""
    lines = [
        "# Cost profile written by `python -m sim calibrate`. A scenario loads its",
        '# [costs] with:  [costs] profile = "<path to this file>"',
        "",
    ]
    notes = {
        "machine": "where and when it was measured",
        "costs": "the simulator's cost model (CPU seconds), requests gap_s apart",
        "costs_back_to_back": "the same requests sent in a tight loop, for reference",
        "network": "HTTP framing and loopback round trip of the same exchanges; "
        "copy into [network] by hand",
        "envelopes": "CPU to inspect one envelope (small payload); not charged "
        "by the model",
    }
    for table, values in profile.items():
        lines += [f"# {notes[table]}", f"[{table}]"]
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        text = f"{value:.4g}"
        return text if any(c in text for c in ".e") else f"{text}.0"
    return str(value)
