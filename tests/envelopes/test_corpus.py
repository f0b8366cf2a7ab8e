"""Every body of the fixture corpus parses to what its .expect.json says.

The corpus (tests/envelopes/fixtures/<format>/) was written by hand from the
CloudEvents specification and the providers' documentation: valid, edge-case
and malformed envelopes for every format.  A ``.expect.json`` either lists
fields the envelope must have, or the error class, code, pointer and exact
message it must raise.
"""

from __future__ import annotations

import re

import pytest
from envelope_corpus import CORPUS, Fixture

from sim import envelopes
from sim.envelopes import ABSENT, Batch, parse


def check_payload(envelope, expected) -> None:
    data = envelope.data
    if expected is None:
        assert data is ABSENT
        return
    assert data is not ABSENT
    assert data.kind == expected["kind"]
    if "raw" in expected:
        assert bytes(data.raw) == expected["raw"].encode()
    if "json" in expected:
        assert data.json() == expected["json"]
    if "text" in expected:
        assert data.text() == expected["text"]
    if "bytes" in expected:
        assert data.bytes() == expected["bytes"].encode()
    if "content_type" in expected:
        assert data.content_type == expected["content_type"]


def check_envelope(envelope, expected: dict) -> None:
    for name, value in expected.get("routing", {}).items():
        assert getattr(envelope, name) == value, name
    for name in expected.get("absent", []):
        assert getattr(envelope, name) is ABSENT, name
    if "extensions" in expected:
        assert envelope.extensions == expected["extensions"]
    fields = envelope.fields()
    for name, value in expected.get("fields", {}).items():
        assert fields[name] == value, name
    if "data" in expected:
        check_payload(envelope, expected["data"])
    if "unwrap" in expected:
        inner = envelope.unwrap()
        assert inner.format == expected["unwrap"]["format"]
        check_envelope(inner, expected["unwrap"])
    if "string_to_sign" in expected:
        assert envelope.string_to_sign() == expected["string_to_sign"].encode()
    if "validation_code" in expected:
        assert envelope.validation_code() == expected["validation_code"]
    if "is_deletion" in expected:
        assert envelope.is_deletion is expected["is_deletion"]
    if "confirmation_url" in expected:
        assert envelopes.sns_confirmation_url(envelope) == expected["confirmation_url"]
    if "certificate_url" in expected:
        assert envelopes.sns_certificate_url(envelope) == expected["certificate_url"]


@pytest.mark.parametrize("fixture", CORPUS, ids=str)
def test_corpus_body_parses_to_its_expectation(fixture: Fixture) -> None:
    expect = fixture.expect
    if "error" in expect:
        error_class = getattr(envelopes, expect["error"])
        message = expect["message"]
        with pytest.raises(
            error_class,
            match=None if message is None else "^" + re.escape(message) + "$",
        ) as caught:
            parse(fixture.body, fixture.headers)
        assert caught.value.code == expect["code"]
        assert caught.value.pointer == expect["pointer"]
        return

    parsed = parse(fixture.body, fixture.headers)
    assert parsed.format == expect["format"]
    if "batch" in expect:
        assert isinstance(parsed, Batch)
        assert len(parsed) == len(expect["batch"])
        for element, expected in zip(parsed, expect["batch"]):
            check_envelope(element, expected)
    else:
        assert not isinstance(parsed, Batch)
        check_envelope(parsed, expect)


def test_corpus_covers_every_format_with_valid_and_malformed_bodies() -> None:
    for name in envelopes.FORMATS:
        mine = [
            f
            for f in CORPUS
            if f.expect.get("format") == name or f.name.startswith(name + "/")
        ]
        assert any("error" not in f.expect for f in mine), name
        assert any("error" in f.expect for f in mine), name
