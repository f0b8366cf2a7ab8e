"""Provider presets: documented delivery behaviour as scenario defaults.

Each preset is a table of strategy fields that a scenario gets by
naming it (``preset = "event_grid"``); any field the scenario sets itself
wins. Every value cites the provider's public documentation, read on
2026-12-04; where a document gives no number (Event Grid's "small
randomization", Pub/Sub's push-window details) the choice made here is said
so.
"""

from __future__ import annotations

from typing import Any

# Azure Event Grid, "Event Grid message delivery and retry"
# (learn.microsoft.com/azure/event-grid/delivery-and-retry): waits 30 s for a
# response; retries at 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h,
# 6 h, then every 12 h up to 24 h, with "a small randomization" (10% here);
# at most 30 delivery attempts and a 1440-minute event time to live; does
# not retry a webhook's 400, 401, 403 or 413; delivers at least once.
EVENT_GRID: dict[str, Any] = {
    "envelope": "eventgrid",
    "timeout_s": 30.0,
    "retry": {
        "kind": "schedule",
        "delays_s": [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200],
        "randomisation": 0.1,
        "max_attempts": 30,
        "ttl_s": 1440 * 60.0,
        "honour_retry_after": False,
    },
}

# Amazon SNS, "Amazon SNS message delivery retries"
# (docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html) and
# "Set the delivery policy" (SendMessageToHttp.retry.html): for HTTP/S, by
# default up to three retries 20 s apart (numRetries 3, minDelayTarget =
# maxDelayTarget = 20 s, linear backoff); the whole policy may not span more
# than 3,600 s; SNS adds jitter of an unstated size (none here). Custom
# phases are set with a "phases" retry policy.
SNS_HTTP: dict[str, Any] = {
    "envelope": "sns",
    "retry": {
        "kind": "phases",
        "retries": 3,
        "min_delay_s": 20.0,
        "max_delay_s": 20.0,
        "backoff_function": "linear",
        "ttl_s": 3600.0,
        "honour_retry_after": False,
    },
}

# Google Cloud Pub/Sub, "Push subscriptions" and "Handle message failures"
# (cloud.google.com/pubsub/docs/push, .../handling-failures): the push
# endpoint must answer within the acknowledgement deadline (10 s by default,
# 10 to 600 s); a subscription's retry policy backs off exponentially
# between a minimum and maximum (10 s and 600 s by default); Pub/Sub adjusts
# the rate of push requests to the rate of successes (the "adaptive" window
# here); messages are retained 7 days by default.
PUBSUB_PUSH: dict[str, Any] = {
    "envelope": "pubsub",
    "timeout_s": 10.0,
    "push_window": "adaptive",
    "retry": {
        "kind": "exponential",
        "base_s": 10.0,
        "cap_s": 600.0,
        "multiplier": 2.0,
        "jitter": "none",
        "max_attempts": 1_000_000,
        "ttl_s": 7 * 86400.0,
        "honour_retry_after": False,
    },
}

# Amazon SQS, "Setting-up long polling in Amazon SQS" and "Amazon SQS short
# and long polling" (docs.aws.amazon.com/AWSSimpleQueueService/latest/
# SQSDeveloperGuide/): a ReceiveMessage waits at most 20 s and returns at
# most 10 messages; the answer is a JSON document per message (the "sqs"
# envelope). Short polling queries only a subset of servers, so it can
# answer empty while messages wait; the documentation gives no rate, so
# false_empty_probability is left for the scenario to set.
# Received messages are deleted with DeleteMessageBatch (up to 10 at a time)
# and stay hidden meanwhile for the visibility timeout, 30 s by default
# (ChangeMessageVisibility in the SQS API Reference).
SQS_LONG_POLL: dict[str, Any] = {
    "wait_s": 20.0,
    "max_batch": 10,
    "envelope": "sqs",
    "ack": "per_batch",
    "visibility_timeout_s": 30.0,
}
SQS_SHORT_POLL: dict[str, Any] = {
    "max_batch": 10,
    "envelope": "sqs",
    "ack": "per_batch",
    "visibility_timeout_s": 30.0,
}

# Azure Service Bus, JavaScript SDK "ReceiveMessagesOptions"
# (learn.microsoft.com/javascript/api/@azure/service-bus/receivemessagesoptions):
# a receive waits up to maxWaitTimeInMs, 60000 ms by default; the prefetch
# count (ServiceBusReceiverOptions.PrefetchCount) is 0 unless set. Each
# message received in peek-lock mode is completed on its own and stays
# locked meanwhile for the queue's LockDuration, 1 minute by default
# (ServiceBusQueueData.LockDuration, .NET management SDK).
SERVICE_BUS: dict[str, Any] = {
    "wait_s": 60.0,
    "prefetch": 0,
    "ack": "per_event",
    "visibility_timeout_s": 60.0,
}

PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("broker", "event_grid"): EVENT_GRID,
    ("broker", "sns_http"): SNS_HTTP,
    ("broker", "pubsub_push"): PUBSUB_PUSH,
    ("long_poll", "sqs_long_poll"): SQS_LONG_POLL,
    ("long_poll", "service_bus"): SERVICE_BUS,
    ("short_poll", "sqs_short_poll"): SQS_SHORT_POLL,
}
