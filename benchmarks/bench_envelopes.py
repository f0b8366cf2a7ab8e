"""asv benchmarks for sim.envelopes: inspection, decoding and references.

Every format is measured at about 1 KB, 64 KB and 1 MB, with payloads built
from a seeded generator so that runs compare.  ``time_``/``peakmem_`` pairs
cover inspection alone, inspection plus decoding every payload, and as
references ``json.loads`` and ``orjson.loads`` of the whole body and the
CloudEvents SDK's ``from_http``.  The ``track_`` benchmarks measure the
issue's targets as ratios inside one process, so one run states them.
"""

import base64
import gc
import json
import random
import timeit
import tracemalloc

import msgspec
import orjson

from sim.envelopes import Batch, parse

try:  # cloudevents >= 2 moved the HTTP API under v1
    from cloudevents.v1.http import from_http
except ImportError:  # pragma: no cover - older SDKs
    from cloudevents.http import from_http

SIZES = {"1KB": 1_000, "64KB": 64_000, "1MB": 1_000_000}
CASES = (
    "cloudevents",
    "cloudevents-batch",
    "cloudevents-binary",
    "eventgrid",
    "sns",
    "pubsub",
    "eventbridge",
    "servicebus",
    "servicebus-received",
)
# The format each case must be detected as (checked by the test suite).
CASE_FORMATS = {case: case.split("-")[0] for case in CASES}
SEED = 20240501
_CACHE = {}


_WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
    "eiusmod tempor incididunt ut labore et dolore magna aliqua"
).split()


def _record(rng):
    return {
        "sku": f"SKU-{rng.randrange(10**6):06d}",
        "qty": rng.randrange(1, 50),
        "price": round(rng.uniform(1, 500), 2),
        "name": rng.choice(["widget", "gadget", "sprocket", "flange"]),
        "tags": rng.sample(["red", "blue", "large", "small", "sale"], 2),
        "note": " ".join(rng.choices(_WORDS, k=rng.randrange(4, 16))),
    }


def payload(size, seed=SEED):
    """A JSON object of order records close to ``size`` bytes when encoded.

    Records are drawn from a seeded pool (numbers, short strings and a
    free-text note, as an order export has), so building a 1 MB payload
    costs milliseconds and every run sees the same bytes.
    """
    if not _POOL:
        records = [_record(random.Random(SEED + i)) for i in range(512)]
        _POOL.extend((record, len(_dumps(record)) + 1) for record in records)
    rng = random.Random(seed)
    records, used = [], 40
    while used < size:
        record, length = _POOL[rng.randrange(len(_POOL))]
        used += length
        records.append(record)
    return {"order": f"ord-{rng.randrange(10**9)}", "lines": records}


_POOL = []  # (record, encoded length + comma), filled on first use


def _ce(index, data):
    return {
        "specversion": "1.0",
        "id": f"A234-1234-{index:04d}",
        "source": "https://shop.example.com/orders",
        "type": "com.example.order.created",
        "subject": f"orders/{index}",
        "time": "2024-05-01T10:00:00.123Z",
        "datacontenttype": "application/json",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": data,
    }


def _dumps(value):
    return json.dumps(value, separators=(",", ":")).encode()


def build(case, size_name):
    """(body, headers) for ``case`` with a body close to the named size.

    The payload is sized in two steps: the envelope's own bytes are measured
    with a small payload, then the payload fills the rest, allowing for the
    growth base64 or string escaping adds.  Cached per process.
    """
    key = (case, size_name)
    if key not in _CACHE:
        make = _MAKERS[case]
        size = SIZES[size_name]
        small, large = len(make(100)[0]), len(make(2_000)[0])
        growth = (large - small) / 1_900
        wanted = 100 + max(size - small, 0) / growth
        _CACHE[key] = make(int(wanted))
    return _CACHE[key]


def _cloudevents(n):
    return _dumps(_ce(1, payload(n))), {"content-type": "application/cloudevents+json"}


def _cloudevents_batch(n):
    parts = [payload(max(n // 4, 20), SEED + i) for i in range(4)]
    return _dumps([_ce(i, p) for i, p in enumerate(parts)]), {
        "content-type": "application/cloudevents-batch+json"
    }


def _cloudevents_binary(n):
    return _dumps(payload(n)), {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "A234-1234-0001",
        "ce-source": "https://shop.example.com",
        "ce-type": "com.example.order.created",
        "ce-time": "2024-05-01T10:00:00.123Z",
        "ce-traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    }


def _eventgrid(n):
    return _dumps(
        [
            {
                "id": "831e1650-001e-001b-66ab-eeb76e069631",
                "topic": "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Shop",
                "subject": "/orders/1",
                "eventType": "Shop.OrderCreated",
                "eventTime": "2024-05-01T10:00:00.9584103Z",
                "data": payload(n),
                "dataVersion": "1",
                "metadataVersion": "1",
            }
        ]
    ), {"aeg-event-type": "Notification"}


def _sns(n):
    # SNS pretty-prints its document; Message holds the JSON as a string.
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:orders",
            "Subject": "order",
            "Message": _dumps(payload(n)).decode(),
            "Timestamp": "2024-05-01T10:00:00.655Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE==",
            "SigningCertURL": "https://sns.us-west-2.amazonaws.com/"
            "SimpleNotificationService-1.pem",
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=U",
        },
        indent=2,
    ).encode(), {"x-amz-sns-message-type": "Notification"}


def _pubsub(n):
    return _dumps(
        {
            "message": {
                "data": base64.b64encode(_dumps(payload(n))).decode(),
                "attributes": {"kind": "order"},
                "messageId": "2070443601311540",
                "publishTime": "2024-05-01T10:00:00.749Z",
            },
            "subscription": "projects/shop/subscriptions/orders",
        }
    ), {}


def _eventbridge(n):
    return _dumps(
        {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "Order Created",
            "source": "com.example.shop",
            "account": "111122223333",
            "time": "2024-05-01T10:00:00Z",
            "region": "us-west-1",
            "resources": [],
            "detail": payload(n),
        }
    ), {}


def _servicebus(n):
    return _dumps(
        [
            {
                "Body": _dumps(payload(n)).decode(),
                "BrokerProperties": {"Label": "order.created", "MessageId": "m-1"},
                "UserProperties": {"kind": "order"},
            }
        ]
    ), {"content-type": "application/vnd.microsoft.servicebus.json"}


def _servicebus_received(n):
    return _dumps(payload(n)), {
        "content-type": "application/json",
        "brokerproperties": json.dumps(
            {
                "MessageId": "m-1",
                "Label": "order.created",
                "SequenceNumber": 2,
                "DeliveryCount": 1,
            }
        ),
    }


_MAKERS = {
    "cloudevents": _cloudevents,
    "cloudevents-batch": _cloudevents_batch,
    "cloudevents-binary": _cloudevents_binary,
    "eventgrid": _eventgrid,
    "sns": _sns,
    "pubsub": _pubsub,
    "eventbridge": _eventbridge,
    "servicebus": _servicebus,
    "servicebus-received": _servicebus_received,
}


def inspect(body, headers):
    return parse(body, headers)


def inspect_and_decode(body, headers):
    parsed = parse(body, headers)
    for envelope in parsed if isinstance(parsed, Batch) else (parsed,):
        envelope.data.json()
    return parsed


class _Grid:
    params = (list(CASES), list(SIZES))
    param_names = ("case", "size")
    timeout = 120

    def setup(self, case, size):
        self.body, self.headers = build(case, size)


class Inspect(_Grid):
    """Detect the format and read every envelope field; no payload decode."""

    def time_inspect(self, case, size):
        inspect(self.body, self.headers)

    def peakmem_inspect(self, case, size):
        inspect(self.body, self.headers)


class InspectAndDecode(_Grid):
    """Inspection, then every payload decoded as JSON (strict)."""

    def time_inspect_and_decode(self, case, size):
        inspect_and_decode(self.body, self.headers)

    def peakmem_inspect_and_decode(self, case, size):
        inspect_and_decode(self.body, self.headers)


class ReferenceJson(_Grid):
    """The whole body through json.loads and orjson.loads."""

    def time_json_loads(self, case, size):
        json.loads(self.body)

    def peakmem_json_loads(self, case, size):
        json.loads(self.body)

    def time_orjson_loads(self, case, size):
        orjson.loads(self.body)

    def peakmem_orjson_loads(self, case, size):
        orjson.loads(self.body)


class ReferenceSdk(_Grid):
    """The CloudEvents SDK's from_http, where it reads the case at all."""

    def setup(self, case, size):
        if case not in ("cloudevents", "cloudevents-binary"):
            raise NotImplementedError("the SDK reads CloudEvents only")
        super().setup(case, size)

    def time_sdk_from_http(self, case, size):
        from_http(self.headers, self.body)

    def peakmem_sdk_from_http(self, case, size):
        from_http(self.headers, self.body)


# -- targets, as ratios measured in one process ---------------------------------


class _Raw(msgspec.Struct):
    """The bare baseline: CloudEvents attributes typed, data left Raw."""

    specversion: str = ""
    id: str = ""
    source: str = ""
    type: str = ""
    subject: str = ""
    time: str = ""
    datacontenttype: str = ""
    traceparent: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


_RAW_DECODER = msgspec.json.Decoder(_Raw)


def best_seconds(*calls, budget=0.2, rounds=7):
    """Best per-call time of each call, measured in interleaved rounds.

    Taking turns round by round means a burst of load on a shared machine
    slows every call alike, so the ratios between them hold.
    """
    timers, numbers = [], []
    for call in calls:
        timer = timeit.Timer(call)
        number, elapsed = 1, timer.timeit(1)
        while elapsed * number < budget / rounds and number < 1_000_000:
            number *= 10
        timers.append(timer)
        numbers.append(number)
    best = [float("inf")] * len(calls)
    gc.collect()
    for _ in range(rounds):
        for i, (timer, number) in enumerate(zip(timers, numbers)):
            best[i] = min(best[i], timer.timeit(number) / number)
    return best


def _ce_seconds(size):
    body, headers = build("cloudevents", size)
    inspect_s, sdk_s, raw_s = best_seconds(
        lambda: parse(body, headers),
        lambda: from_http(headers, body),
        lambda: _RAW_DECODER.decode(body),
    )
    return inspect_s, sdk_s, raw_s, len(body)


class Targets:
    """The issue's targets.  Higher is better unless the name says ``over``
    a budget; each docstring states the bound."""

    timeout = 300

    def setup_cache(self):
        small, large = _ce_seconds("1KB"), _ce_seconds("1MB")
        binary = [build("cloudevents-binary", s) for s in ("1KB", "1MB")]
        flat = best_seconds(*(lambda b=b, h=h: parse(b, h) for b, h in binary))
        body, headers = build("cloudevents", "1MB")
        parse(body, headers)
        tracemalloc.start()
        parse(body, headers)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {
            "small": small,
            "large": large,
            "flat": flat,
            "peak": peak,
            "large_bytes": len(body),
        }

    def track_ce_1kb_sdk_over_inspect(self, m):
        """1 KB structured: SDK from_http time / inspection time (>= 30)."""
        return m["small"][1] / m["small"][0]

    def track_ce_1kb_inspect_over_msgspec_raw(self, m):
        """1 KB structured: inspection / bare msgspec Raw decode (<= 1.5)."""
        return m["small"][0] / m["small"][2]

    def track_ce_1mb_inspect_gb_per_s(self, m):
        """1 MB structured: inspection throughput in GB/s (>= 1)."""
        return m["large"][3] / m["large"][0] / 1e9

    def track_ce_1mb_sdk_over_inspect(self, m):
        """1 MB structured: SDK from_http time / inspection time (>= 15)."""
        return m["large"][1] / m["large"][0]

    def track_binary_1mb_over_1kb(self, m):
        """Binary mode: inspection time at 1 MB / at 1 KB (<= 2)."""
        return m["flat"][1] / m["flat"][0]

    def track_ce_1mb_inspect_peak_mb(self, m):
        """1 MB structured: peak bytes allocated while inspecting, in MB
        (<= body size + 1 MB; the body is allocated before, not counted)."""
        return m["peak"] / 1e6

    for _name in (
        "track_ce_1kb_sdk_over_inspect",
        "track_ce_1kb_inspect_over_msgspec_raw",
        "track_ce_1mb_sdk_over_inspect",
        "track_binary_1mb_over_1kb",
    ):
        locals()[_name].unit = "ratio"
    track_ce_1mb_inspect_gb_per_s.unit = "GB/s"
    track_ce_1mb_inspect_peak_mb.unit = "MB"
    del _name
