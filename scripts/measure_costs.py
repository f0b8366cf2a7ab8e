"""Measure the four cost-model figures on this machine, for a Python stack.

Prints CPU seconds per HTTP request sent and handled (http.client and
http.server, HTTP/1.1 keep-alive over 127.0.0.1) and per KiB of JSON
serialised and deserialised (the standard library's json on a document of
small objects). The bundled scenarios quote its output, measured with
requests back to back (the default here); ``python -m sim calibrate`` makes
the same measurements with requests spaced as sparse events arrive and
writes them as a cost profile a scenario can load.

    python scripts/measure_costs.py [--requests N] [--gap-ms MS]
"""

from __future__ import annotations

import argparse

from sim.live.calibrate import measure_kib, measure_requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument(
        "--gap-ms", type=float, default=0.0, help="pause between requests"
    )
    args = parser.parse_args()
    figures = {**measure_requests(args.requests, args.gap_ms / 1000), **measure_kib()}
    for key in (
        "cpu_s_per_request_sent",
        "cpu_s_per_request_handled",
        "cpu_s_per_kib_serialised",
        "cpu_s_per_kib_deserialised",
    ):
        print(f"{key} = {figures[key]:.3g}")


if __name__ == "__main__":
    main()
