"""Bytes on the wire for an event of a given payload size, per envelope.

Each service wraps an event in its own envelope. The overhead is measured
here on a real example of each envelope built with the standard library's
json (field values of realistic length: UUIDs, ARNs, RFC 3339 times, a
2048-bit RSA signature in base64), and the payload's growth is applied:

- Pub/Sub push carries the payload in base64: ``4 * ceil(n / 3)`` bytes;
- SNS's ``Message`` and SQS's ``Body`` are JSON strings, so a JSON payload
  is escaped into them: every ``"`` and ``\\`` gains a backslash. The
  escaping growth is measured on a representative JSON document;
- CloudEvents binary mode moves the attributes to ``ce-`` headers and sends
  the payload as is; the header bytes are counted with the body.

An SQS answer is counted per message; the ``{"Messages": [...]}`` wrapper
of a batch is left out.
"""

from __future__ import annotations

import base64
import json

import numpy as np

_PLACEHOLDER = "\x00PAYLOAD\x00"
_SIGNATURE = "A" * 344  # base64 of a 256-byte RSA signature

_CE_ATTRIBUTES = {
    "specversion": "1.0",
    "id": "8f0c7a52-3cc5-4b1e-9a77-0c2f6e3d9b41",
    "source": "/orders/eu-west-1/checkout",
    "type": "com.example.order.created",
    "time": "2026-12-04T15:33:51.123Z",
    "datacontenttype": "application/json",
    "subject": "orders/118024",
}

# Each envelope with the payload's place marked; how the payload goes in:
# as a JSON value, escaped into a JSON string, or base64 in a string.
_DOCUMENTS: dict[str, tuple[str, object]] = {
    "cloudevents_structured": ("value", {**_CE_ATTRIBUTES, "data": _PLACEHOLDER}),
    "eventgrid": (
        "value",
        [
            {
                "id": _CE_ATTRIBUTES["id"],
                "topic": "/subscriptions/3f1e9c6a-1b2c-4d5e-8f90-1a2b3c4d5e6f/resource"
                "Groups/orders/providers/Microsoft.EventGrid/topics/orders",
                "subject": "orders/118024",
                "eventType": "Example.Orders.Created",
                "eventTime": _CE_ATTRIBUTES["time"],
                "data": _PLACEHOLDER,
                "dataVersion": "1.0",
                "metadataVersion": "1",
            }
        ],
    ),
    "sns": (
        "string",
        {
            "Type": "Notification",
            "MessageId": _CE_ATTRIBUTES["id"],
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders",
            "Subject": "order created",
            "Message": _PLACEHOLDER,
            "Timestamp": _CE_ATTRIBUTES["time"],
            "SignatureVersion": "2",
            "Signature": _SIGNATURE,
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotification"
            "Service-01d088a6f77103d0fe307c0069e40ed6.pem",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe"
            "&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:orders:"
            "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        },
    ),
    "pubsub": (
        "base64",
        {
            "message": {
                "data": _PLACEHOLDER,
                "messageId": "2070443601311540",
                "message_id": "2070443601311540",
                "publishTime": _CE_ATTRIBUTES["time"],
                "publish_time": _CE_ATTRIBUTES["time"],
            },
            "subscription": "projects/example/subscriptions/orders-push",
        },
    ),
    "eventbridge": (
        "value",
        {
            "version": "0",
            "id": _CE_ATTRIBUTES["id"],
            "detail-type": "Order Created",
            "source": "com.example.orders",
            "account": "123456789012",
            "time": "2026-12-04T15:33:51Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": _PLACEHOLDER,
        },
    ),
    "sqs": (
        "string",
        {
            "MessageId": _CE_ATTRIBUTES["id"],
            "ReceiptHandle": "AQEB" + "x" * 380,
            "MD5OfBody": "0" * 32,
            "Body": _PLACEHOLDER,
        },
    ),
}


def example(kind: str, payload: bytes) -> tuple[bytes, dict[str, str]]:
    """A real envelope of ``kind`` carrying the JSON ``payload``: the body
    and the headers that go with it."""
    headers = {"content-type": "application/json"}
    if kind == "none":
        return payload, headers
    if kind == "cloudevents_binary":
        for key, value in _CE_ATTRIBUTES.items():
            if key != "datacontenttype":
                headers[f"ce-{key}"] = value
        return payload, headers
    how, document = _DOCUMENTS[kind]
    text = payload.decode()
    if how == "string":
        inserted = json.dumps(text)
    elif how == "base64":
        inserted = json.dumps(base64.b64encode(payload).decode())
    else:
        inserted = text
    body = json.dumps(document, separators=(",", ":"))
    body = body.replace(json.dumps(_PLACEHOLDER), inserted)
    if kind == "cloudevents_structured":
        headers["content-type"] = "application/cloudevents+json; charset=utf-8"
    return body.encode(), headers


def _fixed(kind: str) -> int:
    # a one-byte JSON payload that no encoding grows but base64
    body, headers = example(kind, b"0")
    carried = 4 if kind == "pubsub" else 1
    extra = 0
    if kind == "cloudevents_binary":
        extra = sum(len(f"{k}: {v}\r\n") for k, v in headers.items())
    return len(body) - carried + extra


KINDS = ("none", "cloudevents_structured", "cloudevents_binary", *list(_DOCUMENTS)[1:])
_FIXED = {kind: _fixed(kind) for kind in KINDS}


def _escape_growth() -> float:
    """Bytes a JSON document grows by per byte when escaped into a string."""
    rng = np.random.default_rng(0)
    document = [
        {
            "id": f"evt-{i}",
            "amount": round(float(rng.uniform(1, 500)), 2),
            "currency": "EUR",
            "items": [{"sku": f"SKU-{j}", "qty": j + 1} for j in range(3)],
        }
        for i in range(200)
    ]
    text = json.dumps(document, separators=(",", ":"))
    return (len(json.dumps(text)) - 2) / len(text) - 1.0


ESCAPE_GROWTH = _escape_growth()


def fixed_overhead_bytes(kind: str) -> int:
    """The envelope's own bytes, payload excluded."""
    return _FIXED[kind]


def wire_bytes(kind: str, payload_bytes: np.ndarray) -> np.ndarray:
    """Bytes on the wire for each payload size under envelope ``kind``."""
    n = np.asarray(payload_bytes, dtype=np.int64)
    if kind == "pubsub":
        carried = 4 * np.ceil(n / 3).astype(np.int64)
    elif kind in ("sns", "sqs"):
        carried = np.ceil(n * (1.0 + ESCAPE_GROWTH)).astype(np.int64)
    else:
        carried = n
    return carried + _FIXED[kind]


def describe() -> dict[str, str]:
    """A line per envelope: fixed bytes and payload growth, for the docs."""
    growth = {
        "pubsub": "payload in base64 (x4/3)",
        "sns": f"payload escaped into a string (+{ESCAPE_GROWTH:.1%})",
        "sqs": f"payload escaped into a string (+{ESCAPE_GROWTH:.1%})",
    }
    return {
        kind: f"{fixed} B + {growth.get(kind, 'payload as is')}"
        for kind, fixed in _FIXED.items()
    }
