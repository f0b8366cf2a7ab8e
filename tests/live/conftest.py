"""Small live scenarios and the broker they may need."""

import socket
import textwrap

import pytest

BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def rabbitmq_reason() -> str | None:
    """Why a broker test cannot run here, or None if it can."""
    try:
        import pika  # noqa: F401
    except ImportError:
        return "pika is not installed (pip install -e '.[live]')"
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return None
    except OSError as exc:
        return f"RabbitMQ is not reachable on 127.0.0.1:5672 ({exc.strerror})"


needs_rabbitmq = pytest.mark.skipif(
    rabbitmq_reason() is not None, reason=str(rabbitmq_reason())
)


def redis_reason() -> str | None:
    """Why a Redis test cannot run here, or None if it can."""
    try:
        import redis
    except ImportError:
        return "redis is not installed (pip install -e '.[live]')"
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
        return None
    except redis.RedisError as exc:
        return f"Redis is not reachable on 127.0.0.1:6379 ({exc})"


needs_redis = pytest.mark.skipif(redis_reason() is not None, reason=str(redis_reason()))

SCENARIO = """\
name = "tiny-live"

[simulation]
duration_s = 60
seed = 11

[workload]
subscribers = 2
# 0.1 s apart from 0.0486 s (seed 11): every event is at least 51 ms from
# the next tick of the 0.2 s polling grid, so a publisher running a little
# late under load cannot move an event to a later poll than the model's
arrivals = {{ kind = "constant", rate_per_s = 10 }}
payload_bytes = {{ kind = "fixed", value = 700 }}

[network]
latency_s = {{ kind = "fixed", value = 0.0002 }}
request_overhead_bytes = 120
response_overhead_bytes = 100

[costs]
cpu_s_per_request_sent = 2e-4
cpu_s_per_request_handled = 2e-4
cpu_s_per_kib_serialised = 1e-5
cpu_s_per_kib_deserialised = 1e-5

[subscriber]
service_time_s = {{ kind = "fixed", value = 0.0 }}
concurrency = 1

[[strategies]]
name = "short_poll"
kind = "short_poll"
interval_s = 0.2
phase = "aligned"
envelope = "cloudevents_structured"

[[strategies]]
name = "long_poll"
kind = "long_poll"
wait_s = 1
envelope = "eventbridge"

[[strategies]]
name = "fanout"
kind = "fanout"
concurrency = 2
timeout_s = 2
envelope = "cloudevents_binary"

[[strategies]]
name = "rabbitmq_push"
kind = "broker"
push_concurrency = 1
timeout_s = 2
envelope = "sns"

[[strategies]]
name = "rabbitmq_poll"
kind = "short_poll"
interval_s = 0.2
max_batch = 1
phase = "aligned"
envelope = "pubsub"

[[strategies]]
name = "redis_push"
kind = "broker"
push_concurrency = 1
timeout_s = 2
envelope = "eventgrid"

[[strategies]]
name = "redis_long_poll"
kind = "long_poll"
wait_s = 1
envelope = "cloudevents_structured"

[live]
duration_s = 1.5
drain_s = 3
broker_url = "{broker_url}"
broker_polled = ["rabbitmq_poll"]
brokers = {{ redis_push = "redis", redis_long_poll = "redis" }}
{extra}
"""


@pytest.fixture
def write_scenario(tmp_path):
    """Write the tiny live scenario, with ``extra`` TOML appended."""

    def write(extra: str = "", name: str = "tiny.toml") -> str:
        path = tmp_path / name
        path.write_text(
            SCENARIO.format(broker_url=BROKER_URL, extra=textwrap.dedent(extra))
        )
        return str(path)

    return write
