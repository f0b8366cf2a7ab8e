"""Event Grid validation, CloudEvents OPTIONS consent and SNS URL checks."""

from __future__ import annotations

import json

import pytest

from sim.envelopes import (
    EnvelopeError,
    HandshakeRefused,
    InvalidEnvelope,
    eventgrid_validation_response,
    is_sns_url,
    parse,
    sns_certificate_url,
    sns_confirmation_url,
    webhook_options_response,
)


def validation_batch(code="512d38b6") -> bytes:
    return json.dumps(
        [
            {
                "id": "v",
                "topic": "/t",
                "subject": "",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "eventTime": "2024-01-01T00:00:00Z",
                "data": {"validationCode": code, "validationUrl": None},
                "dataVersion": "1",
                "metadataVersion": "1",
            }
        ]
    ).encode()


def test_eventgrid_validation_reply_echoes_the_code():
    events = parse(validation_batch(), {"aeg-event-type": "SubscriptionValidation"})
    assert json.loads(eventgrid_validation_response(events)) == {
        "validationResponse": "512d38b6"
    }
    assert (
        eventgrid_validation_response(events[0]) == b'{"validationResponse":"512d38b6"}'
    )


def test_eventgrid_validation_refuses_a_notification():
    body = json.dumps(
        [
            {
                "id": "1",
                "topic": "/t",
                "subject": "s",
                "eventType": "Blob.Created",
                "eventTime": "2024-01-01T00:00:00Z",
            }
        ]
    )
    events = parse(body.encode(), {"aeg-event-type": "Notification"})
    with pytest.raises(
        HandshakeRefused,
        match=r"^eventgrid: at #: expected exactly "
        r"one SubscriptionValidationEvent, got 0 ",
    ):
        eventgrid_validation_response(events)
    with pytest.raises(
        InvalidEnvelope,
        match=r"^eventgrid: at #/0/eventType: "
        r"expected eventType Microsoft\.EventGrid\.",
    ):
        events[0].validation_code()


def test_eventgrid_validation_with_empty_code_is_refused():
    events = parse(validation_batch(""), {"aeg-event-type": "SubscriptionValidation"})
    with pytest.raises(
        InvalidEnvelope,
        match=r"^eventgrid: at #/0/data/"
        r"validationCode: expected a non-empty string",
    ):
        eventgrid_validation_response(events)


def test_options_consent_echoes_origin_and_grants_the_smaller_rate():
    reply = webhook_options_response(
        {
            "WebHook-Request-Origin": "eventgrid.azure.net",
            "WebHook-Request-Rate": "120",
        },
        rate=60,
    )
    assert reply == {
        "Allow": "POST",
        "WebHook-Allowed-Origin": "eventgrid.azure.net",
        "WebHook-Allowed-Rate": "60",
    }
    assert webhook_options_response(
        {"webhook-request-origin": "a.example", "webhook-request-rate": "*"}
    ) == {
        "Allow": "POST",
        "WebHook-Allowed-Origin": "a.example",
        "WebHook-Allowed-Rate": "*",
    }
    assert "WebHook-Allowed-Rate" not in webhook_options_response(
        {"WebHook-Request-Origin": "a.example"}
    )


def test_options_consent_refuses_missing_or_unlisted_origin_and_bad_rate():
    with pytest.raises(
        HandshakeRefused,
        match=r"^cloudevents: at #headers/webhook-"
        r"request-origin: expected a WebHook-Request-Origin header",
    ):
        webhook_options_response({})
    with pytest.raises(
        HandshakeRefused,
        match=r"expected an allowed origin, got "
        r"'evil\.example'",
    ):
        webhook_options_response(
            {"WebHook-Request-Origin": "evil.example"},
            allowed_origins={"eventgrid.azure.net"},
        )
    for rate in ("-5", "0", "\u00b2", "\u0661\u0662", "1e3", ""):
        with pytest.raises(HandshakeRefused, match=r"\[handshake\.rate\]$"):
            webhook_options_response(
                {"WebHook-Request-Origin": "a", "WebHook-Request-Rate": rate}
            )


def test_options_consent_never_echoes_what_is_not_a_host_name():
    with pytest.raises(HandshakeRefused, match=r"\[handshake\.origin\]$"):
        webhook_options_response({"WebHook-Request-Origin": "a\r\nSet-Cookie: x"})
    with pytest.raises(EnvelopeError, match=r"\[envelope\.header\]$"):
        webhook_options_response(
            {"WebHook-Request-Origin": "a", "webhook-request-origin": "b"}
        )
    with pytest.raises(EnvelopeError, match=r"\[envelope\.header\]$"):
        webhook_options_response({"WebHook-Request-Origin": None})
    with pytest.raises(ValueError, match="rate must be a positive int"):
        webhook_options_response({"WebHook-Request-Origin": "a"}, rate=0)


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
        "https://sns.cn-north-1.amazonaws.com.cn/cert.pem",
        "https://SNS.us-east-1.amazonaws.com:443/x",
    ],
)
def test_sns_hosts_are_trusted(url):
    assert is_sns_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/x",
        "https://sns.us-east-1.amazonaws.com.evil.example/x",
        "https://evil.example/#@sns.us-east-1.amazonaws.com",
        "https://user@sns.us-east-1.amazonaws.com/x",
        "https://sns.us-east-1.amazonaws.com:8443/x",
        "https://sns.us-east-1.amazonaws.com\\@evil.example/x",
        "https://127.0.0.1/x",
        "https://s3.amazonaws.com/x",
        "https://sns.us-east-1.amazonaws.com:bad/x",
        # hosts of other services under a label "sns": an S3 bucket, an API
        "https://sns.s3.amazonaws.com/x.pem",
        "https://sns.s3-us-west-2.amazonaws.com/x.pem",
        "https://sns.execute-api.amazonaws.com/",
        # ports spelled other than 443
        "https://sns.us-east-1.amazonaws.com:0443/x",
        "https://sns.us-east-1.amazonaws.com:/x",
    ],
)
def test_urls_outside_sns_are_refused(url):
    assert not is_sns_url(url)


def sns_message(**changes) -> bytes:
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "m",
        "Token": "tok",
        "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Message": "confirm",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action="
        "ConfirmSubscription&Token=tok",
        "Timestamp": "2024-01-01T00:00:00Z",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/c.pem",
    }
    message.update(changes)
    return json.dumps(message).encode()


def test_confirmation_url_is_returned_only_for_sns_hosts():
    assert sns_confirmation_url(parse(sns_message())).startswith(
        "https://sns.us-east-1.amazonaws.com/"
    )
    evil = parse(sns_message(SubscribeURL="https://attacker.example/confirm"))
    with pytest.raises(
        HandshakeRefused,
        match=r"^sns: at #/SubscribeURL: expected an "
        r"https URL on an SNS host, got 'https://attacker\.example/",
    ):
        sns_confirmation_url(evil)
    assert sns_confirmation_url(evil, allowed_hosts={"attacker.example"})


def test_confirmation_url_refuses_a_notification():
    note = parse(sns_message(Type="Notification", Token=None))
    with pytest.raises(
        HandshakeRefused,
        match=r"expected a SubscriptionConfirmation, "
        r"got 'Notification'",
    ):
        sns_confirmation_url(note)


def test_certificate_url_must_be_an_sns_pem():
    assert sns_certificate_url(parse(sns_message())).endswith("c.pem")
    with pytest.raises(HandshakeRefused, match=r"expected a \.pem certificate path"):
        sns_certificate_url(
            parse(
                sns_message(SigningCertURL="https://sns.us-east-1.amazonaws.com/c.txt")
            )
        )
    with pytest.raises(HandshakeRefused, match=r"^sns: at #/SigningCertURL: "):
        sns_certificate_url(parse(sns_message(SigningCertURL=None)))
