"""What parse does with arguments of the wrong kind and with bodies that
must be refused before they cost memory: oversized copies, huge batches,
timestamps that are ISO 8601 but not RFC 3339, hostile header mappings."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from sim.envelopes import EnvelopeError, Limits, parse

STRUCTURED = {"content-type": "application/cloudevents+json"}
EVENT = b'{"specversion":"1.0","id":"1","source":"/s","type":"t"}'


def peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        try:
            call()
        except EnvelopeError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((EVENT, 5), {}),
        ((EVENT, "content-type"), {}),
        ((EVENT, [("content-type", STRUCTURED["content-type"])]), {}),
        ((3,), {}),
        ((-1,), {}),
        ((2**40,), {}),
        (([1, 2],), {}),
        ((EVENT, STRUCTURED), {"limits": 5}),
        ((EVENT, STRUCTURED), {"limits": {"max_bytes": 10}}),
    ],
)
def test_arguments_of_the_wrong_kind_are_a_type_error(args, kwargs):
    with pytest.raises(TypeError):
        parse(*args, **kwargs)


def test_a_body_is_measured_before_it_is_copied():
    body = bytearray(20 * 2**20)
    peak = peak_bytes(lambda: parse(body, STRUCTURED))
    with pytest.raises(EnvelopeError, match=r"\[limit\.size\]$"):
        parse(memoryview(body), STRUCTURED)
    assert peak < 2**20


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/cloudevents-batch+json"},
        {"aeg-event-type": "Notification"},
        {"content-type": "application/vnd.microsoft.servicebus.json"},
        None,
    ],
    ids=["cloudevents-batch", "eventgrid", "servicebus", "by-shape"],
)
def test_a_batch_over_the_limit_is_refused_before_it_is_decoded(headers):
    body = b"[" + b"{}," * 1_000_000 + b"{}]"  # 3 MB of empty objects
    with pytest.raises(EnvelopeError, match=r"got 1000001 \[limit\.batch\]$"):
        parse(body, headers)
    # Decoding it would hold a million views; counting holds nothing.
    assert peak_bytes(lambda: parse(body, headers)) < 2**20


def test_a_batch_at_the_limit_is_read_whole():
    body = json.dumps([json.loads(EVENT) | {"id": str(i)} for i in range(50)]).encode()
    headers = {"content-type": "application/cloudevents-batch+json"}
    batch = parse(body, headers, limits=Limits(max_batch=50))
    assert [event.id for event in batch] == [str(i) for i in range(50)]
    with pytest.raises(EnvelopeError, match=r"\[limit\.batch\]$"):
        parse(body, headers, limits=Limits(max_batch=49))


def test_commas_inside_strings_and_nested_values_are_not_elements():
    element = {"specversion": "1.0", "id": "a,b,[c]", "source": "/s", "type": "t"}
    element["data"] = {"x": [1, 2, 3], "y": "]},{"}
    body = json.dumps([element] * 3).encode() + b" " * 100
    batch = parse(
        body,
        {"content-type": "application/cloudevents-batch+json"},
        limits=Limits(max_batch=3),
    )
    assert len(batch) == 3


@pytest.mark.parametrize(
    "body, headers",
    [
        (
            b'{"specversion":"1.0","id":"1","source":"/s","type":"t",'
            b'"time":"2020-01-01T00:00:00+0000"}',
            STRUCTURED,
        ),
        (
            b'[{"id":"1","topic":"/t","subject":"s","eventType":"e",'
            b'"eventTime":"2020-01-01T00:00:00-0130","data":{},'
            b'"dataVersion":"1","metadataVersion":"1"}]',
            {"aeg-event-type": "Notification"},
        ),
    ],
    ids=["cloudevents", "eventgrid"],
)
def test_an_offset_without_its_colon_is_not_rfc_3339(body, headers):
    with pytest.raises(EnvelopeError, match=r"\[envelope\.time\]$"):
        parse(body, headers)
    fixed = body.replace(b"+0000", b"+00:00").replace(b"-0130", b"-01:30")
    parse(fixed, headers)


def test_a_header_mapping_that_changes_while_it_is_read_is_survived():
    class Collides:
        """A key that empties the dict when compared with Content-Type."""

        def __init__(self, headers):
            self.headers = headers

        def __hash__(self):
            return hash("Content-Type")

        def __eq__(self, other):
            if self.headers is not None:
                headers, self.headers = self.headers, None
                headers.clear()
            return False

    headers = {"content-type": "".join(["application/", "cloudevents+json"])}
    headers[Collides(headers)] = "x"
    event = parse(EVENT, headers)
    assert event.id == "1"
