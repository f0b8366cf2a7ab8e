"""Azure Service Bus over its HTTP (REST) interface.

This module knows a received message (the body is the message, opaque; its
broker properties are JSON in the ``BrokerProperties`` header; custom
properties are headers of their own) and the JSON batch body
(``application/vnd.microsoft.servicebus.json``: an array of objects with
``Body``, ``BrokerProperties`` and ``UserProperties``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes._base import Batch, Envelope, member
from sim.envelopes._json import (
    ABSENT,
    Limits,
    batch_elements,
    check_header_size,
    check_utf8,
    decode,
    inspect_object,
)
from sim.envelopes.errors import InvalidEnvelope
from sim.envelopes.payload import Payload

FORMAT = "servicebus"
BATCH = "application/vnd.microsoft.servicebus.json"

_Text = Union[str, None, UnsetType]
_Number = Union[Raw, UnsetType]  # numbers stay Raw: floats do not re-encode


class _Broker(msgspec.Struct):
    MessageId: _Text = UNSET
    CorrelationId: _Text = UNSET
    SessionId: _Text = UNSET
    Label: _Text = UNSET
    To: _Text = UNSET
    ReplyTo: _Text = UNSET
    ReplyToSessionId: _Text = UNSET
    ContentType: _Text = UNSET
    PartitionKey: _Text = UNSET
    EnqueuedTimeUtc: _Text = UNSET
    ScheduledEnqueueTimeUtc: _Text = UNSET
    LockedUntilUtc: _Text = UNSET
    LockToken: _Text = UNSET
    State: _Text = UNSET
    DeliveryCount: _Number = UNSET
    SequenceNumber: _Number = UNSET
    EnqueuedSequenceNumber: _Number = UNSET
    TimeToLive: _Number = UNSET
    ForcePersistence: Union[bool, None, UnsetType] = UNSET


class _Element(msgspec.Struct):
    Body: Union[Raw, UnsetType] = UNSET
    BrokerProperties: Union[_Broker, None, UnsetType] = UNSET
    UserProperties: Union[dict[str, Raw], None, UnsetType] = UNSET


_ANY = msgspec.json.Decoder()
_NUMBERS = ("DeliveryCount", "SequenceNumber", "EnqueuedSequenceNumber", "TimeToLive")
_BROKER = msgspec.json.Decoder(_Broker)
_ELEMENT = msgspec.json.Decoder(_Element)
_EMPTY_BROKER = _Broker()
# Headers of the HTTP exchange itself, never custom message properties.
_TRANSPORT = frozenset(
    (
        "brokerproperties",
        "content-type",
        "content-length",
        "content-encoding",
        "date",
        "server",
        "location",
        "transfer-encoding",
        "connection",
        "host",
        "strict-transport-security",
        "x-ms-request-id",
        "cache-control",
        "authorization",
        "accept",
        "user-agent",
        "expect",
    )
)


class ServiceBusMessage(Envelope):
    """One Service Bus message, received or taken from a JSON batch.

    Routing fields: ``id`` = ``MessageId``, ``type`` = ``Label`` (the field
    newer SDKs call Subject, which is what applications route on),
    ``source`` = ``To``, ``subject`` is ABSENT, ``time`` =
    ``EnqueuedTimeUtc`` (RFC 1123 text, as Service Bus writes it).
    """

    __slots__ = ("_view", "_user", "_body", "_kind")
    format = FORMAT

    def __init__(
        self,
        broker: _Broker,
        user: Any,
        body: Any,
        kind: str,
        raw: Any,
        headers: Mapping[str, str] | None,
        limits: Limits,
        pointer: str,
    ) -> None:
        super().__init__(raw, headers, limits, pointer)
        self._view = broker
        self._user = user
        self._body = body
        self._kind = kind

    id = member("MessageId")
    type = label = member("Label")
    source = member("To")
    time = member("EnqueuedTimeUtc")
    session_id = member("SessionId")
    correlation_id = member("CorrelationId")
    lock_token = member("LockToken")

    @property
    def broker_properties(self) -> dict[str, Any]:
        """The broker properties that were sent; numbers decoded."""
        out = {}
        for name in _Broker.__struct_fields__:
            value = getattr(self._view, name)
            if value is UNSET:
                continue
            out[name] = _value(value, name) if isinstance(value, Raw) else value
        return out

    @property
    def user_properties(self) -> dict[str, Any] | Any:
        """Custom properties: ``UserProperties`` in a batch (values decoded),
        the non-transport headers of a received message (values as sent)."""
        user = self._user
        if not user or self._kind == "bytes":
            return user
        return {name: _value(value, name) for name, value in user.items()}

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self.user_properties or {})

    @property
    def data(self) -> Payload | Any:
        if self._body is UNSET:
            return ABSENT
        content_type = self._view.ContentType
        if self._kind == "bytes":
            content_type = self.headers.get("content-type", ABSENT)
        return Payload(
            self._body,
            self._kind,
            content_type=content_type,
            format=FORMAT,
            pointer=self._pointer + "/Body" if self._kind == "string" else "",
            limits=self._limits,
        )

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"BrokerProperties": self.broker_properties}
        if self._user is not UNSET:
            out["UserProperties"] = self.user_properties
        return out


def _check_values(
    broker: _Broker, broker_at: str, user: Any = None, user_at: str = ""
) -> None:
    # Numbers and user values stay Raw for the duplicate proof; decode each
    # once here so that an out-of-range number is refused by inspection.
    for name in _NUMBERS:
        raw = getattr(broker, name)
        if raw is not UNSET:
            _value(raw, f"{broker_at}/{name}")
    for name, raw in (user or {}).items():
        _value(raw, f"{user_at}/{name}")


def _value(raw: Raw, where: str) -> Any:
    # Inspection decodes each of these once (_check_values) to refuse 1e400.
    return decode(_ANY, raw, FORMAT, where)


def parse_received(
    body: bytes, headers: Mapping[str, str], limits: Limits
) -> ServiceBusMessage:
    """A received message: ``BrokerProperties`` header, opaque body."""
    text = headers["brokerproperties"]
    check_header_size(text, limits, FORMAT, "headers/brokerproperties")
    raw = text.encode("utf-8", "surrogatepass")
    check_utf8(raw, FORMAT, "headers/brokerproperties")
    broker, _ = inspect_object(
        _BROKER, raw, FORMAT, "headers/brokerproperties", _NUMBERS
    )
    _check_values(broker, "headers/brokerproperties")
    user = {name: value for name, value in headers.items() if name not in _TRANSPORT}
    return ServiceBusMessage(broker, user, body, "bytes", body, headers, limits, "")


def parse_batch(
    body: bytes, headers: Mapping[str, str] | None, limits: Limits
) -> Batch:
    """The JSON batch body: an array of ``Body``/``BrokerProperties``/
    ``UserProperties`` objects."""
    elements = batch_elements(body, FORMAT, limits, "messages")
    messages = []
    for index, element in enumerate(elements):
        pointer = f"/{index}"
        view, _ = inspect_object(
            _ELEMENT,
            element,
            FORMAT,
            pointer,
            ("Body", *(f"BrokerProperties/{name}" for name in _NUMBERS)),
            ("BrokerProperties", "UserProperties"),
        )
        if view.Body is UNSET or memoryview(view.Body)[:1] != b'"':
            raise InvalidEnvelope(
                "servicebus.body",
                "expected Body to be a JSON "
                "string, got "
                + ("it absent" if view.Body is UNSET else "another JSON value"),
                format=FORMAT,
                pointer=pointer + "/Body",
            )
        broker = view.BrokerProperties or _EMPTY_BROKER
        _check_values(
            broker,
            f"{pointer}/BrokerProperties",
            view.UserProperties,
            f"{pointer}/UserProperties",
        )
        messages.append(
            ServiceBusMessage(
                broker,
                view.UserProperties,
                view.Body,
                "string",
                element,
                headers,
                limits,
                pointer,
            )
        )
    return Batch(messages, FORMAT, body, headers)
