"""JSON machinery shared by every format: limits, decoding, duplicate keys.

This module knows JSON and msgspec, and nothing of any envelope format.  It
turns every failure of the decoder into an :class:`EnvelopeError` with a JSON
pointer, and it proves that an object has no duplicate member names without
looking at the payload twice:

* **fast path** -- a view decoded from a compact object re-encodes (payloads
  swapped for a one-byte placeholder) to exactly the length of the text it
  came from.  msgspec writes strings, integers, booleans and null in their
  shortest form, so a repeated member, an unknown member or a single byte of
  white space would make the source longer.  Equal lengths therefore prove
  there is none of them, at the cost of encoding the small envelope only.
* **small indented objects** -- the same proof against the source's length
  less its white space outside strings, counted with byte operations.
* **slow path** -- otherwise the object is decoded once more as a mapping of
  member name to :class:`msgspec.Raw` and its members are walked in order.
  Each value is skipped by the length of its ``Raw``; the ``Raw`` kept under a
  name is the *last* value given for it, so an earlier duplicate shows up as
  a value that does not match, or as the name coming back.
"""

from __future__ import annotations

import calendar
import codecs
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Raw, UnsetType

from sim.envelopes.errors import (
    InvalidEnvelope,
    LimitExceeded,
    MalformedJSON,
    escape_pointer_token,
)

try:
    from sim.envelopes._speedups import array_length
except ImportError:  # built without a C compiler
    array_length = None

#: The value of a member or header that was not sent at all.  ``None`` means
#: the sender wrote JSON ``null``; ``""`` means it sent an empty string.
ABSENT = UNSET
Absent = UnsetType


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied before anything is decoded.

    Parameters
    ----------
    max_bytes : int
        Largest body accepted (16 MiB by default; SNS caps messages at
        256 KiB, Event Grid events at 1 MB, Pub/Sub at 10 MB).
    max_depth : int
        Deepest nesting of arrays and objects a payload may have when it is
        decoded (128, as serde_json).  Inspection itself never descends into
        a payload; the decoder's guarded recursion bounds it there.
    max_batch : int
        Most elements accepted in one batch or array of events.
    max_header_bytes : int
        Longest header value read as JSON or percent-decoded (64 KiB).
    """

    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = 128
    max_batch: int = 10_000
    max_header_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_batch", "max_header_bytes"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = Limits()

_WS = b" \t\n\r"
_ZERO = Raw(b"0")
ENCODER = msgspec.json.Encoder()
_RAW_OBJECT = msgspec.json.Decoder(dict[str, Raw])
_RAW_ARRAY = msgspec.json.Decoder(list[Raw])
_KEY = re.compile(rb'[ \t\n\r]*"([^"\\]*(?:\\.[^"\\]*)*)"[ \t\n\r]*:[ \t\n\r]*')
_AFTER_VALUE = re.compile(rb"[ \t\n\r]*([,}\]])")
_AT = re.compile(r" - at `\$(.*)`$")
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|(\[\.\.\.\])")
_BYTE = re.compile(r"\(byte (\d+)\)")


def pointer_join(pointer: str, token: str | int) -> str:
    """Append one reference token to a JSON pointer."""
    if isinstance(token, int):
        return f"{pointer}/{token}"
    return f"{pointer}/{escape_pointer_token(token)}"


def check_size(body: bytes, limits: Limits, fmt: str) -> None:
    """Refuse a body larger than ``limits.max_bytes`` before reading it."""
    size = body.nbytes if isinstance(body, memoryview) else len(body)
    if size > limits.max_bytes:
        raise LimitExceeded(
            "limit.size",
            f"expected at most {limits.max_bytes} bytes, got {size}",
            format=fmt,
        )


def check_header_size(value: str, limits: Limits, fmt: str, where: str) -> None:
    """Refuse a header longer than ``limits.max_header_bytes``."""
    if len(value) > limits.max_header_bytes:
        raise LimitExceeded(
            "limit.size",
            "expected a header of at most "
            f"{limits.max_header_bytes} bytes, got {len(value)}",
            format=fmt,
            pointer=where,
        )


def check_utf8(body: Any, fmt: str, pointer: str = "") -> None:
    """Refuse bytes that are not strict UTF-8 (RFC 8259, section 8.1).

    msgspec checks the strings it decodes but not the ones it skips inside a
    ``Raw``, so the whole text is checked once here.  ASCII, the common case,
    is recognised at memory speed; anything else is decoded in 64 KiB steps
    so the check never holds a copy of the body.
    """
    if type(body) is bytes and body.isascii():
        return
    view = memoryview(body)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    step = 1 << 16
    try:
        for start in range(0, view.nbytes, step):
            decoder.decode(view[start : start + step])
        decoder.decode(b"", True)
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        raise MalformedJSON(
            "json.utf8",
            f"expected UTF-8 text, got invalid byte(s) at offset "
            f"{offset}: {exc.reason}",
            format=fmt,
            pointer=pointer,
        ) from None


def msgspec_pointer(message: str) -> tuple[str, str]:
    """Split a msgspec message into (sentence, JSON pointer)."""
    match = _AT.search(message)
    if match is None:
        return message, ""
    pointer = ""
    for name, index, some_key in _PATH_PART.findall(match.group(1)):
        if some_key:
            # msgspec does not say which key of a mapping; point at the map.
            break
        pointer += f"/{index}" if index else f"/{escape_pointer_token(name)}"
    return message[: match.start()], pointer


def decode(decoder: msgspec.json.Decoder, buf: Any, fmt: str, pointer: str = ""):
    """Run ``decoder`` on ``buf``, turning every failure into our errors."""
    try:
        return decoder.decode(buf)
    except msgspec.ValidationError as exc:
        sentence, where = msgspec_pointer(str(exc))
        code = "json.number" if "out of range" in sentence else "envelope.type"
        cls = MalformedJSON if code == "json.number" else InvalidEnvelope
        raise cls(
            code,
            sentence[:1].lower() + sentence[1:],
            format=fmt,
            pointer=pointer + where,
        ) from None
    except msgspec.DecodeError as exc:
        raise MalformedJSON(
            "json.syntax", _syntax_sentence(str(exc)), format=fmt, pointer=pointer
        ) from None
    except RecursionError:
        raise LimitExceeded(
            "limit.depth",
            "expected nesting the decoder can follow, got nesting "
            "deeper than the interpreter's recursion limit",
            format=fmt,
            pointer=pointer,
        ) from None


def _syntax_sentence(message: str) -> str:
    if message == "Input data was truncated":
        return (
            "expected a complete JSON text, got one that ends early "
            "(or an unpaired UTF-16 surrogate escape)"
        )
    if message[1:2].islower():
        message = message[:1].lower() + message[1:]
    return "expected JSON, got " + message


# -- duplicate member names ------------------------------------------------


def fits_exactly(
    view: msgspec.Struct, payloads: list[tuple[Any, str]], buf: Any
) -> bool:
    """True when ``view`` proves its source had no repeated or extra members.

    ``payloads`` names the ``Raw`` fields (owner object, attribute) that are
    swapped for a one-byte placeholder while encoding, so a large payload is
    neither copied nor scanned again.  See the module docstring for why equal
    lengths are a proof.  A small source that is not compact (SNS always
    indents) is measured without its white space outside strings, the
    payloads' own white space kept, since their ``Raw`` keeps it too.
    """
    raws = [getattr(owner, name) for owner, name in payloads]
    extra = 0
    for (owner, name), raw in zip(payloads, raws):
        if raw is not UNSET:
            extra += len(raw) - 1
            setattr(owner, name, _ZERO)
    try:
        encoded = len(ENCODER.encode(view)) + extra
    finally:
        for (owner, name), raw in zip(payloads, raws):
            setattr(owner, name, raw)
    length = len(buf)
    if encoded == length:
        return True
    if encoded > length or length > _SPACED_PROOF_MAX:
        return False
    kept = sum(
        spaces_outside_strings(raw)
        for raw in raws
        if raw is not UNSET and memoryview(raw)[:1] in (b"{", b"[")
    )
    return encoded == length - spaces_outside_strings(buf) + kept


# Above this size a spaced-out body is walked instead: counting its white
# space reads the payload again, and strings full of escapes (SNS messages
# holding JSON) make that slower than the walk, which skips payloads whole.
_SPACED_PROOF_MAX = 8 * 1024
_NOT_QUOTE_OR_SPACE = bytes(b for b in range(256) if b not in b'" \t\n\r')


def spaces_outside_strings(buf: Any) -> int:
    """How many bytes of white space lie outside strings in a JSON text."""
    return len(_outside_strings(bytes(buf), _NOT_QUOTE_OR_SPACE))


def _strip(buf: bytes) -> tuple[int, int]:
    start, end = 0, len(buf)
    while start < end and buf[start] in _WS:
        start += 1
    while end > start and buf[end - 1] in _WS:
        end -= 1
    return start, end


def object_members(
    buf: bytes,
    fmt: str,
    pointer: str = "",
    start: int | None = None,
    end: int | None = None,
) -> dict[str, tuple[int, int]]:
    """Walk one JSON object in ``buf`` and return each member's value span.

    ``buf`` must already be known to be valid JSON.  Raises ``MalformedJSON``
    (code ``json.duplicate-key``) when a member name appears twice; names are
    compared after unescaping, so ``"id"`` and ``"\\u0069d"`` are the same.
    """
    if start is None:
        start, end = _strip(buf)
    raws = decode(_RAW_OBJECT, memoryview(buf)[start:end], fmt, pointer)
    spans: dict[str, tuple[int, int]] = {}
    if not raws:
        return spans
    pos = start + 1
    while True:
        match = _KEY.match(buf, pos)
        text = match.group(1)
        name = (
            text.decode()
            if b"\\" not in text
            else msgspec.json.decode(b'"' + text + b'"')
        )
        raw = raws[name]
        value_start = match.end()
        value_end = value_start + len(raw)
        after = _AFTER_VALUE.match(buf, value_end)
        if name in spans or not buf.startswith(raw, value_start) or after is None:
            raise MalformedJSON(
                "json.duplicate-key",
                f"expected each member name once, got {name!r} more than once",
                format=fmt,
                pointer=pointer_join(pointer, name),
            )
        spans[name] = (value_start, value_end)
        if after.group(1) == b"}":
            return spans
        pos = after.end()


def array_elements(
    buf: bytes,
    fmt: str,
    pointer: str = "",
    start: int | None = None,
    end: int | None = None,
) -> list[Raw]:
    """Decode the array in ``buf[start:end]`` into one ``Raw`` per element."""
    if start is None:
        start, end = _strip(buf)
    return decode(_RAW_ARRAY, memoryview(buf)[start:end], fmt, pointer)


def batch_elements(body: bytes, fmt: str, limits: Limits, noun: str) -> list[Raw]:
    """Check a JSON array body and its element count; one ``Raw`` each."""
    check_utf8(body, fmt)
    check_batch(body, fmt, limits, noun)
    elements = array_elements(body, fmt)
    if len(elements) > limits.max_batch:
        _too_many(len(elements), fmt, limits, noun)
    return elements


def check_batch(body: bytes, fmt: str, limits: Limits, noun: str) -> None:
    """Refuse an array of more than ``limits.max_batch`` elements before it
    is decoded (a million empty objects would otherwise cost hundreds of
    megabytes of decoded views before the count could be read).

    An element takes at least two bytes with its comma, so a short body
    cannot hold too many; a longer one is counted by the compiled
    ``array_length``, or, where it is not compiled, after decoding.
    """
    if len(body) <= 2 * limits.max_batch + 1 or array_length is None:
        return
    count = array_length(body)
    if count > limits.max_batch:
        _too_many(count, fmt, limits, noun)


def _too_many(count: int, fmt: str, limits: Limits, noun: str) -> None:
    raise LimitExceeded(
        "limit.batch",
        f"expected at most {limits.max_batch} {noun}, got {count}",
        format=fmt,
    )


# -- nesting depth ---------------------------------------------------------------

_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'[]{}"')
_NOT_MEMBER = bytes(b for b in range(256) if b not in b'":')


def _outside_strings(text: bytes, delete: bytes) -> bytes:
    # Escaped backslashes, then escaped quotes, go first so that every quote
    # left opens or closes a string (the lexer pairs escapes left to right,
    # as bytes.replace does).  Then all but the wanted bytes are deleted and
    # strings cut out: every adjacent "" first (an empty string, or two
    # strings with nothing between them, which may merge), then the rest.
    if b"\\" in text:
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    text = text.translate(None, delete).replace(b'""', b"")
    return _STRING.sub(b"", text) if b'"' in text else text


def deeper_than(buf: Any, limit: int) -> bool:
    """True when the JSON text in ``buf`` nests more than ``limit`` deep.

    Runs before a decoder recurses, with C-speed byte operations only: the
    text is cut down to the brackets outside strings, then each round turns
    the innermost pairs into a mark and drops the marks, so one round peels
    one level.  Brackets left after ``limit`` rounds nest deeper.  Text that
    is not JSON may pass; the decoder that follows reports it.
    """
    text = _outside_strings(bytes(buf), _NOT_STRUCTURAL)
    for _ in range(limit):
        if not text:
            return False
        peeled = text.replace(b"[]", b"x").replace(b"{}", b"x").replace(b"x", b"")
        if len(peeled) == len(text):
            return False  # mismatched brackets: the decoder reports them
        text = peeled
    return bool(text)


def member_count(buf: Any) -> int:
    """How many object members the JSON text in ``buf`` has, at any depth.

    Counts the colons outside strings.  Comparing it with the count of the
    decoded value re-encoded finds repeated names anywhere, in C speed: a
    decoder keeps one member per name, so the counts differ exactly when a
    name was repeated.
    """
    return _outside_strings(bytes(buf), _NOT_MEMBER).count(b":")


def reject_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that refuses repeats."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Duplicate(name)
            seen.add(name)
    return result


class _Duplicate(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


# -- timestamps --------------------------------------------------------------

# RFC 3339, section 5.6: full-date "T" full-time, where full-time requires a
# time-offset ("Z" or +hh:mm).  "t" and "z" are allowed by its ABNF note.
_RFC3339 = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt ]"
    r"(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)


_AWARE = Annotated[datetime, msgspec.Meta(tz=True)]


def check_rfc3339(value: Any, fmt: str, pointer: str) -> None:
    """Refuse a timestamp that is not RFC 3339 with an offset.

    msgspec's C parser answers the common case; the pattern above decides
    what it refuses, so that a leap second (``:60``) is still accepted.
    """
    if value is UNSET or value is None:
        return
    try:
        msgspec.convert(value, _AWARE)
        # msgspec also takes ISO 8601's "+0000"; RFC 3339 wants "+00:00".
        if value[-1:] in ("Z", "z") or value[-3:-2] == ":":
            return
    except msgspec.ValidationError:
        pass
    if _RFC3339.fullmatch(value) is None or not _real_day(value):
        raise InvalidEnvelope(
            "envelope.time",
            f"expected an RFC 3339 timestamp with an offset, got {value!r}",
            format=fmt,
            pointer=pointer,
        )


def _real_day(value: str) -> bool:
    # RFC 3339, section 5.7: the day must exist in that month of that year.
    year, month, day = int(value[:4]), int(value[5:7]), int(value[8:10])
    if month == 2:
        return day <= 28 + calendar.isleap(year)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


def require_text(value: Any, fmt: str, pointer: str, why: str) -> None:
    """Refuse an absent, null or empty string where one is required."""
    if value is UNSET or value is None:
        said = "absent" if value is UNSET else "null (which means unset)"
        raise InvalidEnvelope(
            "envelope.required",
            f"expected a non-empty string ({why}), got {said}",
            format=fmt,
            pointer=pointer,
        )
    if value == "":
        raise InvalidEnvelope(
            "envelope.empty",
            f'expected a non-empty string ({why}), got ""',
            format=fmt,
            pointer=pointer,
        )


def inspect_object(
    decoder: msgspec.json.Decoder,
    buf: Any,
    fmt: str,
    pointer: str,
    payloads: tuple[str, ...] = (),
    nested: tuple[str, ...] = (),
):
    """Decode one envelope object and make sure no member name repeats.

    Returns ``(view, spans)``: ``spans`` is ``None`` when the fast path
    proved the object exact, else the value span of every member, by name.
    ``payloads`` are paths to ``Raw`` fields (``"data"``, ``"message/data"``).
    ``nested`` are paths such as ``"message/attributes"`` or
    ``"MessageAttributes/*"`` to the inner objects the view reads, whose
    member names are checked as well.
    """
    view = decode(decoder, buf, fmt, pointer)
    owners = []
    for path in payloads:
        *parents, name = path.split("/")
        owner = view
        for parent in parents:
            owner = getattr(owner, parent)
        if isinstance(owner, msgspec.Struct):
            owners.append((owner, name))
    if fits_exactly(view, owners, buf):
        return view, None
    text = buf if isinstance(buf, bytes) else bytes(buf)
    spans = object_members(text, fmt, pointer)
    for path in nested:
        _walk_nested(text, spans, path.split("/"), fmt, pointer)
    return view, spans


def _walk_nested(
    text: bytes,
    spans: dict[str, tuple[int, int]],
    path: list[str],
    fmt: str,
    pointer: str,
) -> None:
    head, rest = path[0], path[1:]
    for name in list(spans) if head == "*" else [head]:
        span = spans.get(name)
        if span is None or text[span[0] : span[0] + 1] != b"{":
            continue
        where = pointer_join(pointer, name)
        inner = object_members(text, fmt, where, *span)
        if rest:
            _walk_nested(text, inner, rest, fmt, where)
