"""Every envelope format has an asv benchmark, and each case is what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sim.envelopes import FORMATS, Batch, parse

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_envelopes.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_envelopes", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_format_has_a_benchmark_case(bench):
    assert set(bench.CASE_FORMATS.values()) == set(FORMATS)
    for family in (bench.Inspect, bench.InspectAndDecode, bench.ReferenceJson):
        assert list(family.params[0]) == list(bench.CASES)
        assert list(family.params[1]) == ["1KB", "64KB", "1MB"]


@pytest.mark.parametrize("size", ["1KB", "64KB"])
def test_each_benchmark_case_parses_as_its_format_and_decodes(bench, size):
    for case in bench.CASES:
        body, headers = bench.build(case, size)
        parsed = parse(body, headers)
        assert parsed.format == bench.CASE_FORMATS[case], case
        assert 0.5 < len(body) / bench.SIZES[size] < 1.6, case
        bench.inspect_and_decode(body, headers)
        if case.endswith("batch") or case in ("eventgrid", "servicebus"):
            assert isinstance(parsed, Batch)
