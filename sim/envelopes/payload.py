"""What an envelope carries, kept as the bytes that arrived until asked.

A :class:`Payload` never decodes anything on construction.  Its ``raw`` is a
zero-copy ``memoryview`` of the input where the format allows it; the
``kind`` says how those bytes encode the payload:

``json``
    a JSON value embedded in the envelope (CloudEvents ``data``, Event Grid
    ``data``, EventBridge ``detail``).  A JSON string stays a string: it is
    never parsed a second time.
``string``
    a JSON string whose *content* is the payload (SNS ``Message``, a Service
    Bus batch ``Body``).
``base64``
    a JSON string holding base64 (CloudEvents ``data_base64``, Pub/Sub
    ``data``).  It is bytes and is never assumed to be JSON.
``bytes``
    opaque bytes taken as they came (an HTTP body in CloudEvents binary
    mode, SNS raw delivery, Pub/Sub unwrapped push, a Service Bus message).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import msgspec

from sim.envelopes._json import (
    ABSENT,
    DEFAULT_LIMITS,
    Limits,
    _Duplicate,
    check_utf8,
    deeper_than,
    member_count,
    reject_duplicate_pairs,
)
from sim.envelopes.errors import LimitExceeded, PayloadError

KINDS = ("json", "string", "base64", "bytes")
_STR = msgspec.json.Decoder(str)
_ANY = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


class Payload:
    """The payload of one envelope, undecoded.

    Attributes
    ----------
    raw : memoryview
        The payload's bytes exactly as received (for ``json``, ``string`` and
        ``base64`` kinds, the JSON text including any quotes).
    kind : str
        One of ``"json"``, ``"string"``, ``"base64"``, ``"bytes"``.
    content_type : str or ABSENT
        The media type the envelope declared for the payload, if any.
    """

    __slots__ = ("raw", "kind", "content_type", "_format", "_pointer", "_limits")

    def __init__(
        self,
        raw: Any,
        kind: str,
        *,
        content_type: Any = ABSENT,
        format: str = "envelope",
        pointer: str = "",
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.raw = raw if isinstance(raw, memoryview) else memoryview(raw)
        self.kind = kind
        self.content_type = content_type
        self._format = format
        self._pointer = pointer
        self._limits = limits

    def __repr__(self) -> str:
        return (
            f"Payload(kind={self.kind!r}, {self.raw.nbytes} bytes, "
            f"content_type={self.content_type!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Payload):
            return NotImplemented
        return (
            self.kind == other.kind
            and self.raw == other.raw
            and self.content_type == other.content_type
        )

    __hash__ = None  # type: ignore[assignment]

    def is_null(self) -> bool:
        """True when the payload is the JSON literal ``null`` (not absent)."""
        return self.kind == "json" and self.raw == b"null"

    def bytes(self) -> bytes:
        """The payload as the bytes a receiver of it alone would get.

        ``base64`` is decoded strictly (RFC 4648 alphabet, padding required);
        a ``string`` or a JSON string value gives its UTF-8 encoding; any
        other ``json`` value gives its JSON text.
        """
        if self.kind == "bytes":
            return bytes(self.raw)
        if self.kind == "base64":
            return self._base64()
        if self.kind == "string" or self.raw[:1] == b'"':
            return self._string().encode("utf-8", "surrogatepass")
        return bytes(self.raw)

    def text(self) -> str:
        """The payload as text: decoded strings, or UTF-8 decoded bytes."""
        if self.kind == "string" or (self.kind == "json" and self.raw[:1] == b'"'):
            return self._string()
        data = self.bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(
                "payload.utf8",
                f"expected UTF-8 text, got invalid "
                f"byte(s) at offset {exc.start}: {exc.reason}",
            )

    def json(self, *, strict: bool = True) -> Any:
        """Decode the payload as JSON, within the envelope's limits.

        A ``json`` payload is its embedded value (a JSON string comes back as
        ``str``, never parsed again); the other kinds are parsed as a JSON
        document.  Nesting deeper than ``Limits.max_depth`` is refused by the
        decoder before it recurses further.  With ``strict`` (the default)
        repeated member names anywhere are refused too, at the cost of a
        second pass; ``strict=False`` keeps the last value, as msgspec does.
        """
        if self.kind == "json":
            return self._document(self.raw, strict)
        if self.kind == "string":
            return self._document(self._string().encode("utf-8"), strict)
        return self._document(self.bytes(), strict)

    # -- helpers --------------------------------------------------------------

    def _error(self, code: str, detail: str, pointer: str = "") -> PayloadError:
        return PayloadError(
            code, detail, format=self._format, pointer=self._pointer + pointer
        )

    def _string(self) -> str:
        try:
            return _STR.decode(self.raw)
        except msgspec.MsgspecError as exc:
            raise self._error(
                "payload.string", f"expected a JSON string, got {exc}"
            ) from None

    def _base64(self) -> bytes:
        text = self._string()
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise self._error(
                "payload.base64",
                f"expected standard base64 with "
                f"padding, got {len(text)} characters that are not: "
                f"{exc}",
            ) from None

    def _document(self, buf: Any, strict: bool) -> Any:
        check_utf8(buf, self._format, self._pointer)
        depth = self._limits.max_depth
        if deeper_than(buf, depth):
            raise LimitExceeded(
                "limit.depth",
                f"expected at most {depth} levels of nesting, got more",
                format=self._format,
                pointer=self._pointer,
            )
        try:
            value = _ANY.decode(buf)
        except msgspec.ValidationError as exc:
            raise self._error(
                "json.number", f"expected numbers a float can hold, got {exc}"
            ) from None
        except msgspec.DecodeError as exc:
            raise self._error("json.syntax", f"expected JSON, got {exc}") from None
        except RecursionError:  # only when the caller's own stack is deep
            raise LimitExceeded(
                "limit.depth",
                "expected nesting the decoder can "
                "follow from this call depth, got more",
                format=self._format,
                pointer=self._pointer,
            ) from None
        if strict and member_count(buf) != member_count(_ENCODER.encode(value)):
            self._name_duplicate(bytes(buf))
        return value

    def _name_duplicate(self, buf: bytes) -> None:
        # A name repeats somewhere.  The text is valid, UTF-8 and within the
        # depth bound, so the standard library's scanner, slower but able to
        # see pairs, can only stop at that name.
        try:
            json.loads(buf, object_pairs_hook=reject_duplicate_pairs)
        except _Duplicate as exc:
            raise self._error(
                "json.duplicate-key",
                "expected each member name "
                f"once, got {exc.name!r} more than once in one "
                "object",
            ) from None
        raise self._error(
            "json.duplicate-key",
            "expected each member name once, got fewer members decoded than written",
        )
