"""Property-based tests: whatever arrives, only the library's errors come out.

Each test draws inputs with hypothesis (arbitrary bytes, mutations of the
valid corpus, generated JSON) and checks that parsing and every decode on
request either succeed or raise :class:`EnvelopeError`, never anything else,
and that repeated member names are always caught, on either path.
"""

from __future__ import annotations

import json

from envelope_corpus import VALID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.envelopes import ABSENT, Batch, EnvelopeError, MalformedJSON, parse

HEADER_SETS = [
    None,
    {"content-type": "application/cloudevents+json"},
    {"content-type": "application/cloudevents-batch+json"},
    {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t"},
    {"aeg-event-type": "Notification"},
    {"x-amz-sns-message-type": "Notification"},
    {"x-amz-sns-rawdelivery": "true", "x-amz-sns-message-type": "Notification"},
    {"x-goog-pubsub-message-id": "1"},
    {"content-type": "application/vnd.microsoft.servicebus.json"},
    {"brokerproperties": '{"Label":"x"}'},
]
PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Crash-safety properties are cheap per example, so they draw more.
FUZZ = settings(PROPERTY, max_examples=1500)


def exercise(body: bytes, headers) -> None:
    """Parse and read everything; only EnvelopeError may escape."""
    try:
        parsed = parse(body, headers)
    except EnvelopeError:
        return
    parsed.summary()
    for envelope in parsed if isinstance(parsed, Batch) else [parsed]:
        for name in ("id", "type", "source", "subject", "time"):
            getattr(envelope, name)
        data = envelope.data
        if data is ABSENT:
            continue
        for read in (data.json, data.text, data.bytes, envelope.unwrap):
            try:
                read()
            except EnvelopeError:
                pass


@FUZZ
@given(body=st.binary(max_size=400), headers=st.sampled_from(HEADER_SETS))
def test_arbitrary_bytes_only_raise_envelope_errors(body, headers):
    exercise(body, headers)


@st.composite
def mutated(draw):
    fixture = draw(st.sampled_from(VALID))
    body = bytearray(fixture.body)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if kind == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            body[at:at] = draw(
                st.sampled_from(
                    [
                        b"{",
                        b"}",
                        b"[",
                        b"]",
                        b",",
                        b":",
                        b'"',
                        b"\\",
                        b"\\u",
                        b"\xff",
                        b"\xed\xa0\x80",
                        b"1e400",
                        b"null",
                        b" ",
                        b'"data":1,',
                    ]
                )
            )
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del body[at:]
        elif kind == "repeat" and body:
            end = min(len(body), at + draw(st.integers(1, 40)))
            body[end:end] = body[at:end]
    return bytes(body), fixture.headers


@FUZZ
@given(case=mutated())
def test_mutated_valid_envelopes_only_raise_envelope_errors(case):
    exercise(*case)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_names = st.from_regex(r"[a-z][a-z0-9]{0,9}", fullmatch=True).filter(
    lambda n: (
        n
        not in {
            "data",
            "id",
            "source",
            "type",
            "specversion",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
        }
    )
)
_ext_values = (
    st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=12)
)


@st.composite
def cloudevent(draw):
    members = {
        "specversion": "1.0",
        "id": draw(st.text(min_size=1, max_size=12)),
        "source": "/s",
        "type": draw(st.text(min_size=1, max_size=12)),
    }
    members.update(draw(st.dictionaries(_names, _ext_values, max_size=4)))
    if draw(st.booleans()):
        members["data"] = draw(_json_values)
    return members


def render(members: dict, indent, ascii_only: bool) -> bytes:
    return json.dumps(
        members,
        indent=indent,
        ensure_ascii=ascii_only,
        separators=None if indent else (",", ":"),
    ).encode()


@PROPERTY
@given(
    members=cloudevent(), indent=st.sampled_from([None, 2]), ascii_only=st.booleans()
)
def test_generated_events_round_trip_on_fast_and_slow_paths(
    members, indent, ascii_only
):
    parsed = parse(
        render(members, indent, ascii_only),
        {"content-type": "application/cloudevents+json"},
    )
    assert parsed.id == members["id"] and parsed.type == members["type"]
    expected_ext = {
        k: v
        for k, v in members.items()
        if k not in {"specversion", "id", "source", "type", "data"}
    }
    assert parsed.extensions == expected_ext
    if "data" in members:
        assert parsed.data.json() == members["data"]
    else:
        assert parsed.data is ABSENT


@PROPERTY
@given(members=cloudevent(), indent=st.sampled_from([None, 1]), data=st.data())
def test_a_repeated_member_is_always_refused(members, indent, data):
    text = render(members, indent, True).decode()
    name = data.draw(st.sampled_from(sorted(members)))
    # The repeat is well typed, so only the repetition itself is wrong.
    value = data.draw(
        _json_values
        if name == "data"
        else _ext_values
        if name not in {"specversion", "id", "source", "type"}
        else st.text(min_size=1, max_size=8)
    )
    spelled = data.draw(
        st.sampled_from(
            [json.dumps(name), '"' + "".join(f"\\u{ord(c):04x}" for c in name) + '"']
        )
    )
    repeat = f"{spelled}:{json.dumps(value)}"
    at_start = data.draw(st.booleans())
    text = (
        ("{" + repeat + "," + text[1:])
        if at_start
        else (text.rstrip()[:-1].rstrip() + "," + repeat + "}")
    )
    try:
        parse(text.encode(), {"content-type": "application/cloudevents+json"})
    except MalformedJSON as error:
        assert error.code == "json.duplicate-key"
        assert error.pointer == "/" + name.replace("~", "~0").replace("/", "~1")
    except EnvelopeError as error:  # pragma: no cover - shown on failure
        raise AssertionError(f"wrong error for a repeated {name!r}: {error}")
    else:
        raise AssertionError(f"repeated {name!r} was accepted: {text}")


def nesting(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


_tricky_text = st.text(alphabet='[]{}:,"\\/abc\u00e9\n', max_size=8)
_tricky_values = st.recursive(
    st.none() | st.integers() | _tricky_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3)
    ),
    max_leaves=25,
)


@PROPERTY
@given(
    value=_tricky_values, indent=st.sampled_from([None, 1]), ascii_only=st.booleans()
)
def test_depth_scan_agrees_with_the_real_nesting(value, indent, ascii_only):
    from sim.envelopes._json import deeper_than

    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    depth = nesting(value)
    for limit in range(max(depth - 1, 1), depth + 2):
        assert deeper_than(text, limit) is (depth > limit), (text, limit)


def members(value) -> int:
    if isinstance(value, dict):
        return len(value) + sum(map(members, value.values()))
    if isinstance(value, list):
        return sum(map(members, value))
    return 0


@PROPERTY
@given(
    value=_tricky_values, indent=st.sampled_from([None, 1]), ascii_only=st.booleans()
)
def test_member_count_agrees_with_the_real_members(value, indent, ascii_only):
    from sim.envelopes._json import member_count

    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert member_count(text) == members(value)


@PROPERTY
@given(
    value=st.dictionaries(_tricky_text, _tricky_values, min_size=1, max_size=3),
    data=st.data(),
)
def test_payload_with_a_repeated_name_anywhere_is_refused(value, data):
    from sim.envelopes import Payload, PayloadError

    name = data.draw(st.sampled_from(sorted(value)))
    text = json.dumps(value)
    repeated = "{" + json.dumps(name) + ":0," + text[1:]
    nested = json.dumps([{"x": 1}]).encode()[:-1] + b"," + repeated.encode() + b"]"
    for raw in (repeated.encode(), nested):
        payload = Payload(raw, "json")
        try:
            payload.json()
        except PayloadError as error:
            assert error.code == "json.duplicate-key"
        else:
            raise AssertionError(f"accepted {raw!r}")
        assert payload.json(strict=False) is not None
