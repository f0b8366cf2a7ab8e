"""The compiled structured path and the Python checks give the same answers.

``sim.envelopes._speedups`` proves the common structured CloudEvent in one
C walk and hands everything it does not prove to the Python checks.  Each
test here runs a body through both, the public ``parse`` (compiled first)
and the Python ``parse`` with the compiled pieces switched off, and wants
the same envelope or the same error, code and JSON pointer included.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
from envelope_corpus import CORPUS
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.envelopes import Batch, EnvelopeError, _detect, cloudevents, parse

speedups = pytest.importorskip(
    "sim.envelopes._speedups",
    reason="the C accelerator was not built (no C compiler at install time)",
)

STRUCTURED = {"content-type": "application/cloudevents+json"}
SETTINGS = settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@contextmanager
def python_only():
    """Switch the compiled walk off, as on a machine without a compiler."""
    saved = cloudevents._ce_exact, _detect._fast_structured
    cloudevents._ce_exact = None
    _detect._fast_structured = lambda body, headers, limits: None
    try:
        yield _detect.parse
    finally:
        cloudevents._ce_exact, _detect._fast_structured = saved


def outcome(parse_fn, body, headers):
    try:
        parsed = parse_fn(body, headers)
    except EnvelopeError as exc:
        return ("error", type(exc).__name__, exc.code, exc.pointer)
    items = parsed if isinstance(parsed, Batch) else [parsed]
    described = []
    for item in items:
        data = item.data
        raw = None if not hasattr(data, "raw") else bytes(data.raw)
        described.append((item.summary(), raw, bytes(item.raw)))
    return ("ok", described)


def both(body, headers=STRUCTURED):
    compiled = outcome(parse, body, headers)
    with python_only() as python_parse:
        python = outcome(python_parse, body, headers)
    return compiled, python


def test_the_compiled_walk_knows_the_views_members():
    assert speedups.CE_MEMBERS == cloudevents._View.__struct_fields__


def test_the_public_parse_is_the_compiled_entry_point():
    assert parse is speedups.parse


@pytest.mark.parametrize("fixture", CORPUS, ids=str)
def test_corpus_gives_the_same_answer_on_both_paths(fixture):
    compiled, python = both(fixture.body, fixture.headers)
    assert compiled == python


def test_the_common_event_is_proven_by_the_walk():
    body = json.dumps(_event(), separators=(",", ":")).encode()
    view = cloudevents._DECODER.decode(body)
    assert speedups.ce_exact(body, view.data, view.data_base64) is True
    event = speedups.ce_structured(body, STRUCTURED, cloudevents.Limits())
    assert type(event) is cloudevents.CloudEvent
    assert event.id == "e-1" and bytes(event.data.raw) == b'{"n":1}'


@pytest.mark.parametrize(
    "mutate, why",
    [
        (lambda t: t.replace('"id":"e-1"', '"id":"e-1","id":"e-2"'), "repeat"),
        (lambda t: t.replace('"id"', '"\\u0069d"'), "escaped name"),
        (lambda t: t.replace('"type":', '"x1":1,"type":', 1), "extension"),
        (lambda t: t.replace('"1.0"', '"1.1"'), "specversion"),
        (lambda t: t.replace('"e-1"', '""'), "empty id"),
        (lambda t: t.replace('"e-1"', "null"), "null id"),
        (lambda t: t.replace(":00Z", ":60Z"), "leap second"),
        (lambda t: t.replace("2024-05-01", "2023-02-29"), "no such day"),
        (lambda t: t.replace('"data":', '"data_base64":"AA==","data":'), "both"),
        (lambda t: t.replace('"data":{"n":1}', '"data":null,"x":0'), "after data"),
        (
            lambda t: t.replace('"data":{"n":1}', '"data":{"n":1},"data":2'),
            "data twice",
        ),
        (lambda t: t.replace('"time":"', '"time":5,"t":"'), "time a number"),
    ],
)
def test_the_walk_leaves_what_it_cannot_prove_to_python(mutate, why):
    body = mutate(json.dumps(_event(), separators=(",", ":"))).encode()
    view = cloudevents._DECODER.decode(body)
    assert speedups.ce_exact(body, view.data, view.data_base64) is False, why
    compiled, python = both(body)
    assert compiled == python


@pytest.mark.parametrize(
    "time, valid",
    [
        ("2024-02-29T00:00:00Z", True),
        ("2023-02-29T00:00:00Z", False),
        ("2000-02-29T23:59:59.123456789+14:00", True),
        ("1900-02-29T00:00:00Z", False),
        ("2024-04-31T00:00:00Z", False),
        ("2024-12-31t23:59:59z", True),
        ("2024-12-31 23:59:59-00:30", True),
        ("2024-12-31T24:00:00Z", False),
        ("2024-12-31T23:59:59", False),
        ("2024-12-31T23:59:59.Z", False),
        ("2024-12-31T23:59:59+2400", False),
        ("2024-13-01T00:00:00Z", False),
        ("2024-1-01T00:00:00Z", False),
        ("2016-12-31T23:59:60Z", True),
        ("0000-02-29T00:00:00Z", True),
        ("0000-01-01T00:00:60Z", True),
        ("0100-02-29T00:00:60Z", False),
    ],
)
def test_timestamps_agree_on_both_paths(time, valid):
    body = json.dumps(_event(time=time), separators=(",", ":")).encode()
    compiled, python = both(body)
    assert compiled == python
    assert (compiled[0] == "ok") is valid, compiled


def test_calls_the_compiled_entry_does_not_take_go_to_python_unchanged():
    body = json.dumps(_event()).encode()
    by_keyword = parse(body, headers=STRUCTURED)
    assert by_keyword.id == "e-1"
    assert parse(bytearray(body), STRUCTURED).id == "e-1"
    assert parse(body, {"Content-Type": "application/cloudevents+json"}).id == "e-1"
    with pytest.raises(EnvelopeError) as caught:
        parse(body, STRUCTURED, limits=cloudevents.Limits(max_bytes=10))
    assert caught.value.code == "limit.size"
    with pytest.raises(TypeError):
        parse()


# -- generated events --------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12
)
_ABSENT = object()  # a member left out
_ATTRIBUTE = st.one_of(st.none(), st.just(""), _TEXT, st.just(_ABSENT))
_TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.from_regex(
        r"\A\d{4}-[01]\d-[0-3]\d[Tt ][0-2]\d:[0-6]\d:[0-6]\d(\.\d{1,9})?"
        r"([Zz]|[+-][0-2]\d:[0-6]\d)\Z"
    ),
    st.just(_ABSENT),
    st.none(),
    st.integers(),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def events(draw):
    members = {
        "specversion": draw(st.sampled_from(["1.0", "1.0", "1.0", "0.3", ""])),
        "id": draw(_ATTRIBUTE),
        "source": draw(_ATTRIBUTE),
        "type": draw(_ATTRIBUTE),
        "subject": draw(_ATTRIBUTE),
        "time": draw(_TIMES),
        "datacontenttype": draw(_ATTRIBUTE),
        "traceparent": draw(_ATTRIBUTE),
        "data": draw(st.one_of(_JSON, st.just(_ABSENT))),
        "data_base64": draw(st.sampled_from([_ABSENT, _ABSENT, "AA==", 1])),
    }
    if draw(st.booleans()):
        members[draw(st.sampled_from(["ext1", "Bad_Name", "x"]))] = draw(_JSON)
    pairs = [(k, v) for k, v in members.items() if v is not _ABSENT]
    pairs = draw(st.permutations(pairs))
    if pairs and draw(st.integers(0, 4)) == 0:
        name, _ = draw(st.sampled_from(pairs))
        pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(_JSON)))
    space = draw(st.sampled_from(["", " ", "\n  "]))
    text = (
        "{"
        + ",".join(f"{space}{json.dumps(k)}:{space}{json.dumps(v)}" for k, v in pairs)
        + space
        + "}"
    )
    if draw(st.integers(0, 5)) == 0:
        text = re.sub(r'"(\w)', lambda m: f'"\\u{ord(m.group(1)):04x}', text, 1)
    return text.encode()


@SETTINGS
@given(body=events())
@example(body=b'{"specversion":"1.0","id":"a","source":"b","type":"c","data":{"id":1}}')
def test_generated_events_give_the_same_answer_on_both_paths(body):
    compiled, python = both(body)
    assert compiled == python


@SETTINGS
@given(body=events(), cut=st.integers(0, 400), byte=st.integers(0, 255))
def test_damaged_events_give_the_same_answer_on_both_paths(body, cut, byte):
    at = cut % (len(body) + 1)
    damaged = body[:at] + bytes([byte]) + body[at + 1 :]
    compiled, python = both(damaged)
    assert compiled == python


def _event(**changes):
    event = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/orders",
        "type": "order.created",
        "subject": "orders/1",
        "time": "2024-05-01T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"n": 1},
    }
    event.update(changes)
    return event
