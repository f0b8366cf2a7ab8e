"""What every envelope shares: routing fields, raw bytes, payload, unwrap.

A format module subclasses :class:`Envelope` and fills in the routing
properties from its own view; nothing here knows any format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from sim.envelopes._json import ABSENT, Limits
from sim.envelopes.errors import EnvelopeError, InvalidEnvelope
from sim.envelopes.payload import Payload

ROUTING_FIELDS = ("id", "type", "source", "subject", "time")


class Envelope:
    """One event as delivered, inspected but not decoded.

    The routing fields ``id``, ``type``, ``source``, ``subject`` and ``time``
    are the format's own members under a common name (each format's class
    documents the mapping).  A field the sender did not send is ``ABSENT``; a
    field sent as JSON ``null`` is ``None``; an empty string stays ``""``.

    Attributes
    ----------
    format : str
        ``cloudevents``, ``eventgrid``, ``sns``, ``pubsub``, ``eventbridge``
        or ``servicebus``.
    """

    __slots__ = ("_raw", "_headers", "_limits", "_pointer")
    format: ClassVar[str] = "envelope"

    def __init__(
        self, raw: Any, headers: Mapping[str, str] | None, limits: Limits, pointer: str
    ) -> None:
        self._raw = raw
        self._headers = headers
        self._limits = limits
        self._pointer = pointer

    @property
    def headers(self) -> dict[str, str]:
        """The request headers, names lower-cased (empty when none were given).

        Built on access.  Names that differ only in case, which ``parse``
        refuses except on the structured fast path, are combined here as
        HTTP combines repeated fields: values joined with ", ".
        """
        return combined_headers(self._headers)

    id = type = source = subject = time = property(lambda self: ABSENT)

    @property
    def raw(self) -> memoryview:
        """This envelope's bytes exactly as received (a view, not a copy)."""
        raw = self._raw
        return raw if isinstance(raw, memoryview) else memoryview(raw)

    @property
    def data(self) -> Payload | Any:
        """The payload, undecoded, or ``ABSENT`` when none was sent."""
        return ABSENT

    @property
    def extensions(self) -> dict[str, Any]:
        """Attributes outside the format's own set (CloudEvents extensions,
        message attributes); empty when there are none."""
        return {}

    def fields(self) -> dict[str, Any]:
        """The format-specific fields that were sent, by their wire names.

        Absent members are left out, null ones are ``None``; the payload is
        not included (see :attr:`data`).
        """
        return {}

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description: format, routing fields, fields,
        extensions and the payload's kind and size."""
        out: dict[str, Any] = {"format": self.format}
        for name in ROUTING_FIELDS:
            value = getattr(self, name)
            if value is not ABSENT:
                out[name] = value
        out["fields"] = self.fields()
        out["extensions"] = self.extensions
        data = self.data
        if data is not ABSENT:
            out["data"] = {"kind": data.kind, "bytes": data.raw.nbytes}
            if data.content_type is not ABSENT:
                out["data"]["content_type"] = data.content_type
        return out

    def unwrap(self) -> Envelope | Batch:
        """Parse the payload as an envelope of its own.

        For an SNS message carrying a CloudEvent or an EventBridge event, or
        a CloudEvent whose data is Eventarc's Pub/Sub push wrapper.  The inner
        format is told by the payload's shape, within the same limits.
        """
        from sim.envelopes._detect import parse  # the formats import this module

        data = self.data
        if data is ABSENT:
            raise InvalidEnvelope(
                "unwrap.no-payload",
                "expected a payload to unwrap, got none",
                format=self.format,
                pointer=self._pointer,
            )
        try:
            return parse(data.bytes(), limits=self._limits)
        except EnvelopeError as exc:
            raise InvalidEnvelope(
                "unwrap.not-envelope",
                f"expected the payload to be an envelope, got: {exc}",
                format=self.format,
                pointer=self._pointer,
            ) from exc

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{n}={getattr(self, n)!r}"
            for n in ROUTING_FIELDS
            if getattr(self, n) is not ABSENT
        )
        return f"{type(self).__name__}({shown})"


def member(name: str) -> property:
    """A read-only property giving the view's member ``name``."""
    return property(
        lambda self: getattr(self._view, name),
        doc=f"``{name}`` as sent: a value, ``None`` or ``ABSENT``.",
    )


class ViewEnvelope(Envelope):
    """An envelope read from a JSON object into a msgspec view."""

    __slots__ = ("_view",)

    def __init__(
        self,
        view: Any,
        raw: Any,
        headers: Mapping[str, str] | None,
        limits: Limits,
        pointer: str = "",
    ) -> None:
        super().__init__(raw, headers, limits, pointer)
        self._view = view


class HeaderEnvelope(Envelope):
    """A delivery whose body is the payload, untouched, and whose metadata is
    in headers starting with ``prefix`` (SNS raw delivery, Pub/Sub
    unwrapped push)."""

    __slots__ = ()
    prefix: ClassVar[str] = ""

    @property
    def data(self) -> Payload:
        return Payload(
            self._raw,
            "bytes",
            content_type=self.headers.get("content-type", ABSENT),
            format=self.format,
            limits=self._limits,
        )

    def fields(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.headers.items()
            if name.startswith(self.prefix)
        }


def header(name: str) -> property:
    """A read-only property giving header ``name`` or ``ABSENT``."""
    return property(
        lambda self: self.headers.get(name, ABSENT),
        doc=f"The ``{name}`` header, or ``ABSENT``.",
    )


class Batch(Sequence):
    """Envelopes that arrived together, each keeping its own class and fields.

    Attributes
    ----------
    format : str
        The format of the container (elements may differ, e.g. an Event Grid
        array holds validation and notification events side by side).
    """

    __slots__ = ("_items", "format", "_raw", "_headers")

    def __init__(
        self,
        items: Sequence[Envelope],
        format: str,
        raw: Any,
        headers: Mapping[str, str] | None,
    ) -> None:
        self._items = tuple(items)
        self.format = format
        self._raw = raw
        self._headers = headers

    headers = Envelope.headers

    @property
    def raw(self) -> memoryview:
        """The whole body exactly as received."""
        return memoryview(self._raw)

    def __getitem__(self, index):  # type: ignore[override]
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Envelope]:
        return iter(self._items)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description of the batch and of every element."""
        return {
            "format": self.format,
            "batch": True,
            "events": [item.summary() for item in self._items],
        }

    def __repr__(self) -> str:
        return f"Batch({self.format!r}, {len(self._items)} envelopes)"


def combined_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Header names lower-cased, values of repeated names joined (RFC 9110)."""
    lowered: dict[str, str] = {}
    for name, value in (headers or {}).items():
        name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        key = name.lower()
        lowered[key] = f"{lowered[key]}, {value}" if key in lowered else value
    return lowered


def lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Header names lower-cased; refuses names that repeat ignoring case."""
    if not headers:
        return {}
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidEnvelope(
                "envelope.header",
                "expected header names and "
                f"values as str, got {type(name).__name__}: "
                f"{type(value).__name__}",
                pointer="headers",
            )
        key = name.lower()
        if key in lowered:
            raise InvalidEnvelope(
                "envelope.header",
                f"expected each header once, got {name!r} twice (names ignore case)",
                pointer=f"headers/{key}",
            )
        lowered[key] = value
    return lowered
