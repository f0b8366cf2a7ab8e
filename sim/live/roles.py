"""The processes of a live run: publisher, consumers and subscribers.

Each role is a class built in its own process from a plain configuration
(:class:`RoleConfig`): it sets up (binds its server, opens its connections),
reports ready, waits for the common start instant, runs until told to stop
or until its hard deadline, and returns what it measured. Servers bind port
0 on 127.0.0.1; every blocking call carries a timeout.

Roles and what they stand for in the simulator:

- :class:`FeedPublisher` serves the feed that short and long polls read by
  offset (``GET /feed?after=K&max=M&wait=S``); an answer is the batch's
  envelopes, one per line;
- :class:`PollConsumer` polls it for one subscriber;
- :class:`FanoutPublisher` POSTs every event to every subscriber with at
  most ``concurrency`` calls in flight;
- :class:`WebhookSubscriber` answers those POSTs once a worker has the event;
- :class:`BrokerPublisher` publishes each event once to a RabbitMQ fan-out
  exchange, waiting for the broker's confirm (the model's POST to a broker);
- :class:`BrokerSubscriber` takes pushes (``basic.consume``) and acknowledges
  each once handled; :class:`BrokerPoller` polls its queue (``basic.get``);
- :class:`RedisPublisher`, :class:`RedisSubscriber` and :class:`RedisPoller`
  do the same through Redis: pub/sub for push, a stream read with ``XREAD``
  (``BLOCK`` for a long poll) for polling.
"""

from __future__ import annotations

import http.client
import http.server
import queue
import signal
import socketserver
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from sim.live.wire import (
    ConnectionMeter,
    cpu_s,
    envelope,
    now_ns,
    read_event,
    tcp_bytes_to,
)

NS = 1_000_000_000


@dataclass
class RoleConfig:
    """Everything a role needs, picklable for a spawned process."""

    role: str
    strategy: dict
    envelope: str
    times_s: list[float]
    sizes: list[int]
    subscribers: int
    duration_s: float
    deadline_s: float
    index: int = 0
    service_s: list[float] = field(default_factory=list)
    concurrency: int = 1
    feed_port: int = 0
    subscriber_ports: list[int] = field(default_factory=list)
    broker_url: str = ""
    exchange: str = ""
    queue: str = ""
    phase_s: float = 0.0


class _Role:
    """Setup, a run between the start instant and the stop, a result."""

    def __init__(self, config: RoleConfig, delivered=None):
        self.config = config
        self.delivered = delivered
        self.t0_ns = 0
        self.stop = threading.Event()
        self.latency_s: dict[int, float] = {}
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.meter = ConnectionMeter()
        self.broker_port = 0  # set by roles that hold a broker connection
        self.broker_bytes_at_stop: int | None = None
        self.poll_log: list[tuple[float, int, float]] = []  # start, events, end
        self.late_s = 0.0  # how late the current grid tick woke
        self.stopped_at_s = float("inf")
        self._warm_up()

    def _warm_up(self) -> None:
        """Build and inspect one envelope before the start, so that first-use
        costs (imports, caches) fall outside the measured window."""
        body, headers = envelope(self.config.envelope, 0, 64, now_ns())
        read_event(self.config.envelope, body, headers)

    def ready_info(self) -> dict:
        return {}

    def run(self, t0_ns: int, conn) -> dict:
        """Run from ``t0_ns`` until the parent says stop on ``conn``, this
        role is done, or the deadline passes."""
        self.t0_ns = t0_ns
        self._sleep_until(t0_ns)
        started = cpu_s()
        # the broker connection's handshake and declarations came before t0
        broker_before = tcp_bytes_to(self.broker_port) if self.broker_port else 0
        watcher = threading.Thread(target=self._watch, args=(conn,), daemon=True)
        watcher.start()
        self.work()
        self.stop.set()
        with self.lock:
            broker = 0
            if self.broker_port:
                after = self.broker_bytes_at_stop
                after = tcp_bytes_to(self.broker_port) if after is None else after
                broker = after - broker_before
            return {
                "cpu_s": cpu_s() - started,
                "http_bytes": self.meter.total,
                "broker_bytes": broker,
                "latency_s": dict(self.latency_s),
                "counts": dict(self.counts),
                "poll_log": list(self.poll_log),
                "stopped_at_s": min(self.stopped_at_s, self.elapsed_s()),
                **self.extra_result(),
            }

    def work(self) -> None:
        raise NotImplementedError

    def extra_result(self) -> dict:
        return {}

    def close(self) -> None:
        pass

    # -- time --------------------------------------------------------------

    def elapsed_s(self) -> float:
        return (now_ns() - self.t0_ns) / NS

    def _sleep_until(self, at_ns: int) -> bool:
        """Sleep until ``at_ns``; False if told to stop first."""
        while (left := (at_ns - now_ns()) / NS) > 0:
            if self.stop.wait(left):
                return False
        return not self.stop.is_set()

    def _watch(self, conn) -> None:
        """Raise the stop when the parent says so or at the deadline; blocks
        without polling, so an idle role costs no CPU."""
        left = (self.t0_ns + int(self.config.deadline_s * NS) - now_ns()) / NS
        try:
            if conn.poll(max(left, 0.0)):
                conn.recv()
        except (EOFError, OSError):
            pass
        self.stopped_at_s = self.elapsed_s()
        self.stop.set()
        self.on_stop()

    def on_stop(self) -> None:
        """Unblock whatever waits on the network once the run is stopped."""

    # -- receiving ---------------------------------------------------------

    def received(self, body: bytes, headers) -> None:
        """A subscriber's worker starts on an event: its reaction latency
        ends. The envelope is inspected, then the worker spends the event's
        service time."""
        event, published_ns = read_event(self.config.envelope, body, headers)
        latency = (now_ns() - published_ns) / NS
        with self.lock:
            if event in self.latency_s:
                self._count("duplicates")
            else:
                self.latency_s[event] = latency
                with self.delivered.get_lock():
                    self.delivered[self.config.index] += 1
        service = self.config.service_s
        if service:
            time.sleep(service[event % len(service)])

    def _on_grid(self, tick) -> None:
        """Call ``tick`` at ``phase_s + k * interval_s`` while polls are
        wanted and ``tick`` returns True, as a consumer that is never late
        would (the model's): a tick that passes while that consumer's poll
        would still be open (one opened at its tick's instant and lasting as
        long as this one did) is skipped; one that passed only because this
        process woke late is made up at once. ``late_s`` holds how late the
        current tick woke, which a poll's logged start leaves out."""
        interval, phase, k = self.config.strategy["interval_s"], self.config.phase_s, 0
        while True:
            at_s = phase + k * interval
            if not self._sleep_until(self.t0_ns + int(at_s * NS)):
                return
            woke_s = self.elapsed_s()
            self.late_s = max(0.0, woke_s - at_s)
            if not self._wanted() or not tick():
                return
            open_until_s = at_s + (self.elapsed_s() - woke_s)
            k += 1
            while phase + k * interval <= open_until_s:
                k += 1

    def _wanted(self) -> bool:
        """Poll on during the window, and after it while events are missing
        (the simulator counts no empty poll after the window)."""
        if self.stop.is_set():
            return False
        on_time_s = self.elapsed_s() - self.late_s
        return on_time_s < self.config.duration_s or not self.has_everything()

    def has_everything(self) -> bool:
        return len(self.latency_s) >= len(self.config.times_s)

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def _publish_all(self, publish) -> None:
        """Call ``publish(event, published_ns)`` at each event's instant."""
        for event, at_s in enumerate(self.config.times_s):
            if not self._sleep_until(self.t0_ns + int(at_s * NS)):
                return
            publish(event, now_ns())


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # headers and body go out in two writes; with Nagle's algorithm the body
    # would wait for the client's delayed ACK of the headers (40 ms on Linux)
    disable_nagle_algorithm = True
    role: _Role

    def log_message(self, *args) -> None:
        pass


def _serve(role: _Role, handler: type) -> tuple[_Server, int]:
    server = _Server(("127.0.0.1", 0), type("H", (handler,), {"role": role}))
    port = server.server_address[1]
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True
    ).start()
    return server, port


# -- polling the publisher's feed -------------------------------------------


class FeedPublisher(_Role):
    """Publishes each event into a feed that consumers read by offset."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.bodies: list[bytes] = []
        self.changed = threading.Condition()
        self.polls: list[tuple[float, int]] = []  # (arrival, events) answered
        self.server, self.port = _serve(self, _FeedHandler)

    def ready_info(self) -> dict:
        return {"port": self.port}

    def work(self) -> None:
        kind = self.config.envelope
        sizes = self.config.sizes

        def publish(event: int, published_ns: int) -> None:
            body, _ = envelope(kind, event, sizes[event], published_ns)
            with self.changed:
                self.bodies.append(body)
                self.changed.notify_all()

        self._publish_all(publish)
        self.stop.wait(self.config.deadline_s)
        with self.changed:
            self.changed.notify_all()

    def take(self, after: int, most: int, wait_s: float, arrived_s: float):
        """The envelopes after offset ``after``, waiting up to ``wait_s`` for
        one; None once the run has stopped (the poll is not answered)."""
        with self.changed:
            if wait_s > 0:
                self.changed.wait_for(
                    lambda: len(self.bodies) > after or self.stop.is_set(), wait_s
                )
            if self.stop.is_set():
                return None
            batch = self.bodies[after : after + most]
            self.polls.append((arrived_s, len(batch)))
        return batch

    def extra_result(self) -> dict:
        with self.changed:
            return {"polls": list(self.polls)}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _FeedHandler(_Handler):
    def do_GET(self) -> None:
        role = self.role
        arrived_s = role.elapsed_s()
        query = parse_qs(urlsplit(self.path).query)
        batch = role.take(
            int(query["after"][0]),
            int(query["max"][0]),
            float(query.get("wait", ["0"])[0]),
            arrived_s,
        )
        if batch is None:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        body = b"\n".join(batch)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class PollConsumer(_Role):
    """Short or long polls of the feed for one subscriber.

    A short-poll consumer polls on a grid ``phase_s + k * interval_s`` and
    at once again after a full batch (``repoll_when_full``); a tick that
    finds a poll still open is skipped. A long-poll consumer asks again as
    soon as an answer is in. After the publishing window a consumer polls
    only while it lacks events, as the simulator stops counting then.
    """

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        s = config.strategy
        self.long = s["kind"] == "long_poll"
        self.wait_s = s.get("wait_s", 0.0) if self.long else 0.0
        self.offset = 0
        self.connect()

    def connect(self) -> None:
        self.conn = http.client.HTTPConnection(
            "127.0.0.1", self.config.feed_port, timeout=self.wait_s + 10
        )

    def work(self) -> None:
        s = self.config.strategy
        if self.long:
            while self._wanted() and self._poll() is not None:
                pass
            return

        def tick() -> bool:
            while (count := self._poll()) == s["max_batch"] and s["repoll_when_full"]:
                if not self._wanted():
                    return False
            return count is not None

        self._on_grid(tick)

    def _poll(self) -> int | None:
        """One poll: the number of events it brought, None if it failed or
        the run stopped while it was held."""
        started = self.elapsed_s() - self.late_s
        bodies = self._fetch(self.config.strategy["max_batch"])
        if bodies is None:
            return None
        with self.lock:
            self.poll_log.append((started, len(bodies), self.elapsed_s()))
        self._count("polls")
        self.offset += len(bodies)
        for body in bodies:
            self.received(body, {"content-type": "application/json"})
        return len(bodies)

    def _fetch(self, most: int) -> list[bytes] | None:
        path = f"/feed?after={self.offset}&max={most}&wait={self.wait_s:g}"
        try:
            self.conn.request("GET", path)
            answer = self.conn.getresponse()
            body = answer.read()
        except (OSError, http.client.HTTPException):
            return None
        if answer.status != 200:
            return None
        self.meter.read(self.conn.sock)
        return body.split(b"\n") if body else []

    def close(self) -> None:
        self.conn.close()


# -- direct fan-out ----------------------------------------------------------


class FanoutPublisher(_Role):
    """POSTs each event to each subscriber, FIFO, ``concurrency`` at a time;
    each sending thread keeps one keep-alive connection per subscriber."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.pending: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.timeout_s = config.strategy["timeout_s"]

    def work(self) -> None:
        kind, sizes = self.config.envelope, self.config.sizes
        senders = [
            threading.Thread(target=self._send_loop, daemon=True)
            for _ in range(self.config.concurrency)
        ]
        for t in senders:
            t.start()

        def publish(event: int, published_ns: int) -> None:
            body, headers = envelope(kind, event, sizes[event], published_ns)
            for port in self.config.subscriber_ports:
                self.pending.put((port, body, headers))

        self._publish_all(publish)
        for _ in senders:
            self.pending.put(None)
        for t in senders:
            t.join(timeout=max(0.0, self.config.deadline_s - self.elapsed_s()))
        self.stop.wait(max(0.0, self.config.deadline_s - self.elapsed_s()))

    def _send_loop(self) -> None:
        conns: dict[int, http.client.HTTPConnection] = {}
        while not self.stop.is_set():
            try:
                item = self.pending.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                return
            port, body, headers = item
            conn = conns.get(port)
            if conn is None:
                conn = conns[port] = http.client.HTTPConnection(
                    "127.0.0.1", port, timeout=self.timeout_s
                )
            try:
                conn.request("POST", "/events", body=body, headers=headers)
                conn.getresponse().read()
                with self.lock:
                    self.meter.read(conn.sock)
                    self._count("requests")
            except TimeoutError:
                with self.lock:
                    self._count("requests")
                    self._count("timeouts")
                conn.close()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self._count("transport_errors")
                conn.close()


class WebhookSubscriber(_Role):
    """Answers each POSTed event with 204 once a worker has taken it;
    ``concurrency`` workers."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.workers = threading.Semaphore(config.concurrency)
        self.server, self.port = _serve(self, _WebhookHandler)

    def ready_info(self) -> dict:
        return {"port": self.port}

    def work(self) -> None:
        self.stop.wait(self.config.deadline_s)

    def take(self, body: bytes, headers) -> None:
        with self.workers:
            self.received(body, headers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _WebhookHandler(_Handler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.role.take(body, self.headers)
        self.send_response(204)
        self.end_headers()


# -- RabbitMQ ----------------------------------------------------------------


def _amqp(url: str):
    import pika

    params = pika.URLParameters(url)
    params.socket_timeout = 5
    params.blocked_connection_timeout = 10
    return pika.BlockingConnection(params)


def _port(url: str, default: int = 5672) -> int:
    return urlsplit(url).port or default


def _properties(headers: dict):
    import pika

    extra = {k: v for k, v in headers.items() if k.startswith("ce-")}
    return pika.BasicProperties(
        content_type=headers.get("content-type"), headers=extra or None
    )


class BrokerPublisher(_Role):
    """Publishes each event once to the run's fan-out exchange and waits
    for the broker's confirm."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.connection = _amqp(config.broker_url)
        self.broker_port = _port(config.broker_url)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def work(self) -> None:
        kind, sizes = self.config.envelope, self.config.sizes

        def publish(event: int, published_ns: int) -> None:
            body, headers = envelope(kind, event, sizes[event], published_ns)
            self.channel.basic_publish(
                self.config.exchange, "", body, _properties(headers)
            )
            self._count("publishes")

        self._publish_all(publish)
        while not self.stop.is_set():
            self.connection.process_data_events(time_limit=0.1)

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


class BrokerSubscriber(_Role):
    """Takes the broker's pushes from its queue (``basic.consume``, at most
    ``push_concurrency`` unacknowledged) and acknowledges each once handled.
    Messages are handled one at a time, on the connection's thread."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.connection = _amqp(config.broker_url)
        self.broker_port = _port(config.broker_url)
        self.channel = self.connection.channel()
        self.channel.basic_qos(prefetch_count=config.strategy["push_concurrency"])

    def work(self) -> None:
        def on_message(channel, method, properties, body) -> None:
            self._count("pushes")
            headers = {"content-type": properties.content_type or "application/json"}
            headers.update(properties.headers or {})
            self.received(body, headers)
            channel.basic_ack(method.delivery_tag)

        self.channel.basic_consume(self.config.queue, on_message)
        while not self.stop.is_set():
            self.connection.process_data_events(time_limit=0.1)
            if self.elapsed_s() >= self.config.duration_s and self.has_everything():
                break

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


class BrokerPoller(_Role):
    """Short-polls its queue with ``basic.get`` (no acknowledgement, as a
    feed read by offset needs none), on the grid of a short-poll consumer,
    and at once again after each message it got."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.connection = _amqp(config.broker_url)
        self.broker_port = _port(config.broker_url)
        self.channel = self.connection.channel()

    def work(self) -> None:
        def tick() -> bool:
            while self._get() and self._wanted():
                pass
            return True

        self._on_grid(tick)

    def _get(self) -> bool:
        started = self.elapsed_s() - self.late_s
        method, properties, body = self.channel.basic_get(
            self.config.queue, auto_ack=True
        )
        with self.lock:
            self.poll_log.append((started, int(method is not None), self.elapsed_s()))
        if method is None:
            return False
        headers = {"content-type": properties.content_type or "application/json"}
        headers.update(properties.headers or {})
        self.received(body, headers)
        return True

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


# -- Redis -------------------------------------------------------------------


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


class RedisPublisher(_Role):
    """Publishes each event once: ``PUBLISH`` on the run's channel for push,
    ``XADD`` to the run's stream for polling."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.client = _redis(config.broker_url)
        self.client.ping()
        self.broker_port = _port(config.broker_url, 6379)

    def work(self) -> None:
        kind, sizes, name = (
            self.config.envelope,
            self.config.sizes,
            self.config.exchange,
        )
        push = self.config.strategy["kind"] == "broker"

        def publish(event: int, published_ns: int) -> None:
            body, _ = envelope(kind, event, sizes[event], published_ns)
            if push:
                self.client.publish(name, body)
            else:
                self.client.xadd(name, {"d": body})
            self._count("publishes")

        self._publish_all(publish)
        self.stop.wait(max(0.0, self.config.deadline_s - self.elapsed_s()))

    def close(self) -> None:
        self.client.close()


class RedisSubscriber(_Role):
    """Takes the channel's pushes (Redis pub/sub: no acknowledgement and no
    flow control, so ``push_concurrency`` has no say), one at a time."""

    def __init__(self, config: RoleConfig, delivered=None):
        super().__init__(config, delivered)
        self.client = _redis(config.broker_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(config.exchange)
        self.pubsub.get_message(timeout=5)  # the subscription's confirmation
        self.broker_port = _port(config.broker_url, 6379)

    def work(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "message":
                self._count("pushes")
                self.received(message["data"], {"content-type": "application/json"})
            if self.elapsed_s() >= self.config.duration_s and self.has_everything():
                break

    def close(self) -> None:
        self.pubsub.close()
        self.client.close()


class RedisPoller(PollConsumer):
    """Reads the run's stream from its own last id: ``XREAD COUNT max_batch``
    is a short poll, with ``BLOCK wait_s`` a long poll; the stream keeps
    every event, so each consumer reads all of them, as from a feed."""

    def connect(self) -> None:
        self.client = _redis(self.config.broker_url)
        self.client.ping()
        self.broker_port = _port(self.config.broker_url, 6379)
        self.last_id = "0-0"

    def _fetch(self, most: int) -> list[bytes] | None:
        import redis

        block = int(self.wait_s * 1000) if self.long else None
        try:
            answer = self.client.xread(
                {self.config.exchange: self.last_id}, count=most, block=block
            )
        except redis.RedisError:  # closed by on_stop, or a failure
            return None
        if self.stop.is_set():
            return None  # answered after the run stopped: not counted
        entries = answer[0][1] if answer else []
        if entries:
            self.last_id = entries[-1][0]
        return [fields[b"d"] for _, fields in entries]

    def on_stop(self) -> None:
        # a long poll may be held for wait_s: note the bytes, then close
        with self.lock:
            self.broker_bytes_at_stop = tcp_bytes_to(self.broker_port)
        self.client.connection_pool.disconnect()

    def close(self) -> None:
        self.client.close()


ROLES = {
    cls.__name__: cls
    for cls in (
        FeedPublisher,
        PollConsumer,
        FanoutPublisher,
        WebhookSubscriber,
        BrokerPublisher,
        BrokerSubscriber,
        BrokerPoller,
        RedisPublisher,
        RedisSubscriber,
        RedisPoller,
    )
}


def main(config: RoleConfig, conn, delivered) -> None:
    """A role's process: set up, report ready, run from the start instant
    the parent sends, report the result, and clean up in every case."""
    role = None
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    try:
        role = ROLES[config.role](config, delivered)
        conn.send(("ready", role.ready_info()))
        if not conn.poll(60):
            return
        kind, t0_ns = conn.recv()
        if kind == "start":
            conn.send(("result", role.run(t0_ns, conn)))
    except (BrokenPipeError, EOFError):
        pass  # the parent is gone: nobody to report to
    except Exception as exc:  # reported to the parent, which raises LiveError
        try:
            conn.send(
                ("error", f"{config.role} {config.index}: {type(exc).__name__}: {exc}")
            )
        except OSError:
            pass
    finally:
        if role is not None:
            role.close()
        conn.close()
