"""Measure the four cost-model figures on this machine, for a Python stack.

Prints CPU seconds per HTTP request sent and handled (http.client and
http.server, HTTP/1.1 keep-alive over 127.0.0.1) and per KiB of JSON
serialised and deserialised (the standard library's json on a document of
small objects). The bundled scenarios quote its output.

    python scripts/measure_costs.py [--requests N]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import resource
import subprocess
import sys
import timeit


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve() -> None:
    """Answer POSTs with 204 on one keep-alive connection; then print the CPU
    spent between the first and the last request."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    started = cpu_s()
    server.handle_request()  # one connection, served until the client closes
    print(cpu_s() - started, flush=True)


def per_request(n: int) -> tuple[float, float]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(child.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        started = cpu_s()
        for _ in range(n):
            conn.request(
                "POST", "/", body=b"{}", headers={"Content-Type": "application/json"}
            )
            conn.getresponse().read()
        client = cpu_s() - started
        conn.close()
        server = float(child.stdout.readline())
    finally:
        child.wait(timeout=10)
    return client / n, server / n


def per_kib() -> tuple[float, float]:
    doc = [
        {"id": f"evt-{i}", "value": i * 1.5, "tags": ["a", "b"]} for i in range(1000)
    ]
    text = json.dumps(doc)
    kib = len(text.encode()) / 1024
    dumps = min(timeit.repeat(lambda: json.dumps(doc), number=20, repeat=5)) / 20
    loads = min(timeit.repeat(lambda: json.loads(text), number=20, repeat=5)) / 20
    return dumps / kib, loads / kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    sent, handled = per_request(args.requests)
    serialised, deserialised = per_kib()
    print(f"cpu_s_per_request_sent = {sent:.3g}")
    print(f"cpu_s_per_request_handled = {handled:.3g}")
    print(f"cpu_s_per_kib_serialised = {serialised:.3g}")
    print(f"cpu_s_per_kib_deserialised = {deserialised:.3g}")


if __name__ == "__main__":
    main()
