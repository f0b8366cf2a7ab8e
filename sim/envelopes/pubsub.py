"""Google Cloud Pub/Sub push delivery, wrapped and unwrapped.

This module knows the JSON body a push subscription posts (a ``message``
with base64 ``data``, string ``attributes``, ids and times, plus the
``subscription`` and, with dead-lettering, ``deliveryAttempt``), the
snake_case spellings of the id and time that may appear beside the camelCase
ones, and unwrapped push, where the body is the message data and metadata
travels in ``x-goog-pubsub-*`` headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes._base import HeaderEnvelope, ViewEnvelope, header, member
from sim.envelopes._json import (
    ABSENT,
    Limits,
    check_rfc3339,
    check_utf8,
    inspect_object,
    require_text,
)
from sim.envelopes.errors import InvalidEnvelope
from sim.envelopes.payload import Payload

FORMAT = "pubsub"
#: Types Eventarc gives a CloudEvent whose data is a Pub/Sub push body.
EVENTARC_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"

_Text = Union[str, None, UnsetType]


class _Message(msgspec.Struct):
    data: Union[Raw, UnsetType] = UNSET
    attributes: Union[dict[str, str], None, UnsetType] = UNSET
    messageId: _Text = UNSET
    message_id: _Text = UNSET
    publishTime: _Text = UNSET
    publish_time: _Text = UNSET
    orderingKey: _Text = UNSET


class _View(msgspec.Struct):
    message: Union[_Message, None, UnsetType] = UNSET
    subscription: _Text = UNSET
    deliveryAttempt: Union[int, None, UnsetType] = UNSET


_DECODER = msgspec.json.Decoder(_View)
_MESSAGE_FIELDS = tuple(n for n in _Message.__struct_fields__ if n != "data")


class PubSubPush(ViewEnvelope):
    """A wrapped push delivery from a Pub/Sub subscription.

    Routing fields: ``id`` = ``message.messageId`` (or ``message_id``),
    ``type`` is ABSENT (Pub/Sub has none; route on ``attributes``),
    ``source`` = ``subscription``, ``subject`` = ``message.orderingKey``,
    ``time`` = ``message.publishTime`` (or ``publish_time``).  The payload
    is ``message.data`` (kind ``base64``), ABSENT when not sent.
    """

    __slots__ = ()
    format = FORMAT

    @property
    def id(self) -> Any:
        message = self._view.message
        return (
            message.messageId if message.messageId is not UNSET else message.message_id
        )

    @property
    def time(self) -> Any:
        message = self._view.message
        return (
            message.publishTime
            if message.publishTime is not UNSET
            else message.publish_time
        )

    source = subscription = member("subscription")
    delivery_attempt = member("deliveryAttempt")

    @property
    def subject(self) -> Any:
        """``message.orderingKey`` (also :attr:`ordering_key`)."""
        return self._view.message.orderingKey

    ordering_key = subject

    @property
    def attributes(self) -> dict[str, str] | Any:
        """``message.attributes``: a dict, ``None`` if null, or ABSENT."""
        return self._view.message.attributes

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self._view.message.attributes or {})

    @property
    def data(self) -> Payload | Any:
        raw = self._view.message.data
        if raw is UNSET:
            return ABSENT
        return Payload(
            raw,
            "base64",
            format=FORMAT,
            pointer=self._pointer + "/message/data",
            limits=self._limits,
        )

    def fields(self) -> dict[str, Any]:
        view, message = self._view, self._view.message
        inner = {
            name: getattr(message, name)
            for name in _MESSAGE_FIELDS
            if getattr(message, name) is not UNSET
        }
        out: dict[str, Any] = {"message": inner}
        for name in ("subscription", "deliveryAttempt"):
            if getattr(view, name) is not UNSET:
                out[name] = getattr(view, name)
        return out


class PubSubUnwrapped(HeaderEnvelope):
    """An unwrapped push delivery: the body is the message data itself.

    With "write metadata" on, ``id``, ``time``, ``source`` and ``subject``
    come from ``x-goog-pubsub-message-id``, ``-publish-time``,
    ``-subscription-name`` and ``-ordering-key``; without it they are ABSENT.
    Message attributes arrive as ordinary headers and cannot be told apart
    from the others, so they are left in :attr:`headers`.
    """

    __slots__ = ()
    format = FORMAT
    prefix = "x-goog-pubsub-"

    id = header("x-goog-pubsub-message-id")
    time = header("x-goog-pubsub-publish-time")
    source = header("x-goog-pubsub-subscription-name")
    subject = header("x-goog-pubsub-ordering-key")


def parse_push(
    body: Any, headers: Mapping[str, str] | None, limits: Limits, pointer: str = ""
) -> PubSubPush:
    """Inspect a wrapped push body."""
    check_utf8(body, FORMAT)
    view, _ = inspect_object(
        _DECODER, body, FORMAT, pointer, ("message/data",), ("message/attributes",)
    )
    message = view.message
    if not isinstance(message, _Message):
        raise InvalidEnvelope(
            "envelope.required",
            "expected a message object, got "
            + ("it absent" if message is UNSET else "null"),
            format=FORMAT,
            pointer=pointer + "/message",
        )
    require_text(
        view.subscription, FORMAT, pointer + "/subscription", "sent with every push"
    )
    _one_of(message, "messageId", "message_id", pointer)
    _one_of(message, "publishTime", "publish_time", pointer)
    check_rfc3339(message.publishTime, FORMAT, pointer + "/message/publishTime")
    check_rfc3339(message.publish_time, FORMAT, pointer + "/message/publish_time")
    if message.data is not UNSET and memoryview(message.data)[:1] != b'"':
        raise InvalidEnvelope(
            "pubsub.data",
            "expected message.data to be a base64 JSON string, got another JSON value",
            format=FORMAT,
            pointer=pointer + "/message/data",
        )
    return PubSubPush(view, body, headers, limits, pointer)


def _one_of(message: _Message, camel: str, snake: str, pointer: str) -> None:
    # Push bodies may carry both spellings; they must then agree.
    first, second = getattr(message, camel), getattr(message, snake)
    if first is UNSET:
        require_text(
            second,
            FORMAT,
            f"{pointer}/message/{camel}",
            f"sent with every message, as {camel} or {snake}",
        )
        return
    require_text(first, FORMAT, f"{pointer}/message/{camel}", "sent with every message")
    if second is not UNSET and second != first:
        raise InvalidEnvelope(
            "pubsub.mismatch",
            f"expected {snake} to equal {camel} {first!r}, got {second!r}",
            format=FORMAT,
            pointer=f"{pointer}/message/{snake}",
        )


def parse_unwrapped(
    body: bytes, headers: Mapping[str, str], limits: Limits
) -> PubSubUnwrapped:
    """Take an unwrapped push delivery; the body is not read."""
    time = headers.get("x-goog-pubsub-publish-time")
    if time is not None:
        check_rfc3339(time, FORMAT, "headers/x-goog-pubsub-publish-time")
    return PubSubUnwrapped(body, headers, limits, "")
