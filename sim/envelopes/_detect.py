"""The public entry point: tell the format, then hand over to its module.

Headers are asked first, because they are cheap and authoritative: the
Content-Type names CloudEvents structured and batch mode and the Service Bus
batch body; a ``ce-specversion`` header means CloudEvents binary mode; and
``aeg-event-type``, ``x-amz-sns-message-type``, ``x-goog-pubsub-*`` and
``BrokerProperties`` name Event Grid, SNS, unwrapped Pub/Sub push and a
received Service Bus message.  Only when no header tells is the body's shape
read, which costs one more pass over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes import (
    cloudevents,
    eventbridge,
    eventgrid,
    pubsub,
    servicebus,
    sns,
)
from sim.envelopes._base import Batch, Envelope, lower_headers
from sim.envelopes._json import (
    ABSENT,
    DEFAULT_LIMITS,
    Limits,
    check_batch,
    check_size,
    check_utf8,
    decode,
)
from sim.envelopes.errors import UnknownFormat

FORMATS = ("cloudevents", "eventgrid", "sns", "pubsub", "eventbridge", "servicebus")

_Seen = Union[Raw, UnsetType]


class _Probe(msgspec.Struct):
    """One member that only one format has, for each format."""

    specversion: _Seen = UNSET
    eventType: _Seen = UNSET
    TopicArn: _Seen = UNSET
    message: _Seen = UNSET
    detail_type: _Seen = msgspec.field(name="detail-type", default=UNSET)
    Body: _Seen = UNSET


_PROBE_OBJECT = msgspec.json.Decoder(_Probe)
_STRUCTURED = cloudevents.STRUCTURED
_parse_structured = cloudevents.parse_structured
_fast_structured = cloudevents.fast_structured
_CloudEvent = cloudevents.CloudEvent
_PROBE_ARRAY = msgspec.json.Decoder(list[_Probe])


def parse(
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    limits: Limits | None = None,
) -> Envelope | Batch:
    """Inspect one HTTP delivery and return its envelope(s), undecoded.

    Parameters
    ----------
    body : bytes
        The request body exactly as received.  ``bytearray`` and
        ``memoryview`` are copied once into ``bytes``.
    headers : Mapping[str, str], optional
        The request headers; names are compared case-insensitively.
    limits : Limits, optional
        Size, depth and batch bounds; :data:`DEFAULT_LIMITS` when omitted.

    Returns
    -------
    Envelope or Batch
        One envelope, or a :class:`Batch` for CloudEvents batch mode, an
        Event Grid array or a Service Bus batch.

    Raises
    ------
    EnvelopeError
        Always one of its subclasses, for every malformed input.
    """
    if limits is None:
        limits = DEFAULT_LIMITS
    elif not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
    if type(body) is not bytes:
        body = _as_bytes(body, limits)
    if len(body) > limits.max_bytes:
        check_size(body, limits, "envelope")
    if headers is not None and not isinstance(headers, Mapping):
        raise TypeError(
            f"headers must be a mapping of name to value, got {type(headers).__name__}"
        )
    if not headers:
        return _from_shape(body, {}, limits)

    # Structured mode reads one header.  When it is spelled the usual way,
    # and only once, the others are left as they are: lowering every header
    # of a real request costs more than decoding a small event.
    content_type = headers.get("content-type")
    if content_type is None:
        content_type = headers.get("Content-Type")
    elif "Content-Type" in headers:
        content_type = None
    if content_type == _STRUCTURED:
        event = _fast_structured(body, headers, limits)
        if type(event) is _CloudEvent:
            return event
        return _parse_structured(body, headers, limits, view=event)

    lowered = _lower(headers)
    found = _from_headers(body, lowered, limits)
    return _from_shape(body, lowered, limits) if found is None else found


def _as_bytes(body: object, limits: Limits) -> bytes:
    # Any bytes-like object, measured before it is copied.
    if isinstance(body, bytes):
        return bytes(body)
    try:
        view = memoryview(body)
    except TypeError:
        raise TypeError(f"body must be bytes-like, got {type(body).__name__}") from None
    if view.nbytes > limits.max_bytes:
        check_size(view, limits, "envelope")
    return view.tobytes()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {}
    for name, value in headers.items():
        if type(name) is not str or type(value) is not str:
            return lower_headers(headers)
        lowered[name.lower()] = value
    if len(lowered) != len(headers):
        return lower_headers(headers)
    return lowered


def media_type(value: str) -> str:
    """The lower-case ``type/subtype`` of a Content-Type, parameters dropped."""
    return value.split(";", 1)[0].strip().lower()


def _from_headers(
    body: bytes, headers: dict[str, str], limits: Limits
) -> Envelope | Batch | None:
    content_type = headers.get("content-type")
    if content_type == cloudevents.STRUCTURED:  # the hot path, spelled exactly
        return cloudevents.parse_structured(body, headers, limits)
    kind = media_type(content_type) if content_type is not None else ""

    # HTTP binding 3.3 and 3.2: the mode follows Content-Type, so a structured
    # body may carry ce- headers too.  Batch is tested first: both media
    # types start "application/cloudevents".
    if kind == cloudevents.BATCH:
        return cloudevents.parse_batch(body, headers, limits)
    if kind == cloudevents.STRUCTURED:
        return cloudevents.parse_structured(body, headers, limits)
    if kind.startswith("application/cloudevents"):
        raise UnknownFormat(
            "format.unsupported",
            f"expected the JSON event format, got Content-Type {content_type!r}",
            format="cloudevents",
            pointer="headers/content-type",
        )
    if "ce-specversion" in headers:
        return cloudevents.parse_binary(
            body, headers, limits, content_type if content_type is not None else ABSENT
        )
    if kind == servicebus.BATCH:
        return servicebus.parse_batch(body, headers, limits)
    if "aeg-event-type" in headers:
        return eventgrid.parse_events(body, headers, limits)
    if "x-amz-sns-message-type" in headers or "x-amz-sns-rawdelivery" in headers:
        return sns.parse_message(body, headers, limits)
    if (
        "x-goog-pubsub-message-id" in headers
        or "x-goog-pubsub-subscription-name" in headers
    ):
        return pubsub.parse_unwrapped(body, headers, limits)
    if "brokerproperties" in headers:
        return servicebus.parse_received(body, headers, limits)
    return None


def _from_shape(
    body: bytes, headers: dict[str, str], limits: Limits
) -> Envelope | Batch:
    check_utf8(body, "envelope")
    first = body.lstrip(b" \t\n\r")[:1]
    if first == b"{":
        probe = decode(_PROBE_OBJECT, body, "envelope")
        if probe.specversion is not UNSET:
            return cloudevents.parse_structured(body, headers, limits)
        if probe.TopicArn is not UNSET:
            return sns.parse_message(body, headers, limits)
        if probe.message is not UNSET:
            return pubsub.parse_push(body, headers, limits)
        if probe.detail_type is not UNSET:
            return eventbridge.parse_event(body, headers, limits)
    elif first == b"[":
        check_batch(body, "envelope", limits, "envelopes in an array")
        probes = decode(_PROBE_ARRAY, body, "envelope")
        if probes and probes[0].specversion is not UNSET:
            return cloudevents.parse_batch(body, headers, limits)
        if probes and probes[0].eventType is not UNSET:
            return eventgrid.parse_events(body, headers, limits)
        if probes and probes[0].Body is not UNSET:
            return servicebus.parse_batch(body, headers, limits)
        if not probes:
            raise UnknownFormat(
                "format.unknown",
                "expected headers naming the format of an empty array, got none",
            )
    else:
        decode(_PROBE_OBJECT, body, "envelope")  # reports the syntax error
    raise UnknownFormat(
        "format.unknown",
        "expected a CloudEvent, Event Grid, SNS, "
        "Pub/Sub push, EventBridge or Service Bus envelope, got a "
        "body no header or member names",
    )


# The compiled entry point takes the structured hot path whole (one C call
# from the caller to the built event) and hands every other call to the
# Python parse above.
if cloudevents._speedups is not None:
    cloudevents._speedups.configure(
        cloudevents._DECODER,
        cloudevents._View,
        cloudevents.CloudEvent,
        parse,
        cloudevents.parse_structured,
        DEFAULT_LIMITS,
        DEFAULT_LIMITS.max_bytes,
    )
    fast_parse = cloudevents._speedups.parse
else:
    fast_parse = parse
