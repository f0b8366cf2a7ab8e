"""Short live runs of every strategy on loopback: counts and bytes against
what the scenario implies, and nothing left behind."""

import multiprocessing
import os
import time

import numpy as np
import pytest

from sim.live import plan_live, run_live
from sim.live.wire import envelope
from sim.model.workload import draw_events
from sim.run import run
from tests.live.conftest import needs_rabbitmq, needs_redis

SUBSCRIBERS = 2


def bodies_bytes(plan, name: str) -> int:
    """Bytes of every envelope body (and CloudEvents binary headers) the
    run must carry once per subscriber."""
    events = draw_events(plan.scenario, 0)
    kind = plan.scenario.strategy(name).envelope
    total = 0
    for i, size in enumerate(events.payload_bytes.tolist()):
        body, headers = envelope(kind, i, size, 10**15)
        total += len(body)
        if kind == "cloudevents_binary":
            total += sum(len(f"{k}: {v}\r\n") for k, v in headers.items())
    return total


def assert_cleaned_up(done) -> None:
    assert multiprocessing.active_children() == []
    for pid in done.pids:
        assert not os.path.exists(f"/proc/{pid}"), f"process {pid} is still there"


def live_and_predicted(write_scenario, name: str):
    plan = plan_live(write_scenario(), name)
    done = run_live(plan, name)
    predicted = run(plan.scenario, name, 0).metrics
    return plan, done, done.result.metrics, predicted


def assert_every_event_delivered_once(plan, measured) -> None:
    events = len(draw_events(plan.scenario, 0))
    assert events > 5
    assert measured["events_published"] == events
    assert measured["deliveries"] == events * SUBSCRIBERS
    assert measured["undelivered"] == 0
    assert measured["duplicates"] == 0
    assert np.isfinite(measured["latency_p50_s"])


def test_short_poll_makes_the_polls_the_simulator_predicts(write_scenario):
    plan, done, measured, predicted = live_and_predicted(write_scenario, "short_poll")
    assert_every_event_delivered_once(plan, measured)
    # aligned ticks on a fixed grid: the count does not depend on timing
    assert measured["polls"] == predicted["polls"]
    assert measured["requests_total"] == measured["polls"]
    assert measured["bytes_total"] >= bodies_bytes(plan, "short_poll") * SUBSCRIBERS
    assert measured["bytes_total"] == pytest.approx(predicted["bytes_total"], rel=0.10)
    # half the 0.2 s interval on average, the median somewhere inside it
    assert 0.0 < measured["latency_p50_s"] < 0.2 + 0.05
    assert_cleaned_up(done)


def test_long_poll_answers_each_poll_with_what_is_new(write_scenario):
    plan, done, measured, predicted = live_and_predicted(write_scenario, "long_poll")
    assert_every_event_delivered_once(plan, measured)
    answered_with_events = measured["polls"] - measured["empty_polls"]
    # each answer carries at least one event and at most max_batch (10)
    assert measured["deliveries"] / 10 <= answered_with_events <= measured["deliveries"]
    assert measured["bytes_total"] >= bodies_bytes(plan, "long_poll") * SUBSCRIBERS
    assert measured["bytes_total"] == pytest.approx(predicted["bytes_total"], rel=0.10)
    # a held poll is answered at once, not after its 1 s wait
    assert measured["latency_p50_s"] < 0.1
    assert_cleaned_up(done)


def test_fanout_posts_every_event_to_every_subscriber(write_scenario):
    plan, done, measured, predicted = live_and_predicted(write_scenario, "fanout")
    assert_every_event_delivered_once(plan, measured)
    assert measured["requests_total"] == measured["events_published"] * SUBSCRIBERS
    assert measured["requests_total"] == predicted["requests_total"]
    assert measured["timeouts"] == 0
    assert measured["bytes_total"] >= bodies_bytes(plan, "fanout") * SUBSCRIBERS
    assert measured["bytes_total"] == pytest.approx(predicted["bytes_total"], rel=0.10)
    assert_cleaned_up(done)


@needs_rabbitmq
def test_broker_push_publishes_once_and_delivers_to_each_queue(write_scenario):
    plan, done, measured, predicted = live_and_predicted(
        write_scenario, "rabbitmq_push"
    )
    assert_every_event_delivered_once(plan, measured)
    events = measured["events_published"]
    assert measured["requests_publisher_broker"] == events
    assert measured["requests_broker_subscribers"] == events * SUBSCRIBERS
    assert measured["requests_total"] == predicted["requests_total"]
    # one body to the broker, one to each subscriber, plus AMQP framing
    assert measured["bytes_total"] >= bodies_bytes(plan, "rabbitmq_push") * 3
    assert_cleaned_up(done)
    assert_broker_names_deleted(done.broker_names)


@needs_rabbitmq
def test_broker_poll_gets_one_message_per_request(write_scenario):
    plan, done, measured, predicted = live_and_predicted(
        write_scenario, "rabbitmq_poll"
    )
    assert_every_event_delivered_once(plan, measured)
    # every event takes one basic.get, and every tick ends with an empty one
    assert measured["polls"] - measured["empty_polls"] == measured["deliveries"]
    assert measured["polls"] == predicted["polls"]
    assert measured["requests_publisher_broker"] == measured["events_published"]
    assert_cleaned_up(done)
    assert_broker_names_deleted(done.broker_names)


def assert_broker_names_deleted(names) -> None:
    import pika

    assert names
    connection = pika.BlockingConnection(
        pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F")
    )
    try:
        for name in names[1:]:
            channel = connection.channel()
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="404"):
                channel.queue_declare(name, passive=True)
    finally:
        connection.close()


@needs_redis
def test_redis_push_publishes_once_to_the_channel(write_scenario):
    plan, done, measured, predicted = live_and_predicted(write_scenario, "redis_push")
    assert_every_event_delivered_once(plan, measured)
    events = measured["events_published"]
    assert measured["requests_publisher_broker"] == events
    assert measured["requests_broker_subscribers"] == events * SUBSCRIBERS
    assert measured["bytes_total"] >= bodies_bytes(plan, "redis_push") * 3
    assert_cleaned_up(done)


@needs_redis
def test_redis_long_poll_reads_the_stream_as_a_feed(write_scenario):
    import redis

    plan, done, measured, predicted = live_and_predicted(
        write_scenario, "redis_long_poll"
    )
    assert_every_event_delivered_once(plan, measured)
    answered_with_events = measured["polls"] - measured["empty_polls"]
    assert measured["deliveries"] / 10 <= answered_with_events <= measured["deliveries"]
    assert measured["requests_publisher_broker"] == measured["events_published"]
    # a blocked XREAD is answered as soon as an event is added
    assert measured["latency_p50_s"] < 0.1
    assert_cleaned_up(done)
    client = redis.Redis(host="127.0.0.1", port=6379)
    assert client.exists(*done.broker_names) == 0


def test_a_process_that_fails_is_reported_and_every_process_ends(write_scenario):
    from sim.live import LiveError
    from sim.live.roles import RoleConfig
    from sim.live.runner import _Group, _NoBroker

    plan = plan_live(write_scenario(), "fanout")
    base = dict(
        strategy=plan.scenario.strategy("fanout").model_dump(mode="json"),
        envelope="cloudevents_structured",
        times_s=[0.1],
        sizes=[500],
        subscribers=1,
        duration_s=0.5,
        deadline_s=2.0,
    )
    group = _Group()
    try:
        with pytest.raises(LiveError, match="NoSuchRole 0: KeyError"):
            group.run(
                [
                    RoleConfig("WebhookSubscriber", **base),
                    RoleConfig("NoSuchRole", **base),
                ],
                plan,
                1,
                _NoBroker(plan, 1),
            )
    finally:
        group.close()
    assert multiprocessing.active_children() == []
    assert all(not p.is_alive() for p in group.processes)


@needs_rabbitmq
def test_rabbitmq_objects_of_a_killed_run_expire(write_scenario):
    import pika

    from sim.live.runner import EXPIRY_S, _RabbitMQ

    plan = plan_live(write_scenario(), "rabbitmq_push")
    connection = pika.BlockingConnection(
        pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F")
    )
    try:
        with _RabbitMQ(plan, 2) as broker:
            channel = connection.channel()
            # declaring again with the same properties succeeds; another
            # auto_delete or x-expires would be refused (406)
            channel.exchange_declare(broker.exchange, "fanout", auto_delete=True)
            for q in broker.queues:
                channel.queue_declare(q, arguments={"x-expires": EXPIRY_S * 1000})
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="406"):
                channel.exchange_declare(broker.exchange, "fanout", auto_delete=False)
    finally:
        connection.close()
    assert_broker_names_deleted((broker.exchange, *broker.queues))


@needs_redis
def test_the_redis_stream_of_a_killed_run_expires(write_scenario):
    import redis

    from sim.live.runner import EXPIRY_S, _Redis

    plan = plan_live(write_scenario(), "redis_long_poll")
    client = redis.Redis(host="127.0.0.1", port=6379)
    with _Redis(plan, 2) as broker:
        assert 0 < client.ttl(broker.exchange) <= EXPIRY_S
        client.xadd(broker.exchange, {"d": b"{}"})
        assert 0 < client.ttl(broker.exchange) <= EXPIRY_S
    assert client.exists(broker.exchange) == 0


def test_a_consumer_that_wakes_late_makes_up_the_ticks_it_missed():
    """Ticks passed while a process slept too long are polled at once (the
    model's consumer is on time); ticks passed while a poll was open are
    skipped, as in the model."""
    from sim.live.roles import NS, RoleConfig, _Role
    from sim.live.wire import now_ns

    config = RoleConfig(
        "x",
        strategy={"interval_s": 0.1},
        envelope="none",
        times_s=[0.0],
        sizes=[100],
        subscribers=1,
        duration_s=0.95,
        deadline_s=2.0,
    )

    class Ticker(_Role):
        def __init__(self, config, slow_tick):
            super().__init__(config)
            self.slow_tick = slow_tick
            self.ticks = []

        def _sleep_until(self, at_ns):
            late = 0.35 if not self.ticks else 0.0  # the first wake is late
            return super()._sleep_until(at_ns + int(late * NS))

        def has_everything(self):
            return True

        def tick(self):
            self.ticks.append(round(self.elapsed_s(), 2))
            if len(self.ticks) == 6 and self.slow_tick:
                time.sleep(0.22)  # a poll open over two more ticks
            return True

    for slow_tick, expected in ((False, 10), (True, 8)):
        role = Ticker(config, slow_tick)
        role.t0_ns = now_ns()
        role._on_grid(role.tick)
        # ticks 0.0 .. 0.9 s: ten, of which the slow poll covers two
        assert len(role.ticks) == expected, role.ticks
