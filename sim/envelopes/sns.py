"""Amazon SNS delivering to an HTTP(S) endpoint.

This module knows the three SNS message types, the JSON document SNS posts
(always pretty-printed, so its duplicate check takes the slow path), the
string SNS signs, and raw message delivery, where the body is the message
itself and the metadata is in ``x-amz-sns-*`` headers.  ``Message`` is always
a JSON string; whatever it holds (text, JSON, an EventBridge event, a
CloudEvent) is the payload and is only read on request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes._base import HeaderEnvelope, ViewEnvelope, header, member
from sim.envelopes._json import (
    Limits,
    check_rfc3339,
    check_utf8,
    inspect_object,
    pointer_join,
    require_text,
)
from sim.envelopes.errors import InvalidEnvelope
from sim.envelopes.payload import Payload

FORMAT = "sns"
MESSAGE_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
#: MessageAttributes data types; Binary values are base64 text.
ATTRIBUTE_TYPES = ("String", "String.Array", "Number", "Binary")

_Text = Union[str, None, UnsetType]


class _Attribute(msgspec.Struct):
    Type: Union[str, UnsetType] = UNSET
    Value: Union[str, UnsetType] = UNSET


class _View(msgspec.Struct):
    Type: _Text = UNSET
    MessageId: _Text = UNSET
    Token: _Text = UNSET
    TopicArn: _Text = UNSET
    Subject: _Text = UNSET
    Message: Union[Raw, UnsetType] = UNSET
    Timestamp: _Text = UNSET
    SignatureVersion: _Text = UNSET
    Signature: _Text = UNSET
    SigningCertURL: _Text = UNSET
    SigningCertUrl: _Text = UNSET
    SubscribeURL: _Text = UNSET
    UnsubscribeURL: _Text = UNSET
    UnsubscribeUrl: _Text = UNSET
    MessageAttributes: Union[dict[str, _Attribute], None, UnsetType] = UNSET


_DECODER = msgspec.json.Decoder(_View)
_WIRE_FIELDS = tuple(
    n for n in _View.__struct_fields__ if n not in ("Message", "MessageAttributes")
)
# The members signed for each message type, in the order SNS signs them.
_SIGNED = {
    "Notification": (
        "Message",
        "MessageId",
        "Subject",
        "Timestamp",
        "TopicArn",
        "Type",
    ),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED["UnsubscribeConfirmation"] = _SIGNED["SubscriptionConfirmation"]


class SnsMessage(ViewEnvelope):
    """A message SNS posted to an HTTP endpoint.

    Routing fields: ``id`` = ``MessageId``, ``type`` = ``Type`` (the message
    type), ``source`` = ``TopicArn``, ``subject`` = ``Subject`` (often
    absent), ``time`` = ``Timestamp``.  The payload is ``Message`` (kind
    ``string``); :meth:`unwrap` reads a CloudEvent or an EventBridge event
    out of it.
    """

    __slots__ = ()
    format = FORMAT

    id = member("MessageId")
    type = member("Type")
    source = member("TopicArn")
    subject = member("Subject")
    time = member("Timestamp")
    token = member("Token")
    signature = member("Signature")
    signature_version = member("SignatureVersion")
    subscribe_url = member("SubscribeURL")

    @property
    def signing_cert_url(self) -> Any:
        """``SigningCertURL``, or its ``SigningCertUrl`` spelling."""
        view = self._view
        return (
            view.SigningCertURL
            if view.SigningCertURL is not UNSET
            else view.SigningCertUrl
        )

    @property
    def unsubscribe_url(self) -> Any:
        """``UnsubscribeURL``, or its ``UnsubscribeUrl`` spelling."""
        view = self._view
        return (
            view.UnsubscribeURL
            if view.UnsubscribeURL is not UNSET
            else view.UnsubscribeUrl
        )

    @property
    def message_attributes(self) -> dict[str, tuple[str, str]] | Any:
        """``{name: (Type, Value)}``, ``None`` if sent as null, or ABSENT."""
        attributes = self._view.MessageAttributes
        if not attributes:
            return attributes
        return {name: (a.Type, a.Value) for name, a in attributes.items()}

    @property
    def extensions(self) -> dict[str, Any]:
        """Message attribute values by name (always strings)."""
        attributes = self._view.MessageAttributes
        return {n: a.Value for n, a in attributes.items()} if attributes else {}

    @property
    def data(self) -> Payload:
        return Payload(
            self._view.Message,
            "string",
            format=FORMAT,
            pointer="/Message",
            limits=self._limits,
        )

    def fields(self) -> dict[str, Any]:
        view = self._view
        out = {
            name: getattr(view, name)
            for name in _WIRE_FIELDS
            if getattr(view, name) is not UNSET
        }
        if view.MessageAttributes is not UNSET:
            out["MessageAttributes"] = self.message_attributes
        return out

    def string_to_sign(self) -> bytes:
        """The exact bytes SNS signed, built from top-level members only.

        Each signed member is written as its name, a newline, its value and
        a newline, in byte order of the names; a Notification without a
        Subject leaves the Subject pair out.  Verifying the signature against
        the certificate is left to the caller, who must first check the
        certificate URL (:func:`sim.envelopes.sns_certificate_url`).
        """
        view = self._view
        lines = []
        for name in _SIGNED[view.Type]:
            value = self.data.text() if name == "Message" else getattr(view, name)
            if value is UNSET or value is None:
                if name == "Subject":
                    continue
                raise InvalidEnvelope(
                    "sns.unsigned",
                    f"expected {name} to sign a {view.Type}, got it absent",
                    format=FORMAT,
                    pointer=f"/{name}",
                )
            lines.append(f"{name}\n{value}\n")
        return "".join(lines).encode("utf-8")


class SnsRawMessage(HeaderEnvelope):
    """A message delivered with raw message delivery: no JSON wrapper.

    Routing fields come from the ``x-amz-sns-message-id``,
    ``x-amz-sns-message-type`` and ``x-amz-sns-topic-arn`` headers; the body
    is the payload (kind ``bytes``), untouched.
    """

    __slots__ = ()
    format = FORMAT
    prefix = "x-amz-sns-"

    id = header("x-amz-sns-message-id")
    type = header("x-amz-sns-message-type")
    source = header("x-amz-sns-topic-arn")
    subscription_arn = header("x-amz-sns-subscription-arn")


def parse_message(
    body: bytes, headers: Mapping[str, str] | None, limits: Limits
) -> SnsMessage | SnsRawMessage:
    """Inspect an SNS HTTP delivery, wrapped or raw."""
    headers = headers or {}
    header_type = headers.get("x-amz-sns-message-type")
    if headers.get("x-amz-sns-rawdelivery", "").lower() == "true":
        _check_type(header_type, "headers/x-amz-sns-message-type")
        return SnsRawMessage(body, headers, limits, "")
    check_utf8(body, FORMAT)
    view, _ = inspect_object(
        _DECODER, body, FORMAT, "", ("Message",), ("MessageAttributes/*",)
    )
    _check_type(view.Type, "/Type")
    if header_type is not None and header_type != view.Type:
        raise InvalidEnvelope(
            "sns.message-type",
            f"expected Type to match the header {header_type!r}, got {view.Type!r}",
            format=FORMAT,
            pointer="/Type",
        )
    if not (view.MessageId and view.TopicArn and view.Timestamp):
        for name in ("MessageId", "TopicArn", "Timestamp"):
            require_text(getattr(view, name), FORMAT, f"/{name}", "sent by SNS")
    check_rfc3339(view.Timestamp, FORMAT, "/Timestamp")
    # "Message" is always a JSON string, possibly empty.
    if view.Message is UNSET or memoryview(view.Message)[:1] != b'"':
        raise InvalidEnvelope(
            "sns.message",
            "expected Message to be a JSON "
            "string, got "
            + ("it absent" if view.Message is UNSET else "another JSON value"),
            format=FORMAT,
            pointer="/Message",
        )
    if view.Type != "Notification":
        require_text(view.Token, FORMAT, "/Token", f"sent with a {view.Type}")
    for name, attribute in (view.MessageAttributes or {}).items():
        where = pointer_join("/MessageAttributes", name)
        if attribute.Type not in ATTRIBUTE_TYPES:
            raise InvalidEnvelope(
                "sns.attribute",
                "expected an attribute Type "
                f"among {', '.join(ATTRIBUTE_TYPES)}, got "
                f"{attribute.Type!r}",
                format=FORMAT,
                pointer=where + "/Type",
            )
        if attribute.Value is UNSET:
            raise InvalidEnvelope(
                "sns.attribute",
                "expected an attribute Value string, got it absent",
                format=FORMAT,
                pointer=where + "/Value",
            )
    return SnsMessage(view, body, headers, limits)


def _check_type(value: Any, where: str) -> None:
    if value not in MESSAGE_TYPES:
        raise InvalidEnvelope(
            "sns.message-type",
            f"expected a message type among {', '.join(MESSAGE_TYPES)}, got {value!r}",
            format=FORMAT,
            pointer=where,
        )
