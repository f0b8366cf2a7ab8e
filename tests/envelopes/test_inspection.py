"""Behaviour of inspection that the corpus alone does not pin down."""

from __future__ import annotations

import json

import msgspec
import pytest

from sim.envelopes import (
    ABSENT,
    Batch,
    CloudEvent,
    InvalidEnvelope,
    LimitExceeded,
    Limits,
    MalformedJSON,
    PayloadError,
    parse,
)

STRUCTURED = {"content-type": "application/cloudevents+json"}


def event(**members) -> dict:
    base = {"specversion": "1.0", "id": "e-1", "source": "/s", "type": "t"}
    base.update(members)
    return {k: v for k, v in base.items() if v is not ...}


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def test_payload_raw_is_a_view_into_the_body_not_a_copy():
    body = compact(event(data={"big": "x" * 10_000}))
    parsed = parse(body, STRUCTURED)
    raw = parsed.data.raw
    assert bytes(raw) == compact({"big": "x" * 10_000})
    assert raw.obj is not None and not isinstance(raw.obj, bytes)  # msgspec.Raw
    assert parsed.raw.obj is body


def test_absent_null_and_empty_stay_distinct_for_attributes_and_data():
    absent = parse(compact(event()), STRUCTURED)
    null = parse(compact(event(subject=None, data=None)), STRUCTURED)
    empty = parse(compact(event(data="")), STRUCTURED)
    assert absent.subject is ABSENT and absent.data is ABSENT
    assert null.subject is None and null.data.is_null()
    assert null.data.json() is None
    assert empty.data.json() == "" and not empty.data.is_null()


def test_missing_id_and_time_are_never_invented():
    parsed = parse(compact(event()), STRUCTURED)
    assert parsed.time is ABSENT
    assert "time" not in parsed.fields()
    with pytest.raises(
        InvalidEnvelope,
        match=r"^cloudevents: at #/id: expected a "
        r"non-empty string \(REQUIRED attribute\), got absent ",
    ):
        parse(compact(event(id=...)), STRUCTURED)


def test_pretty_printed_event_with_unknown_extensions_takes_the_walk_and_agrees():
    members = event(data={"a": [1, 2]}, myext="v", count=3, flag=True, none=None)
    fast = parse(compact(members), STRUCTURED)
    slow = parse(json.dumps(members, indent=3).encode(), STRUCTURED)
    assert (
        fast.extensions
        == slow.extensions
        == {"myext": "v", "count": 3, "flag": True, "none": None}
    )
    assert fast.data.json() == slow.data.json() == {"a": [1, 2]}


def test_duplicate_inside_data_is_left_to_payload_decoding():
    body = (
        b'{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"k":1,"k":2}}'
    )
    parsed = parse(body, STRUCTURED)
    assert bytes(parsed.data.raw) == b'{"k":1,"k":2}'
    with pytest.raises(
        PayloadError,
        match=r"^cloudevents: at #/data: expected each "
        r"member name once, got 'k' more than once in one object "
        r"\[json\.duplicate-key\]$",
    ):
        parsed.data.json()
    assert parsed.data.json(strict=False) == {"k": 2}


def test_number_out_of_range_in_data_is_refused_when_decoded():
    parsed = parse(compact(event())[:-1] + b',"data":[1e400]}', STRUCTURED)
    with pytest.raises(PayloadError, match=r"\[json\.number\]$"):
        parsed.data.json()


def test_data_base64_is_bytes_and_never_assumed_json():
    parsed = parse(compact(event(data_base64="eyJhIjoxfQ==")), STRUCTURED)
    assert parsed.data.kind == "base64"
    assert parsed.data.bytes() == b'{"a":1}'
    assert parsed.data.json() == {"a": 1}  # only because it was asked for


def test_bad_base64_raises_payload_error():
    parsed = parse(compact(event(data_base64="not base64!")), STRUCTURED)
    with pytest.raises(
        PayloadError,
        match=r"^cloudevents: at #/data_base64: "
        r"expected standard base64 with padding",
    ):
        parsed.data.bytes()


def test_invalid_utf8_inside_binary_body_fails_only_when_read_as_text():
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "s",
        "ce-type": "t",
        "content-type": "text/plain",
    }
    parsed = parse(b"\xff\xfe", headers)
    assert parsed.data.bytes() == b"\xff\xfe"
    with pytest.raises(
        PayloadError,
        match=r"^cloudevents: at #: expected UTF-8 "
        r"text, got invalid byte\(s\) at offset 0",
    ):
        parsed.data.text()


def test_batch_elements_keep_their_own_fields_and_raw_slices():
    elements = [event(id="1", type="a", data=1), event(id="2", type="b", ext="x")]
    body = compact(elements)
    parsed = parse(body, {"Content-Type": "application/cloudevents-batch+json"})
    assert isinstance(parsed, Batch) and len(parsed) == 2
    assert [bytes(e.raw) for e in parsed] == [compact(e) for e in elements]
    assert parsed[1].extensions == {"ext": "x"} and parsed[0].extensions == {}
    assert all(isinstance(e, CloudEvent) and e.mode == "batch" for e in parsed)


def test_binary_mode_headers_are_case_insensitive_and_percent_decoded():
    headers = {
        "CE-SPECVERSION": "1.0",
        "Ce-Id": "%E2%82%AC1",
        "ce-Source": "s",
        "ce-type": "t",
        "Content-Type": "application/json",
    }
    parsed = parse(b'{"x":1}', headers)
    assert parsed.id == "\u20ac1" and parsed.mode == "binary"
    assert parsed.datacontenttype == "application/json"
    assert parsed.data.json() == {"x": 1}


def test_structured_mode_wins_over_ce_headers():
    headers = dict(STRUCTURED, **{"ce-id": "from-header", "ce-specversion": "1.0"})
    assert parse(compact(event(id="from-body")), headers).id == "from-body"


def test_body_over_the_size_limit_is_refused_before_reading():
    with pytest.raises(
        LimitExceeded,
        match=r"^envelope: at #: expected at most 10 "
        r"bytes, got 11 \[limit\.size\]$",
    ):
        parse(b"x" * 11, limits=Limits(max_bytes=10))


def test_ten_thousand_deep_data_gives_our_depth_error_not_recursion_error():
    body = compact(event())[:-1] + b',"data":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    with pytest.raises(LimitExceeded, match=r"\[limit\.depth\]$"):
        parse(body, STRUCTURED)


def test_payload_deeper_than_max_depth_is_refused_before_decoding():
    nested = b"[" * 20 + b"]" * 20
    parsed = parse(
        compact(event())[:-1] + b',"data":' + nested + b"}",
        STRUCTURED,
        limits=Limits(max_depth=10),
    )
    with pytest.raises(
        LimitExceeded,
        match=r"^cloudevents: at #/data: expected at "
        r"most 10 levels of nesting, got more \[limit\.depth\]$",
    ):
        parsed.data.json()
    assert parse(
        compact(event(data=[[[1]]])), STRUCTURED, limits=Limits(max_depth=3)
    ).data.json() == [[[1]]]


def test_depth_scan_ignores_brackets_inside_strings():
    data = ["[[[[[[", {"k": '\\"]]]]{{{{'}]
    parsed = parse(compact(event(data=data)), STRUCTURED, limits=Limits(max_depth=2))
    assert parsed.data.json() == data


def test_batch_count_limit_is_checked_before_elements_are_read():
    body = compact([{"not": "an event"}] * 3)
    with pytest.raises(
        LimitExceeded,
        match=r"^cloudevents: at #: expected at most "
        r"2 events in a batch, got 3 \[limit\.batch\]$",
    ):
        parse(
            body,
            {"content-type": "application/cloudevents-batch+json"},
            limits=Limits(max_batch=2),
        )


def test_limits_refuse_nonsense_values():
    with pytest.raises(
        ValueError,
        match=r"^Limits\.max_depth must be a positive "
        r"int, got 0$",
    ):
        Limits(max_depth=0)


def test_a_one_megabyte_event_inspects_and_decodes():
    data = {"rows": [{"n": i, "text": "lorem ipsum " * 4} for i in range(15_000)]}
    body = compact(event(data=data))
    assert len(body) > 900_000
    parsed = parse(body, STRUCTURED)
    assert parsed.data.raw.nbytes == len(compact(data))
    assert parsed.data.json() == data


def test_memoryview_and_bytearray_bodies_are_accepted():
    body = compact(event())
    assert parse(bytearray(body), STRUCTURED).id == "e-1"
    assert parse(memoryview(body), STRUCTURED).id == "e-1"


def test_header_values_must_be_text():
    with pytest.raises(
        InvalidEnvelope,
        match=r"^envelope: at #headers: expected "
        r"header names and values as str, got str: int",
    ):
        parse(compact(event()), {"content-type": 5})


def test_errors_carry_code_format_and_pointer_and_pickle():
    import pickle

    with pytest.raises(MalformedJSON) as caught:
        parse(b'{"specversion":"1.0","id":"1","id":"1"}', STRUCTURED)
    error = pickle.loads(pickle.dumps(caught.value))
    assert (error.code, error.format, error.pointer) == (
        "json.duplicate-key",
        "cloudevents",
        "/id",
    )
    assert str(error) == str(caught.value)


def test_view_fields_proof_matches_msgspec_minimal_encoding():
    # The fast path relies on msgspec writing strings in their shortest form.
    for text in ["plain", 'quote"', "back\\slash", "\x01ctl", "\u2028", "é"]:
        encoded = msgspec.json.encode(text)
        assert len(encoded) <= len(json.dumps(text, ensure_ascii=False).encode())


def test_headers_are_lowered_on_access_and_case_repeats_are_combined():
    headers = {
        "content-type": "application/cloudevents+json",
        "X-Trace": "a",
        "x-trace": "b",
    }
    parsed = parse(compact(event()), headers)
    assert parsed.headers == {
        "content-type": "application/cloudevents+json",
        "x-trace": "a, b",
    }


def test_case_repeats_are_refused_where_headers_are_read():
    with pytest.raises(
        InvalidEnvelope,
        match=r"^envelope: at #headers/"
        r"aeg-event-type: expected each header once, got "
        r"'AEG-EVENT-TYPE' twice \(names ignore case\) "
        r"\[envelope\.header\]$",
    ):
        parse(
            b"[]",
            {
                "aeg-event-type": "Notification",
                "AEG-EVENT-TYPE": "SubscriptionValidation",
            },
        )


def test_out_of_range_numbers_in_service_bus_properties_are_refused_on_inspection():
    body = b'[{"Body":"x","BrokerProperties":{"TimeToLive":1e4001}}]'
    with pytest.raises(
        MalformedJSON,
        match=r"^servicebus: at #/0/BrokerProperties/"
        r"TimeToLive: number out of range \[json\.number\]$",
    ):
        parse(body, {"content-type": "application/vnd.microsoft.servicebus.json"})
    with pytest.raises(
        MalformedJSON,
        match=r"^servicebus: at #/0/UserProperties/n: "
        r"number out of range",
    ):
        parse(
            b'[{"Body":"x","UserProperties":{"n":-1e999}}]',
            {"content-type": "application/vnd.microsoft.servicebus.json"},
        )
    with pytest.raises(
        MalformedJSON,
        match=r"^servicebus: at #headers/"
        r"brokerproperties/SequenceNumber: number out of range",
    ):
        parse(b"x", {"BrokerProperties": '{"SequenceNumber":1e400}'})
