"""Start the processes of a live run, time them, stop them, add up.

:func:`run_live` runs one strategy of a :class:`~sim.live.plan.LivePlan`:
it replays the events of replication 0 of the (cut) scenario, so the
simulator's prediction for the same scenario sees the same instants and
payload sizes. Processes are spawned (not forked), start together at one
instant on ``CLOCK_MONOTONIC``, and stop when every subscriber has every
event after the publishing window, or when the drain time is up. Whatever
happens, every process is joined, and killed if it does not end in time,
and the broker's exchange and queues of the run are deleted.

What is counted mirrors the simulator's ledger: a poll answered after the
window counts only if it carried events; a long poll still held when the
run stops is not answered and not counted; the bytes of an exchange count
once it has completed.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from dataclasses import dataclass

import numpy as np

from sim.live.plan import LiveError, LivePlan
from sim.live.roles import NS, RoleConfig, main
from sim.live.wire import (
    MIN_PAYLOAD_BYTES,
    broker_process,
    now_ns,
    process_cpu_s,
    start_ignoring_interrupts,
)
from sim.metrics import latency_quantiles, metrics_row
from sim.model import Outcome
from sim.model.ledger import LINKS, ROLES
from sim.model.streams import name_key, stream
from sim.model.workload import draw_events
from sim.run import RunResult

START_MARGIN_S = 0.5  # from the last process ready to the common start
JOIN_S = 5.0  # how long a process may take to exit once told to stop
EXPIRY_S = 60  # a broker object outlives a killed run by at most this
REFRESH_S = 5.0  # how often a running run renews its broker objects' expiry


@dataclass(frozen=True)
class LiveRun:
    """A live run's metrics (as a simulated run's) and how it was made."""

    result: RunResult
    transport: str
    notes: tuple[str, ...]
    pids: tuple[int, ...]  # the run's processes, all ended
    broker_names: tuple[str, ...]  # its exchange and queues, all deleted


def run_live(plan: LivePlan, strategy_name: str) -> LiveRun:
    """Run ``strategy_name`` of ``plan`` live and measure it."""
    scenario = plan.scenario
    strategy = scenario.strategy(strategy_name)
    transport = plan.transports[strategy_name]
    events = draw_events(scenario, 0)
    sim = scenario.simulation
    subscribers = scenario.workload.subscribers
    notes = []
    sizes = events.payload_bytes.tolist()
    small = sum(1 for s in sizes if s < MIN_PAYLOAD_BYTES)
    if small:
        notes.append(
            f"{small} payloads smaller than {MIN_PAYLOAD_BYTES} B were sent at "
            f"{MIN_PAYLOAD_BYTES} B (the event number and publish instant must "
            "fit); a simulated run of this scenario sends them at their drawn size"
        )

    base = dict(
        strategy=strategy.model_dump(mode="json"),
        envelope=strategy.envelope,
        times_s=events.times.tolist(),
        sizes=sizes,
        subscribers=subscribers,
        duration_s=sim.duration_s,
        deadline_s=sim.duration_s + plan.drain_s,
        concurrency=scenario.subscriber.concurrency,
    )
    service = [
        scenario.subscriber.service_time_s.draw(
            stream(sim.seed, 0, "service", i), max(len(events), 1)
        ).tolist()
        for i in range(subscribers)
    ]
    phases = (
        [0.0] * subscribers
        if getattr(strategy, "phase", "random") == "aligned"
        else stream(sim.seed, 0, "phase", name_key(strategy.name))
        .uniform(0.0, getattr(strategy, "interval_s", 0.0), subscribers)
        .tolist()
    )

    started = time.perf_counter()
    broker = BROKERS[transport](plan, subscribers)
    with broker:
        group = _Group()
        try:
            configs = _configs(strategy, transport, base, service, phases, broker)
            outputs = group.run(configs, plan, subscribers * len(events), broker)
        finally:
            group.close()
    wall_s = time.perf_counter() - started

    metrics, quantiles = _metrics(
        strategy, transport, outputs, len(events), subscribers, sim
    )
    if transport != "http" and outputs["broker_cpu_s"] is None:
        notes.append("the broker's process is not visible: its CPU is not measured")
    return LiveRun(
        result=RunResult(
            scenario=scenario.name,
            strategy=strategy.name,
            kind=strategy.kind,
            replication=0,
            seed=sim.seed,
            metrics=metrics,
            latency_quantiles_s=quantiles,
            wall_s=wall_s,
        ),
        transport=transport,
        notes=tuple(notes),
        pids=tuple(p.pid for p in group.processes),
        broker_names=tuple(filter(None, [broker.exchange, *broker.queues])),
    )


def _configs(strategy, transport, base, service, phases, broker) -> list[RoleConfig]:
    """Subscribers' processes first (fan-out needs their ports), publisher last."""
    n = base["subscribers"]
    if transport == "redis":
        redis = dict(broker_url=broker.url, exchange=broker.exchange)
        role = "RedisSubscriber" if strategy.kind == "broker" else "RedisPoller"
        subs = [
            RoleConfig(
                role, index=i, service_s=service[i], phase_s=phases[i], **redis, **base
            )
            for i in range(n)
        ]
        return [*subs, RoleConfig("RedisPublisher", **redis, **base)]
    if transport == "rabbitmq":
        amqp = dict(broker_url=broker.url, exchange=broker.exchange)
        role = "BrokerPoller" if strategy.kind == "short_poll" else "BrokerSubscriber"
        subs = [
            RoleConfig(
                role,
                index=i,
                service_s=service[i],
                phase_s=phases[i],
                queue=broker.queues[i],
                **amqp,
                **base,
            )
            for i in range(n)
        ]
        return [*subs, RoleConfig("BrokerPublisher", **amqp, **base)]
    if strategy.kind == "fanout":
        subs = [
            RoleConfig("WebhookSubscriber", index=i, service_s=service[i], **base)
            for i in range(n)
        ]
        publisher = RoleConfig(
            "FanoutPublisher", **{**base, "concurrency": strategy.concurrency}
        )
        return [*subs, publisher]
    subs = [
        RoleConfig(
            "PollConsumer", index=i, service_s=service[i], phase_s=phases[i], **base
        )
        for i in range(n)
    ]
    return [*subs, RoleConfig("FeedPublisher", **base)]


class _Group:
    """The processes of one run, started together and always cleaned up."""

    def __init__(self):
        self.context = multiprocessing.get_context("spawn")
        self.processes: list = []
        self.pipes: list = []

    def run(self, configs: list[RoleConfig], plan: LivePlan, expected: int, broker):
        """Start every process, run them from one instant, and collect what
        they measured. ``configs`` ends with the publisher's."""
        *subscribers, publisher = configs
        delivered = self.context.Array("q", len(subscribers))
        # whoever serves starts first: the others' configurations need its port
        if publisher.role == "FeedPublisher":
            self._start(publisher, delivered)
            port = self._ready(0)["port"]
            for config in subscribers:
                config.feed_port = port
                self._start(config, delivered)
            for i in range(len(subscribers)):
                self._ready(i + 1)
            order = [publisher, *subscribers]
        else:
            for config in subscribers:
                self._start(config, delivered)
            ports = [self._ready(i).get("port") for i in range(len(subscribers))]
            publisher.subscriber_ports = ports
            self._start(publisher, delivered)
            self._ready(len(subscribers))
            order = [*subscribers, publisher]

        t0 = now_ns() + int(START_MARGIN_S * NS)
        broker_before = broker.cpu_s()
        for pipe in self.pipes:
            pipe.send(("start", t0))

        end = t0 + int(publisher.deadline_s * NS)
        window_end = t0 + int(publisher.duration_s * NS)
        refresh_at = now_ns() + int(REFRESH_S * NS)
        while now_ns() < end:
            if now_ns() >= window_end and sum(delivered[:]) >= expected:
                break
            if any(not p.is_alive() for p in self.processes):
                break
            if now_ns() >= refresh_at:
                broker.refresh()
                refresh_at = now_ns() + int(REFRESH_S * NS)
            time.sleep(0.01)
        self._stop()
        broker_after = broker.cpu_s()

        results = {id(c): self._result(i) for i, c in enumerate(order)}
        return {
            "subscribers": [results[id(c)] for c in subscribers],
            "publisher": results[id(publisher)],
            "broker_cpu_s": None
            if broker_before is None or broker_after is None
            else broker_after - broker_before,
        }

    def _start(self, config: RoleConfig, delivered) -> None:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=main, args=(config, child, delivered), daemon=True
        )
        start_ignoring_interrupts(process)
        child.close()
        self.processes.append(process)
        self.pipes.append(parent)

    def _ready(self, i: int) -> dict:
        kind, info = self._receive(i, 60.0, "set up")
        if kind != "ready":
            raise LiveError(f"a live process failed to start: {info}")
        return info

    def _result(self, i: int) -> dict:
        kind, info = self._receive(i, JOIN_S + 5.0, "report")
        if kind != "result":
            raise LiveError(f"a live process failed: {info}")
        return info

    def _receive(self, i: int, timeout_s: float, what: str):
        pipe, process = self.pipes[i], self.processes[i]
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if pipe.poll(0.1):
                    return pipe.recv()
                if not process.is_alive() and not pipe.poll(0):
                    return (
                        "error",
                        f"process {i} exited ({process.exitcode}) "
                        f"before it could {what}",
                    )
        except (EOFError, OSError):
            return ("error", f"process {i} closed its pipe before it could {what}")
        return ("error", f"process {i} did not {what} within {timeout_s:g} s")

    def _stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop", 0))
            except OSError:
                pass  # that process is gone already

    def close(self) -> None:
        self._stop()
        deadline = time.monotonic() + JOIN_S
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        for pipe in self.pipes:
            pipe.close()


class _NoBroker:
    url = exchange = ""
    queues: tuple[str, ...] = ()

    def __init__(self, plan: LivePlan, subscribers: int):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def cpu_s(self) -> float | None:
        return 0.0

    def refresh(self) -> None:
        pass


class _RabbitMQ:
    """The run's fan-out exchange and one queue per subscriber on RabbitMQ,
    under names no other run uses; deleted on the way out. Should this
    process die, each queue expires ``EXPIRY_S`` after its last use
    (``x-expires``) and the exchange, ``auto_delete``, goes with the last
    queue bound to it."""

    def __init__(self, plan: LivePlan, subscribers: int):
        self.url = plan.spec.broker_url
        tag = f"pollpush.live.{uuid.uuid4().hex[:12]}"
        self.exchange = tag
        self.queues = [f"{tag}.{i}" for i in range(subscribers)]
        self.pid = broker_process("beam", "rabbit")

    def __enter__(self):
        self.connection = connect("rabbitmq", self.url)
        channel = self.connection.channel()
        channel.exchange_declare(self.exchange, "fanout", auto_delete=True)
        for q in self.queues:
            channel.queue_declare(q, arguments={"x-expires": EXPIRY_S * 1000})
            channel.queue_bind(q, self.exchange)
        self.channel = channel
        return self

    def refresh(self) -> None:
        """Nothing to do: a queue in use does not expire."""

    def __exit__(self, *exc) -> None:
        try:
            for q in self.queues:
                self.channel.queue_delete(q)
            # gone with its last queue (auto_delete); deleting is idempotent
            self.channel.exchange_delete(self.exchange)
        finally:
            self.connection.close()

    def cpu_s(self) -> float | None:
        try:
            return None if self.pid is None else process_cpu_s(self.pid)
        except OSError:
            return None


class _Redis:
    """The run's pub/sub channel and stream on Redis, under a name no other
    run uses; the stream is deleted on the way out. It is created empty
    before the run with a time to live of ``EXPIRY_S``, renewed while the
    run goes on (``XADD`` keeps it), so a killed run's stream is gone
    within a minute. A channel holds nothing to delete."""

    def __init__(self, plan: LivePlan, subscribers: int):
        self.url = plan.spec.redis_url
        self.exchange = f"pollpush.live.{uuid.uuid4().hex[:12]}"
        self.queues: tuple[str, ...] = ()
        self.pid = broker_process("redis-server", "redis-server")

    def __enter__(self):
        self.client = connect("redis", self.url)
        # an empty stream (MKSTREAM with a group nobody reads from), so that
        # it has its time to live before the first event is added
        self.client.xgroup_create(self.exchange, "pollpush", id="$", mkstream=True)
        self.refresh()
        return self

    def refresh(self) -> None:
        self.client.expire(self.exchange, EXPIRY_S)

    def __exit__(self, *exc) -> None:
        try:
            self.client.delete(self.exchange)
        finally:
            self.client.close()

    cpu_s = _RabbitMQ.cpu_s


BROKERS = {"http": _NoBroker, "rabbitmq": _RabbitMQ, "redis": _Redis}
_SETTING = {"rabbitmq": "live.broker_url", "redis": "live.redis_url"}
_NAME = {"rabbitmq": "RabbitMQ", "redis": "Redis"}


def connect(broker: str, url: str):
    """An open connection to ``broker`` (``"rabbitmq"``: a pika connection,
    ``"redis"``: a client that has answered a PING), or a LiveError that
    says what failed: the URL, the connection (refused, at which address) or
    the broker's answer."""
    from sim.live.roles import _amqp, _redis

    name, setting = _NAME[broker], _SETTING[broker]
    try:
        client = _amqp(url) if broker == "rabbitmq" else _redis(url)
        if broker == "redis":
            try:
                client.ping()
            except BaseException:
                client.close()
                raise
        return client
    except ImportError as exc:
        raise LiveError(
            f"{name} strategies need {exc.name} (pip install -e '.[live]')"
        ) from None
    except (ValueError, TypeError) as exc:
        raise LiveError(
            f"{setting}: {url!r} is not a valid {name} URL ({exc})"
        ) from None
    except Exception as exc:
        raise LiveError(
            f"{name} at {url}: {_why(url, exc)}; start it, or set {setting}"
        ) from None


def _why(url: str, exc: Exception) -> str:
    """What went wrong connecting to ``url``, in words."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (5672 if parts.scheme == "amqp" else 6379)
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        return f"{reason} at {host}:{port}"
    detail = str(exc).strip() or ", ".join(map(str, exc.args))
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def check_brokers(plan: LivePlan) -> None:
    """Connect to every broker the plan's strategies go through, and let go:
    a LiveError before anything runs rather than after the first runs."""
    for broker in sorted(set(plan.transports.values()) - {"http"}):
        client = connect(broker, plan.spec.url(broker))
        client.close()


def _polls(logs, duration_s: float) -> tuple[int, int]:
    """Polls answered, and of them empty, by the ledger's window rule: a
    poll after the window counts only if it brought events, and one still
    held when its consumer was stopped does not count."""
    answered = [
        n
        for log, stopped_at in logs
        for start, n, end in log
        if end <= stopped_at and (start < duration_s or n > 0)
    ]
    return len(answered), sum(1 for n in answered if n == 0)


def _metrics(
    strategy, transport, outputs, n_events, n_subs, sim
) -> tuple[dict[str, float], tuple[float, ...]]:
    """The live run's figures in the columns of a simulated run, and its
    latency at the quantiles a simulated run keeps."""
    subs, pub = outputs["subscribers"], outputs["publisher"]
    latency = np.full((n_events, n_subs), np.nan)
    duplicates = 0
    for i, r in enumerate(subs):
        for event, value in r["latency_s"].items():
            latency[event, i] = value
        duplicates += r["counts"].get("duplicates", 0)

    link_bytes = dict.fromkeys(LINKS, 0)
    link_requests = dict.fromkeys(LINKS, 0)
    polls = empty = timeouts = errors = 0
    if transport != "http":
        link_bytes["publisher_broker"] = pub["broker_bytes"]
        link_bytes["broker_subscribers"] = sum(r["broker_bytes"] for r in subs)
        link_requests["publisher_broker"] = pub["counts"].get("publishes", 0)
        if strategy.kind != "broker":
            logs = [(r["poll_log"], r["stopped_at_s"]) for r in subs]
            polls, empty = _polls(logs, sim.duration_s)
            link_requests["broker_subscribers"] = polls
        else:
            link_requests["broker_subscribers"] = sum(
                r["counts"].get("pushes", 0) for r in subs
            )
    elif strategy.kind == "fanout":
        link_bytes["publisher_subscribers"] = pub["http_bytes"]
        link_requests["publisher_subscribers"] = pub["counts"].get("requests", 0)
        timeouts = pub["counts"].get("timeouts", 0)
        errors = pub["counts"].get("transport_errors", 0)
    else:
        # the consumers' logs, as for a broker: each poll's start is the
        # instant an on-time consumer would have sent it
        logs = [(r["poll_log"], r["stopped_at_s"]) for r in subs]
        polls, empty = _polls(logs, sim.duration_s)
        link_bytes["publisher_subscribers"] = sum(r["http_bytes"] for r in subs)
        link_requests["publisher_subscribers"] = polls

    broker_cpu = outputs["broker_cpu_s"]
    cpu = {
        "publisher": pub["cpu_s"],
        "broker": 0.0
        if transport == "http"
        else (broker_cpu if broker_cpu is not None else np.nan),
        "subscribers": sum(r["cpu_s"] for r in subs),
        "storage": 0.0,
        "sidecars": 0.0,
    }
    counts = {
        "requests": sum(link_requests.values()),
        "polls": polls,
        "empty_polls": empty,
        "timeouts": timeouts,
        "transport_errors": errors,
        "http_400": 0,
        "http_429": 0,
        "http_500": 0,
        "http_503": 0,
        "retries": 0,
        "dead_lettered": 0,
        "duplicates": duplicates,
        "redeliveries": 0,
        **{f"requests_{link}": n for link, n in link_requests.items()},
    }
    outcome = Outcome(
        events_published=n_events,
        latency_s=latency.reshape(-1),
        censored_s=np.empty(0),
        round_trip_s=None,
        wanted=None,
        cpu_s={role: cpu[role] for role in ROLES},
        bytes=link_bytes,
        counts=counts,
        down_s=0.0,
        stopped_at_s=sim.duration_s,
    )
    metrics = metrics_row(outcome)
    if np.isnan(cpu["broker"]):
        # the broker's CPU is unknown: the total is what was measured
        total = sum(v for v in cpu.values() if not np.isnan(v))
        metrics["cpu_s_total"] = total
        metrics["cpu_s_per_event"] = total / n_events if n_events else np.nan
    return metrics, latency_quantiles(outcome)
