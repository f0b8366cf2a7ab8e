"""Azure Event Grid's own event schema, delivered to a webhook.

This module knows the Event Grid event schema (an array of events), the
``aeg-event-type`` header and the two system events a webhook must act on:
the subscription validation handshake and the subscription deletion.
Event Grid's CloudEvents mode is plain CloudEvents and is read by
:mod:`sim.envelopes.cloudevents`; its OPTIONS handshake is in
:mod:`sim.envelopes.handshakes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes._base import Batch, ViewEnvelope, header, member
from sim.envelopes._json import (
    ABSENT,
    Limits,
    batch_elements,
    check_rfc3339,
    decode,
    inspect_object,
    pointer_join,
    require_text,
)
from sim.envelopes.errors import InvalidEnvelope
from sim.envelopes.payload import Payload

FORMAT = "eventgrid"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
DELETION_EVENT = "Microsoft.EventGrid.SubscriptionDeletedEvent"
#: Values of the ``aeg-event-type`` header.
DELIVERY_KINDS = ("Notification", "SubscriptionValidation", "SubscriptionDeletion")

_Text = Union[str, None, UnsetType]


class _View(msgspec.Struct):
    id: _Text = UNSET
    topic: _Text = UNSET
    subject: _Text = UNSET
    eventType: _Text = UNSET
    eventTime: _Text = UNSET
    data: Union[Raw, UnsetType] = UNSET
    dataVersion: _Text = UNSET
    metadataVersion: _Text = UNSET


_DECODER = msgspec.json.Decoder(_View)
_WIRE_FIELDS = tuple(n for n in _View.__struct_fields__ if n != "data")


class _ValidationData(msgspec.Struct):
    validationCode: Union[str, UnsetType] = UNSET
    validationUrl: Union[str, None, UnsetType] = UNSET


_VALIDATION = msgspec.json.Decoder(_ValidationData)


class EventGridEvent(ViewEnvelope):
    """One event of the Event Grid schema.

    Routing fields: ``id``, ``type`` = ``eventType``, ``source`` = ``topic``,
    ``subject``, ``time`` = ``eventTime``.  ``delivery`` is the
    ``aeg-event-type`` header (``ABSENT`` when it was not sent).
    """

    __slots__ = ()
    format = FORMAT

    id = member("id")
    type = event_type = member("eventType")
    source = topic = member("topic")
    subject = member("subject")
    time = member("eventTime")
    data_version = member("dataVersion")
    metadata_version = member("metadataVersion")
    delivery = header("aeg-event-type")

    @property
    def is_validation(self) -> bool:
        """True for the subscription validation handshake event."""
        return self._view.eventType == VALIDATION_EVENT

    @property
    def is_deletion(self) -> bool:
        """True for the event that announces the subscription was deleted."""
        return self._view.eventType == DELETION_EVENT

    @property
    def data(self) -> Payload | Any:
        if self._view.data is UNSET:
            return ABSENT
        return Payload(
            self._view.data,
            "json",
            format=FORMAT,
            pointer=self._pointer + "/data",
            limits=self._limits,
        )

    def validation_code(self) -> str:
        """The ``validationCode`` of a validation event (decodes ``data``)."""
        where = self._pointer + "/data/validationCode"
        if not self.is_validation:
            raise InvalidEnvelope(
                "eventgrid.not-validation",
                f"expected eventType {VALIDATION_EVENT}, got {self._view.eventType!r}",
                format=FORMAT,
                pointer=self._pointer + "/eventType",
            )
        data = self.data
        if data is ABSENT or data.raw[:1] != b"{":
            raise InvalidEnvelope(
                "envelope.type",
                "expected data to be an object, got none or another JSON value",
                format=FORMAT,
                pointer=self._pointer + "/data",
            )
        data.json()  # the same strict rules as any payload
        body = decode(_VALIDATION, data.raw, FORMAT, self._pointer + "/data")
        require_text(body.validationCode, FORMAT, where, "validation handshake")
        return body.validationCode

    def fields(self) -> dict[str, Any]:
        view = self._view
        out = {
            name: getattr(view, name)
            for name in _WIRE_FIELDS
            if getattr(view, name) is not UNSET
        }
        if "aeg-event-type" in self.headers:
            out["aeg-event-type"] = self.headers["aeg-event-type"]
        return out


def parse_events(
    body: bytes, headers: Mapping[str, str] | None, limits: Limits
) -> Batch:
    """Inspect an Event Grid delivery: a JSON array of events."""
    headers = headers or {}
    delivery = headers.get("aeg-event-type")
    if delivery is not None and delivery not in DELIVERY_KINDS:
        raise InvalidEnvelope(
            "eventgrid.delivery",
            f"expected aeg-event-type to "
            f"be one of {', '.join(DELIVERY_KINDS)}, got "
            f"{delivery!r}",
            format=FORMAT,
            pointer="headers/aeg-event-type",
        )
    elements = batch_elements(body, FORMAT, limits, "events")
    events = []
    for index, element in enumerate(elements):
        pointer = f"/{index}"
        view, _ = inspect_object(_DECODER, element, FORMAT, pointer, ("data",))
        if not (view.id and view.eventType):
            for name in ("id", "eventType"):
                require_text(
                    getattr(view, name),
                    FORMAT,
                    pointer_join(pointer, name),
                    "required by the Event Grid schema",
                )
        # subject is required but may be empty (the validation event's is).
        if view.subject is UNSET or view.subject is None:
            require_text(
                view.subject,
                FORMAT,
                pointer + "/subject",
                "required by the Event Grid schema, though it may be ''",
            )
        require_text(
            view.eventTime,
            FORMAT,
            pointer + "/eventTime",
            "required by the Event Grid schema",
        )
        check_rfc3339(view.eventTime, FORMAT, pointer + "/eventTime")
        events.append(EventGridEvent(view, element, headers, limits, pointer))
    return Batch(events, FORMAT, body, headers)
