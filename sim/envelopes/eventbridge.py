"""Amazon EventBridge events, as a target or an SNS message receives them.

This module knows the EventBridge event structure: ``detail-type``,
``source`` and ``detail`` routed on, plus ``id``, ``time``, ``account``,
``region``, ``resources`` and ``version``.  ``detail`` is the payload; it is
usually an object, may be ``{}``, and is occasionally a JSON string, which
stays a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes._base import ViewEnvelope, member
from sim.envelopes._json import (
    Limits,
    check_rfc3339,
    check_utf8,
    inspect_object,
    require_text,
)
from sim.envelopes.errors import InvalidEnvelope
from sim.envelopes.payload import Payload

FORMAT = "eventbridge"

_Text = Union[str, None, UnsetType]


class _View(msgspec.Struct):
    version: _Text = UNSET
    id: _Text = UNSET
    detail_type: _Text = msgspec.field(name="detail-type", default=UNSET)
    source: _Text = UNSET
    account: _Text = UNSET
    time: _Text = UNSET
    region: _Text = UNSET
    resources: Union[list[str], None, UnsetType] = UNSET
    detail: Union[Raw, UnsetType] = UNSET


_DECODER = msgspec.json.Decoder(_View)
_WIRE = (
    ("version", "version"),
    ("id", "id"),
    ("detail-type", "detail_type"),
    ("source", "source"),
    ("account", "account"),
    ("time", "time"),
    ("region", "region"),
    ("resources", "resources"),
)


class EventBridgeEvent(ViewEnvelope):
    """An EventBridge event.

    Routing fields: ``id``, ``type`` = ``detail-type``, ``source``,
    ``subject`` is ABSENT (EventBridge has none; ``resources`` lists the
    ARNs concerned), ``time``.  The payload is ``detail`` (kind ``json``).
    """

    __slots__ = ()
    format = FORMAT

    id = member("id")
    type = detail_type = member("detail_type")
    source = member("source")
    time = member("time")
    account = member("account")
    region = member("region")
    resources = member("resources")
    version = member("version")

    @property
    def data(self) -> Payload:
        return Payload(
            self._view.detail,
            "json",
            format=FORMAT,
            pointer="/detail",
            limits=self._limits,
        )

    def fields(self) -> dict[str, Any]:
        view = self._view
        return {
            wire: getattr(view, name)
            for wire, name in _WIRE
            if getattr(view, name) is not UNSET
        }


def parse_event(
    body: bytes, headers: Mapping[str, str] | None, limits: Limits
) -> EventBridgeEvent:
    """Inspect one EventBridge event."""
    check_utf8(body, FORMAT)
    view, _ = inspect_object(_DECODER, body, FORMAT, "", ("detail",))
    if not (view.id and view.detail_type and view.source and view.time):
        for wire, name in (
            ("id", "id"),
            ("detail-type", "detail_type"),
            ("source", "source"),
            ("time", "time"),
        ):
            require_text(
                getattr(view, name),
                FORMAT,
                f"/{wire}",
                "part of every EventBridge event",
            )
    check_rfc3339(view.time, FORMAT, "/time")
    if view.detail is UNSET:
        raise InvalidEnvelope(
            "envelope.required",
            "expected detail (which may be {}), got it absent",
            format=FORMAT,
            pointer="/detail",
        )
    return EventBridgeEvent(view, body, headers, limits)
