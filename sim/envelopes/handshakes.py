"""Handshakes a push endpoint must answer, as pure functions.

Nothing here opens a connection: the SNS functions return a URL for the
caller to fetch, and only after checking that it points at SNS itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

import msgspec

from sim.envelopes._base import Batch, lower_headers
from sim.envelopes.errors import HandshakeRefused
from sim.envelopes.eventgrid import EventGridEvent
from sim.envelopes.sns import SnsMessage

# SNS endpoints: sns.<region>.amazonaws.com, and .com.cn in the China regions.
# sns.<region>.amazonaws.com, and .com.cn in the China regions.  The region
# is spelled out (us-east-1, us-gov-west-1, eu-central-2, cn-north-1...),
# so that other services' hosts under a label "sns" (an S3 bucket named
# "sns", say) are not taken for SNS.
_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}"
_SNS_HOST = re.compile(
    rf"sns\.(?:{_REGION}\.amazonaws\.com|cn-[a-z]+-[0-9]{{1,2}}\.amazonaws\.com\.cn)",
    re.ASCII,
)
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_UNSAFE_ORIGIN = re.compile(r"[^\x21-\x7e]")  # echoed back in a header
_RATE = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)


def eventgrid_validation_response(envelope: EventGridEvent | Batch) -> bytes:
    """The JSON body to send with HTTP 200 to validate an Event Grid
    subscription: ``{"validationResponse": <validationCode>}``.

    Accepts the validation event itself or the array it came in (which must
    then hold exactly one validation event).
    """
    if isinstance(envelope, Batch):
        found = [
            e for e in envelope if isinstance(e, EventGridEvent) and e.is_validation
        ]
        if len(found) != 1:
            raise HandshakeRefused(
                "handshake.not-validation",
                f"expected exactly one SubscriptionValidationEvent, got {len(found)}",
                format="eventgrid",
            )
        envelope = found[0]
    if not isinstance(envelope, EventGridEvent):
        raise HandshakeRefused(
            "handshake.not-validation",
            f"expected an Event Grid event, got {type(envelope).__name__}",
            format="eventgrid",
        )
    code = envelope.validation_code()
    return msgspec.json.encode({"validationResponse": code})


def webhook_options_response(
    headers: Mapping[str, str],
    *,
    allowed_origins: Collection[str] | None = None,
    rate: int | None = None,
) -> dict[str, str]:
    """Headers consenting to deliveries, for the CloudEvents webhook
    abuse-protection ``OPTIONS`` request (Event Grid sends it in CloudEvents
    mode with origin ``eventgrid.azure.net``).

    Parameters
    ----------
    headers : Mapping[str, str]
        The OPTIONS request headers (any case).
    allowed_origins : collection of str, optional
        Origins to consent to; every origin when omitted.
    rate : int, optional
        Requests per minute this endpoint accepts; unlimited when omitted.
        The reply grants the smaller of this and ``WebHook-Request-Rate``.

    Returns
    -------
    dict
        ``Allow``, ``WebHook-Allowed-Origin`` and, when a rate was asked or
        set, ``WebHook-Allowed-Rate``; send them with HTTP 200.
    """
    lowered = lower_headers(headers)
    origin = lowered.get("webhook-request-origin", "").strip()
    if _UNSAFE_ORIGIN.search(origin):
        raise HandshakeRefused(
            "handshake.origin",
            f"expected a host name as WebHook-Request-Origin, got {origin[:60]!r}",
            format="cloudevents",
            pointer="headers/webhook-request-origin",
        )
    if not origin:
        raise HandshakeRefused(
            "handshake.origin",
            "expected a WebHook-Request-Origin header, got none",
            format="cloudevents",
            pointer="headers/webhook-request-origin",
        )
    if allowed_origins is not None and origin not in allowed_origins:
        raise HandshakeRefused(
            "handshake.origin",
            f"expected an allowed origin, got {origin!r}",
            format="cloudevents",
            pointer="headers/webhook-request-origin",
        )
    reply = {"Allow": "POST", "WebHook-Allowed-Origin": origin}
    asked = lowered.get("webhook-request-rate")
    if asked is not None or rate is not None:
        reply["WebHook-Allowed-Rate"] = _grant(asked, rate)
    return reply


def _grant(asked: str | None, rate: int | None) -> str:
    limits = []
    if asked is not None and asked.strip() != "*":
        if _RATE.fullmatch(asked.strip()) is None:
            raise HandshakeRefused(
                "handshake.rate",
                "expected WebHook-Request-Rate "
                f"to be a positive integer or *, got {asked!r}",
                format="cloudevents",
                pointer="headers/webhook-request-rate",
            )
        limits.append(int(asked))
    if rate is not None:
        if type(rate) is not int or rate < 1:
            raise ValueError(f"rate must be a positive int, got {rate!r}")
        limits.append(rate)
    return str(min(limits)) if limits else "*"


def is_sns_url(url: str, allowed_hosts: Collection[str] | None = None) -> bool:
    """True for an ``https`` URL on an SNS endpoint (or an allowed host)."""
    if not isinstance(url, str) or _UNSAFE.search(url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 443)
        or parts.netloc.lower() not in (host, f"{host}:443")
    ):
        return False
    if allowed_hosts is not None:
        return host in allowed_hosts
    return _SNS_HOST.fullmatch(host) is not None


def sns_confirmation_url(
    message: SnsMessage, *, allowed_hosts: Collection[str] | None = None
) -> str:
    """The ``SubscribeURL`` to GET to confirm a subscription, once checked.

    Refuses a message that is not a SubscriptionConfirmation and a URL that
    is not ``https`` on an SNS host (or one of ``allowed_hosts``).  The
    caller should verify the message signature before fetching it.
    """
    if (
        not isinstance(message, SnsMessage)
        or message.type != "SubscriptionConfirmation"
    ):
        raise HandshakeRefused(
            "handshake.not-confirmation",
            "expected a "
            "SubscriptionConfirmation, got "
            f"{getattr(message, 'type', type(message).__name__)!r}",
            format="sns",
            pointer="/Type",
        )
    return _trusted(message.subscribe_url, "SubscribeURL", allowed_hosts)


def sns_certificate_url(
    message: SnsMessage, *, allowed_hosts: Collection[str] | None = None
) -> str:
    """The signing certificate URL, once checked to be an SNS ``.pem``."""
    url = _trusted(message.signing_cert_url, "SigningCertURL", allowed_hosts)
    if not urlsplit(url).path.endswith(".pem"):
        raise HandshakeRefused(
            "handshake.url",
            f"expected a .pem certificate path, got {url!r}",
            format="sns",
            pointer="/SigningCertURL",
        )
    return url


def _trusted(url: object, name: str, allowed: Collection[str] | None) -> str:
    if not isinstance(url, str) or not is_sns_url(url, allowed):
        raise HandshakeRefused(
            "handshake.url",
            f"expected an https URL on an SNS host, got {url!r}",
            format="sns",
            pointer=f"/{name}",
        )
    return url
