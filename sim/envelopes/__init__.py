"""Inspect, route and pass on pub/sub push envelopes without decoding payloads.

One call reads any of six formats::

    from sim.envelopes import parse

    event = parse(body, headers)        # an Envelope, or a Batch of them
    event.type, event.source, event.id  # routing fields, never invented
    event.data.raw                      # the payload's bytes, not a copy
    event.data.json()                   # decoded only when asked

Formats: CloudEvents 1.0 (structured, batch, binary), Azure Event Grid, Amazon
SNS, Google Pub/Sub push, Amazon EventBridge and Azure Service Bus.  Every
failure is an :class:`EnvelopeError` with a stable ``code``.  This package
imports nothing else from ``sim``.
"""

from sim.envelopes._base import ROUTING_FIELDS, Batch, Envelope
from sim.envelopes._detect import FORMATS
from sim.envelopes._detect import fast_parse as parse
from sim.envelopes._json import ABSENT, DEFAULT_LIMITS, Absent, Limits
from sim.envelopes.cloudevents import CloudEvent
from sim.envelopes.errors import (
    EnvelopeError,
    HandshakeRefused,
    InvalidEnvelope,
    LimitExceeded,
    MalformedJSON,
    PayloadError,
    UnknownFormat,
    Unrouted,
)
from sim.envelopes.eventbridge import EventBridgeEvent
from sim.envelopes.eventgrid import EventGridEvent
from sim.envelopes.handshakes import (
    eventgrid_validation_response,
    is_sns_url,
    sns_certificate_url,
    sns_confirmation_url,
    webhook_options_response,
)
from sim.envelopes.payload import Payload
from sim.envelopes.pubsub import PubSubPush, PubSubUnwrapped
from sim.envelopes.router import Router
from sim.envelopes.servicebus import ServiceBusMessage
from sim.envelopes.sns import SnsMessage, SnsRawMessage

__all__ = [
    "ABSENT",
    "Absent",
    "Batch",
    "CloudEvent",
    "DEFAULT_LIMITS",
    "Envelope",
    "EnvelopeError",
    "EventBridgeEvent",
    "EventGridEvent",
    "FORMATS",
    "HandshakeRefused",
    "InvalidEnvelope",
    "LimitExceeded",
    "Limits",
    "MalformedJSON",
    "Payload",
    "PayloadError",
    "PubSubPush",
    "PubSubUnwrapped",
    "ROUTING_FIELDS",
    "Router",
    "ServiceBusMessage",
    "SnsMessage",
    "SnsRawMessage",
    "UnknownFormat",
    "Unrouted",
    "eventgrid_validation_response",
    "is_sns_url",
    "parse",
    "sns_certificate_url",
    "sns_confirmation_url",
    "webhook_options_response",
]
