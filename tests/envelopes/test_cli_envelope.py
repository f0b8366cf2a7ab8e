"""The ``envelope`` command: JSON out, or the library's error and status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli_envelope import envelope

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str):
    return CliRunner().invoke(envelope, list(args))


def test_prints_format_and_fields_as_json():
    result = run(
        str(FIXTURES / "cloudevents/structured-full.body"),
        "--headers",
        str(FIXTURES / "cloudevents/structured-full.headers.json"),
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["format"] == "cloudevents" and shown["batch"] is False
    assert shown["subject"] == "123"
    assert shown["extensions"]["comexampleothervalue"] == 5
    assert shown["data"] == {
        "kind": "json",
        "bytes": 57,
        "content_type": "application/json",
    }


def test_batch_lists_every_event(tmp_path):
    headers = tmp_path / "h.txt"
    headers.write_text("Content-Type: application/cloudevents-batch+json\n\n")
    result = run(
        str(FIXTURES / "cloudevents/batch-two.body"), "--headers", str(headers)
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["batch"] is True
    assert [e["type"] for e in shown["events"]] == ["a.created", "b.deleted"]


def test_null_is_shown_and_absent_is_left_out():
    result = run(str(FIXTURES / "cloudevents/structured-null-subject.body"))
    shown = json.loads(result.output)
    assert shown["subject"] is None and "time" not in shown


def test_malformed_envelope_prints_the_error_and_exits_2():
    result = run(str(FIXTURES / "cloudevents/structured-bad-duplicate-id.body"))
    assert result.exit_code == 2
    assert result.output == (
        "error: cloudevents: at #/id: expected each member "
        "name once, got 'id' more than once "
        "[json.duplicate-key]\n"
    )


def test_module_entry_point_exits_2_without_traceback(tmp_path):
    body = tmp_path / "dup.json"
    body.write_bytes(b'{"specversion":"1.0","id":"1","id":"2","source":"s","type":"t"}')
    done = subprocess.run(
        [sys.executable, "-m", "sim", "envelope", str(body)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "error: cloudevents: at #/id: expected each member name "
        "once, got 'id' more than once [json.duplicate-key]\n"
    )


def test_bad_headers_file_is_a_usage_error(tmp_path):
    headers = tmp_path / "h.txt"
    headers.write_text("no colon here\n")
    result = run(
        str(FIXTURES / "cloudevents/structured-minimal.body"), "--headers", str(headers)
    )
    assert result.exit_code == 2
    assert "line 1: expected 'Name: value'" in result.output


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"{bad", "expected a JSON object, got Expecting property name"),
        (b"\xff\xfe", "expected UTF-8 text, got byte 0xff at offset 0"),
        (b'{"a": 1}', "expected an object of string values"),
        (b'{"ce-id": "1", "CE-ID": "2"}', "expected each header once, got 'CE-ID'"),
        (b"ce-id: 1\nce-id: 2\n", "line 2: expected each header once"),
        (b"no colon here\n", "line 1: expected 'Name: value'"),
    ],
)
def test_a_bad_headers_file_is_named_without_a_traceback(tmp_path, content, expected):
    headers = tmp_path / "h.txt"
    headers.write_bytes(content)
    result = run(
        str(FIXTURES / "cloudevents/structured-full.body"), "--headers", str(headers)
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output and str(headers) in result.output
    assert "Traceback" not in result.output
