"""The one error hierarchy of :mod:`sim.envelopes`.

Every error carries a stable ``code`` (one per rule, listed in
``docs/envelopes.md``), the ``format`` being read and a JSON-pointer
``pointer`` to the offending member ("" is the whole document).  The message
says what was expected, what came and where, in that order, so that a
command line can print it as it is.
"""

from __future__ import annotations


class EnvelopeError(ValueError):
    """Base class of every error raised by :mod:`sim.envelopes`.

    Attributes
    ----------
    code : str
        Stable identifier of the rule that was broken, e.g. ``ce.required``.
    format : str
        The envelope format being read (``cloudevents``, ``sns`` ...), or
        ``envelope`` when no format has been chosen yet.
    pointer : str
        RFC 6901 JSON pointer to the member at fault; ``""`` is the document,
        a header is written ``headers/<name>``.
    detail : str
        The human sentence, without format, pointer or code.
    """

    def __init__(
        self, code: str, detail: str, *, format: str = "envelope", pointer: str = ""
    ) -> None:
        self.code = code
        self.format = format
        self.pointer = pointer
        self.detail = detail
        super().__init__(f"{format}: at #{pointer}: {detail} [{code}]")

    def __reduce__(self):  # keep errors picklable across processes
        return (
            _rebuild,
            (type(self), self.code, self.detail, self.format, self.pointer),
        )


def _rebuild(cls, code, detail, fmt, pointer):
    return cls(code, detail, format=fmt, pointer=pointer)


class MalformedJSON(EnvelopeError):
    """The bytes are not one valid JSON text (syntax, UTF-8, duplicate keys)."""


class LimitExceeded(EnvelopeError):
    """A size, nesting-depth or batch-count limit was exceeded."""


class InvalidEnvelope(EnvelopeError):
    """Well-formed JSON that breaks a rule of the envelope's specification."""


class UnknownFormat(EnvelopeError):
    """Neither the headers nor the body's shape name a supported format."""


class PayloadError(EnvelopeError):
    """The payload could not be decoded as requested (JSON, base64, text)."""


class HandshakeRefused(EnvelopeError):
    """A handshake cannot be answered: wrong event, untrusted URL or origin."""


class Unrouted(EnvelopeError):
    """A router found no handler and has no fallback for an envelope."""


def escape_pointer_token(token: str) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901, section 3)."""
    return token.replace("~", "~0").replace("/", "~1")
