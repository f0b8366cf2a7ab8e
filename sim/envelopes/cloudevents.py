"""CloudEvents 1.0 over HTTP: structured, batch and binary mode.

This module knows the CloudEvents core specification, its JSON event format
and its HTTP protocol binding; it reads bytes and headers and returns
:class:`CloudEvent` objects.  Each check below sits next to the sentence of
the specification it enforces.  It never invents ``id``, ``time`` or
``specversion``: an absent attribute stays absent or is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Union
from urllib.parse import unquote_to_bytes

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes._base import Batch, Envelope, member
from sim.envelopes._json import (
    _ZERO,
    ABSENT,
    ENCODER,
    Limits,
    batch_elements,
    check_header_size,
    check_rfc3339,
    check_utf8,
    decode,
    fits_exactly,
    object_members,
    pointer_join,
    require_text,
)
from sim.envelopes.errors import InvalidEnvelope
from sim.envelopes.payload import Payload

try:
    # The common event's checks in one compiled walk; see _speedups.c.
    from sim.envelopes import _speedups
except ImportError:  # built without a C compiler: the same checks in Python
    _speedups = None

FORMAT = "cloudevents"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"

_Text = Union[str, None, UnsetType]


class _View(msgspec.Struct, gc=False):
    """The members inspection reads.  Documented extensions are declared so
    that the common event proves itself free of duplicates in one walk.
    It holds strings and ``Raw`` only, so the cycle collector need not
    track it."""

    specversion: _Text = UNSET
    id: _Text = UNSET
    source: _Text = UNSET
    type: _Text = UNSET
    subject: _Text = UNSET
    # Raw, so the C parser checks it and the proof still sees its own bytes.
    time: Union[Raw, UnsetType] = UNSET
    datacontenttype: _Text = UNSET
    dataschema: _Text = UNSET
    data: Union[Raw, UnsetType] = UNSET
    data_base64: Union[Raw, UnsetType] = UNSET
    # Extensions documented beside the specification, all of type String.
    traceparent: _Text = UNSET
    tracestate: _Text = UNSET
    partitionkey: _Text = UNSET
    sequence: _Text = UNSET
    sequencetype: _Text = UNSET
    dataref: _Text = UNSET
    authtype: _Text = UNSET
    authid: _Text = UNSET
    recordedtime: _Text = UNSET


_DECODER = msgspec.json.Decoder(_View)
_TIME = msgspec.json.Decoder(Annotated[datetime, msgspec.Meta(tz=True)])
_TEXT_OR_NULL = msgspec.json.Decoder(Union[str, None])
# Below this size the view is encoded with its payload: copying a few KB
# costs less than swapping the payload out and back.
_COPY_BELOW = 4096
_new = object.__new__


def _payload_fields(view: _View) -> list[tuple[_View, str]]:
    return [(view, "data"), (view, "data_base64")]


_EXT_VALUE = msgspec.json.Decoder(Union[str, int, bool, None])
CONTEXT_ATTRIBUTES = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "dataschema",
)
_DECLARED_EXTENSIONS = tuple(_View.__struct_fields__[10:])
_NOT_EXTENSIONS = frozenset(_View.__struct_fields__[:10])
# Core spec, "Attribute Naming Convention": names MUST consist of lower-case
# letters ('a' to 'z') or digits ('0' to '9') from the ASCII character set.
_NAME = re.compile(r"[a-z0-9]+", re.ASCII)
_INT32 = (-(2**31), 2**31 - 1)


class CloudEvent(Envelope):
    """A CloudEvents 1.0 event, read in structured, batch or binary mode.

    Routing fields are the context attributes of the same names.  Attributes
    keep the three states: ``ABSENT`` (not sent), ``None`` (sent as JSON
    ``null``, which the specification treats as unset) and a string.
    ``mode`` says how it arrived: ``"structured"``, ``"batch"`` or
    ``"binary"``.
    """

    __slots__ = ("_view", "_extra", "_mode", "_body")
    format = FORMAT

    def __init__(
        self,
        view: _View,
        raw: Any,
        headers: Mapping[str, str] | None,
        limits: Limits,
        pointer: str = "",
        mode: str = "structured",
        extra: dict[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        self._view = view
        self._raw = raw
        self._headers = headers
        self._limits = limits
        self._pointer = pointer
        self._mode = mode
        self._extra = extra
        self._body = body

    @property
    def mode(self) -> str:
        """``"structured"``, ``"batch"`` or ``"binary"``."""
        return self._mode

    specversion = member("specversion")
    id = member("id")
    source = member("source")
    type = member("type")
    subject = member("subject")
    datacontenttype = member("datacontenttype")
    dataschema = member("dataschema")

    @property
    def time(self) -> Any:
        """``time`` as sent: an RFC 3339 string, ``None`` or ``ABSENT``."""
        time = self._view.time
        return time if time is UNSET else _TEXT_OR_NULL.decode(time)

    @property
    def extensions(self) -> dict[str, Any]:
        """Extension attributes that were sent, null ones as ``None``."""
        view = self._view
        out = {
            name: getattr(view, name)
            for name in _DECLARED_EXTENSIONS
            if getattr(view, name) is not UNSET
        }
        if self._extra:
            out.update(self._extra)
        return out

    @property
    def data(self) -> Payload | Any:
        """``data`` (kind ``json``), ``data_base64`` (kind ``base64``), the
        HTTP body in binary mode (kind ``bytes``), or ``ABSENT``."""
        view = self._view
        if self._body is not None:
            return Payload(
                self._body,
                "bytes",
                content_type=view.datacontenttype,
                format=FORMAT,
                pointer="",
                limits=self._limits,
            )
        if view.data is not UNSET:
            return Payload(
                view.data,
                "json",
                content_type=view.datacontenttype,
                format=FORMAT,
                pointer=self._pointer + "/data",
                limits=self._limits,
            )
        if view.data_base64 is not UNSET:
            return Payload(
                view.data_base64,
                "base64",
                content_type=view.datacontenttype,
                format=FORMAT,
                pointer=self._pointer + "/data_base64",
                limits=self._limits,
            )
        return ABSENT

    def fields(self) -> dict[str, Any]:
        view = self._view
        out = {
            name: getattr(self, name)
            for name in CONTEXT_ATTRIBUTES
            if getattr(view, name) is not UNSET
        }
        out["mode"] = self.mode
        return out


# -- structured mode -----------------------------------------------------------


if _speedups is not None:
    _ce_exact = _speedups.ce_exact
    #: ``fast_structured(body, headers, limits)`` returns a CloudEvent when
    #: the compiled walk proves it, else the decoded view or ``None``, which
    #: :func:`parse_structured` takes from there.  ``sim.envelopes._detect``
    #: configures it once this module is loaded.
    fast_structured = _speedups.ce_structured
else:
    _ce_exact = None

    def fast_structured(body: Any, headers: Any, limits: Limits) -> None:
        return None


def parse_structured(
    body: Any,
    headers: Mapping[str, str] | None,
    limits: Limits,
    pointer: str = "",
    mode: str = "structured",
    view: _View | None = None,
) -> CloudEvent:
    """Inspect one event in the JSON event format (``body`` is its text).

    One msgspec pass over the body, then the compiled walk of its top-level
    members (``_speedups.ce_exact``), which proves that the common event
    needs nothing more; what it does not prove, or everything when it is
    not compiled, goes through :func:`_check_view`.  ``view`` is the body
    already decoded, when the caller has it.  The public ``parse`` runs the
    same steps in C for a top-level event (``_speedups.ce_structured``) and
    comes here only with what they do not prove.
    """
    if view is None:
        if not pointer and not body.isascii():
            check_utf8(body, FORMAT)
        try:
            view = _DECODER.decode(body)
        except (msgspec.MsgspecError, RecursionError):
            view = decode(_DECODER, body, FORMAT, pointer)  # raises our error
    elif not body.isascii():
        check_utf8(body, FORMAT)
    extra = None
    if _ce_exact is None or not _ce_exact(body, view.data, view.data_base64):
        extra = _check_view(view, body, pointer)
    # Built slot by slot: a call to __init__ would cost as much as the walk.
    event = _new(CloudEvent)
    event._view = view
    event._raw = body
    event._headers = headers
    event._limits = limits
    event._pointer = pointer
    event._mode = mode
    event._extra = extra
    event._body = None
    return event


def _check_view(view: _View, body: Any, pointer: str) -> dict[str, Any] | None:
    """Every check the compiled walk makes, in Python, with precise errors.

    Returns the undeclared members (extension attributes), or ``None``.
    """
    # Prove there is no repeated or undeclared member (see _json).  A large
    # payload is swapped for a one-byte placeholder so it is not copied.
    size = len(body)
    data, data_b64 = view.data, view.data_base64
    if size <= _COPY_BELOW and data_b64 is UNSET:
        exact = len(ENCODER.encode(view)) == size
    else:
        extra_len = 0
        if data is not UNSET:
            view.data = _ZERO
            extra_len = len(data) - 1
        if data_b64 is not UNSET:
            view.data_base64 = _ZERO
            extra_len += len(data_b64) - 1
        exact = len(ENCODER.encode(view)) + extra_len == size
        view.data, view.data_base64 = data, data_b64
    if not exact:
        exact = fits_exactly(view, _payload_fields(view), body)
    extra = None if exact else _undeclared_members(body, pointer)

    # Core spec 3.1: specversion, id, source and type are REQUIRED, and the
    # last three MUST be non-empty strings.  One test covers the usual case.
    if view.specversion != "1.0" or not (view.id and view.source and view.type):
        _check_required(view, pointer)
    if view.subject == "" or view.datacontenttype == "" or view.dataschema == "":
        _check_optional(view, pointer)
    # "time": if present, MUST adhere to RFC 3339 (with an offset).
    if view.time is not UNSET:
        try:
            _TIME.decode(view.time)
            # msgspec also takes ISO 8601's "+0000"; RFC 3339 wants "+00:00".
            tail = bytes(memoryview(view.time)[-4:])
            offset_ok = tail[2:3] in (b"Z", b"z") or tail[:1] == b":"
        except msgspec.ValidationError:
            offset_ok = False
        if not offset_ok:
            _check_time(view.time, pointer)
    if data_b64 is not UNSET:
        _check_data(view, pointer)
    return extra


def _undeclared_members(body: Any, pointer: str) -> dict[str, Any]:
    buf = body if isinstance(body, bytes) else bytes(body)
    extra: dict[str, Any] = {}
    for name, (start, end) in object_members(buf, FORMAT, pointer).items():
        if name in _NOT_EXTENSIONS or name in _DECLARED_EXTENSIONS:
            continue
        where = _at(pointer, name)
        _check_extension_name(name, where)
        try:
            value = _EXT_VALUE.decode(memoryview(buf)[start:end])
        except msgspec.MsgspecError:
            raise InvalidEnvelope(
                "ce.extension-value",
                "expected an extension value that is a "
                "string, integer, boolean or null, got "
                f"{bytes(buf[start:end])[:40]!r}",
                format=FORMAT,
                pointer=where,
            ) from None
        _check_extension_value(value, where)
        extra[name] = value
    return extra


def _check_attributes(view: _View, pointer: str) -> None:
    _check_required(view, pointer)
    _check_optional(view, pointer)
    if view.time is not UNSET:
        _check_time(view.time, pointer)


def _check_time(raw: Raw, pointer: str) -> None:
    # The C parser refused it: null is unset, a leap second (:60) is valid
    # RFC 3339 that datetime cannot hold; anything else is an error.
    where = _at(pointer, "time")
    time = decode(_TEXT_OR_NULL, raw, FORMAT, where)
    if time is not None:
        check_rfc3339(time, FORMAT, where)


def _check_required(view: _View, pointer: str) -> None:
    # A null attribute means unset (JSON format 2.4), so null is as absent.
    if view.specversion != "1.0":
        where = _at(pointer, "specversion")
        if view.specversion is UNSET or view.specversion is None:
            require_text(view.specversion, FORMAT, where, "REQUIRED attribute")
        raise InvalidEnvelope(
            "ce.specversion",
            f'expected specversion "1.0", got {view.specversion!r}',
            format=FORMAT,
            pointer=where,
        )
    for name in ("id", "source", "type"):
        require_text(
            getattr(view, name), FORMAT, _at(pointer, name), "REQUIRED attribute"
        )


def _check_optional(view: _View, pointer: str) -> None:
    # subject, datacontenttype, dataschema: if present, MUST be non-empty.
    for name in ("subject", "datacontenttype", "dataschema"):
        if getattr(view, name) == "":
            require_text(
                "", FORMAT, _at(pointer, name), "OPTIONAL attribute, if present"
            )


def _at(pointer: str, name: str) -> str:
    # Binary mode reports the header an attribute came from.
    if pointer == _HEADERS:
        return f"headers/ce-{name}"
    return pointer_join(pointer, name)


def _check_data(view: _View, pointer: str) -> None:
    # JSON format 3.1: when "data_base64" is present "data" MUST NOT be.
    if view.data is not UNSET and view.data_base64 is not UNSET:
        raise InvalidEnvelope(
            "ce.data-conflict",
            "expected at most one of data and data_base64, got both",
            format=FORMAT,
            pointer=_at(pointer, "data_base64"),
        )
    # "data_base64" carries Binary data as a base64 JSON string.
    if view.data_base64 is not UNSET and memoryview(view.data_base64)[:1] != b'"':
        raise InvalidEnvelope(
            "ce.data-base64",
            "expected data_base64 to be a JSON string, got another JSON value",
            format=FORMAT,
            pointer=_at(pointer, "data_base64"),
        )


def _check_extension_name(name: str, where: str) -> None:
    if _NAME.fullmatch(name) is None:
        raise InvalidEnvelope(
            "ce.extension-name",
            "expected an attribute name of "
            f"lower-case letters a-z and digits 0-9, got {name!r}",
            format=FORMAT,
            pointer=where,
        )


def _check_extension_value(value: Any, where: str) -> None:
    # Type system: Integer is a 32-bit signed whole number.
    if type(value) is int and not _INT32[0] <= value <= _INT32[1]:
        raise InvalidEnvelope(
            "ce.extension-value",
            f"expected an Integer within 32 bits, got {value}",
            format=FORMAT,
            pointer=where,
        )


# -- batch mode ----------------------------------------------------------------


def parse_batch(
    body: bytes, headers: Mapping[str, str] | None, limits: Limits
) -> Batch:
    """Inspect a JSON array of events (may be empty)."""
    elements = batch_elements(body, FORMAT, limits, "events in a batch")
    events = [
        parse_structured(element, headers, limits, f"/{i}", "batch")
        for i, element in enumerate(elements)
    ]
    return Batch(events, FORMAT, body, headers)


# -- binary mode ---------------------------------------------------------------

_HEADERS = "headers"
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def parse_binary(
    body: bytes, headers: Mapping[str, str], limits: Limits, content_type: Any = ABSENT
) -> CloudEvent:
    """Read the attributes from ``ce-`` headers; the body is the data.

    ``headers`` must have lower-case names (:func:`sim.envelopes.parse` does
    this and refuses two headers that differ only in case).
    """
    attributes: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in headers.items():
        if not name.startswith("ce-"):
            continue
        attribute = name[3:]
        where = f"headers/{name}"
        _check_extension_name(attribute, where)
        text = _percent_decode(value, where, limits)
        # HTTP binding 3.1.3: datacontenttype maps to Content-Type, not ce-.
        if attribute == "datacontenttype" or attribute in ("data", "data_base64"):
            raise InvalidEnvelope(
                "ce.binary-header",
                f"expected {attribute} to travel outside ce- headers, got {name}",
                format=FORMAT,
                pointer=where,
            )
        if attribute == "time":
            attributes[attribute] = Raw(msgspec.json.encode(text))
        elif attribute in CONTEXT_ATTRIBUTES:
            attributes[attribute] = text
        elif attribute in _DECLARED_EXTENSIONS:
            attributes[attribute] = text
        else:
            extra[attribute] = text
    attributes["datacontenttype"] = content_type
    view = _View(**attributes)
    _check_attributes(view, _HEADERS)
    has_body = len(body) > 0 or content_type is not ABSENT
    return CloudEvent(
        view, body, headers, limits, "", "binary", extra, body if has_body else None
    )


def _percent_decode(value: str, where: str, limits: Limits) -> str:
    # HTTP binding 3.1.3.2: values are percent-encoded UTF-8; decoding MUST
    # fail on anything that is not valid UTF-8 after unescaping.
    check_header_size(value, limits, FORMAT, where)
    if not value.isascii():
        raise InvalidEnvelope(
            "ce.header-encoding",
            f"expected a percent-encoded ASCII header value, got {value[:40]!r}",
            format=FORMAT,
            pointer=where,
        )
    if "%" not in value:
        return value
    if _PERCENT.search(value):
        raise InvalidEnvelope(
            "ce.header-encoding",
            f"expected % to start a two-digit hex escape, got {value[:40]!r}",
            format=FORMAT,
            pointer=where,
        )
    try:
        return unquote_to_bytes(value).decode("utf-8", "strict")
    except UnicodeDecodeError:
        raise InvalidEnvelope(
            "ce.header-encoding",
            f"expected percent-escapes that decode to UTF-8, got {value[:40]!r}",
            format=FORMAT,
            pointer=where,
        ) from None
