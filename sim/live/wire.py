"""What travels and how it is measured: payloads, envelopes, and meters.

Every payload is a JSON object of the scenario's payload size carrying the
event's number and the instant it was published, read from
``CLOCK_MONOTONIC`` in nanoseconds. That clock is one for every process of
the machine, so a subscriber subtracts the publish instant from its own
reading and gets the reaction latency without clock offsets; its resolution
is :data:`CLOCK_RESOLUTION_S`.

Bytes are the kernel's: ``TCP_INFO`` of each connection gives the payload
bytes it has sent and had acknowledged (``tcpi_bytes_acked``) and received
(``tcpi_bytes_received``). Every connection is read at the end that opened
it, so each is counted once, both directions together, TCP and IP headers
excluded (as the simulator's HTTP framing excludes them). A client's
``id(socket)`` keys its readings; sockets live as long as the run. CPU time is the
operating system's account of the process (``getrusage``, user and system).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import struct
import time

from sim.model.envelope_bytes import example

CLOCK_RESOLUTION_S = time.clock_getres(time.CLOCK_MONOTONIC)

# struct tcp_info (linux/tcp.h): tcpi_bytes_acked and tcpi_bytes_received
# are the two u64 after pacing_rate and max_pacing_rate
_TCP_INFO_BYTES_AT = 120
_TCP_INFO_SIZE = 136

_HEAD = '{"event":%d,"published_ns":%d,"pad":"'
_TAIL = '"}'
MIN_PAYLOAD_BYTES = len(_HEAD % (0, 10**19)) + len(_TAIL) + 6


def start_ignoring_interrupts(process) -> None:
    """Start a spawned ``process`` with SIGINT ignored from its first
    instruction (an ignored signal stays ignored across ``exec``, and Python
    then installs no KeyboardInterrupt handler), so that a Ctrl-C to the
    process group reaches only the parent, which stops its children in
    order. Outside the main thread the disposition cannot change and the
    child starts as it is."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        process.start()
        return
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def payload(event: int, size: int, published_ns: int) -> bytes:
    """A JSON object of ``size`` bytes (at least :data:`MIN_PAYLOAD_BYTES`)."""
    head = _HEAD % (event, published_ns)
    pad = max(0, size - len(head) - len(_TAIL))
    return (head + "x" * pad + _TAIL).encode()


def envelope(kind: str, event: int, size: int, published_ns: int):
    """The body and headers of event ``event`` wrapped as ``kind``."""
    return example(kind, payload(event, size, published_ns))


def read_event(kind: str, body: bytes, headers) -> tuple[int, int]:
    """Inspect a received envelope with :func:`sim.envelopes.parse` and
    return the event's number and publish instant."""
    if kind == "none":
        data = json.loads(body)
    else:
        from sim.envelopes import parse

        found = parse(body, {k.lower(): v for k, v in dict(headers).items()})
        if not hasattr(found, "data"):
            found = found[0]  # a batch of one (Event Grid)
        data = found.data.json()
    return int(data["event"]), int(data["published_ns"])


def cpu_s() -> float:
    """CPU seconds this process has used, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tcp_counters(sock: socket.socket) -> tuple[int, int]:
    """Payload bytes the connection has sent (and had acknowledged) and
    received, per the kernel."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    if len(info) < _TCP_INFO_SIZE:
        raise OSError("this kernel's TCP_INFO has no byte counters (Linux >= 4.2)")
    return struct.unpack_from("QQ", info, _TCP_INFO_BYTES_AT)


def tcp_bytes(sock: socket.socket) -> int:
    """Payload bytes the connection has carried both ways."""
    return sum(tcp_counters(sock))


def tcp_bytes_to(port: int) -> int:
    """Bytes carried by the connections this process holds open to ``port``
    of 127.0.0.1 (a broker's, say, whose client library hides its socket)."""
    total = 0
    for fd in _socket_fds():
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM:
                try:
                    peer = sock.getpeername()
                except OSError:
                    continue  # listening or not connected
                if peer == ("127.0.0.1", port):
                    total += tcp_bytes(sock)
        finally:
            sock.close()
    return total


class ConnectionMeter:
    """Bytes of HTTP connections, read after each exchange.

    A connection may be closed at any time (a timeout, ``Connection:
    close``), so its counters are read after every completed exchange and
    the last reading is kept; bytes of an exchange that never completed are
    not counted, as the simulator does not count it either.
    """

    def __init__(self):
        self._last: dict[int, int] = {}

    def read(self, sock: socket.socket | None) -> None:
        if sock is not None:
            self._last[id(sock)] = tcp_bytes(sock)

    @property
    def total(self) -> int:
        return sum(self._last.values())


def _socket_fds() -> list[int]:
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                fds.append(int(name))
        except OSError:
            continue
    return fds


def process_cpu_s(pid: int) -> float:
    """CPU seconds another process has used, from /proc/<pid>/stat (ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def broker_process(program: str, name: str) -> int | None:
    """The broker server's process on this machine, found by its command
    line (RabbitMQ runs in Erlang's ``beam.smp``), if its CPU account is
    readable."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            if name.encode() in cmdline and program.encode() in cmdline.split(b"\0")[0]:
                process_cpu_s(int(pid))
                return int(pid)
        except OSError:
            continue
    return None
