"""Cost accounting: CPU per role, bytes per link, requests and polls.

Only activity attributed to the measurement window ``[warmup_s,
duration_s)`` is counted. Everything done to deliver an event (its pushes,
retries, failures, storage trips) is attributed to the instant the event was
published, so each event of the window carries its whole cost however late
it is delivered. A poll is attributed to the instant it reached the
publisher, when it is answered (a long poll still held when the run stops
is not counted); one made after the window that fetches events of the
window is attributed to the first of them, and an acknowledgement to the
events it acknowledges. An HTTP exchange is counted whole: request and
response, both sides' CPU.
"""

from __future__ import annotations

from sim.scenario import Costs, Network, Sidecar

PUBLISHER, BROKER, SUBSCRIBERS, STORAGE, SIDECARS = 0, 1, 2, 3, 4
ROLES = ("publisher", "broker", "subscribers", "storage", "sidecars")

PUBLISHER_SUBSCRIBERS, PUBLISHER_BROKER, BROKER_SUBSCRIBERS, TO_STORAGE = 0, 1, 2, 3
LINKS = ("publisher_subscribers", "publisher_broker", "broker_subscribers", "storage")

# sidecar proxies a request passes on each link: one beside each service
# at its ends (a managed broker and object storage have none)
PROXIES = (2, 1, 1, 1)


class Ledger:
    """Running totals of what the modelled system spends."""

    def __init__(
        self,
        costs: Costs,
        network: Network,
        start_s: float,
        end_s: float,
        sidecar: Sidecar | None = None,
    ):
        self.start_s = start_s
        self.end_s = end_s
        self._sent = costs.cpu_s_per_request_sent
        self._handled = costs.cpu_s_per_request_handled
        self._ser = costs.cpu_s_per_kib_serialised / 1024.0
        self._deser = costs.cpu_s_per_kib_deserialised / 1024.0
        self._framing = network.request_overhead_bytes + network.response_overhead_bytes
        self._proxy_cpu_s = 0.0 if sidecar is None else sidecar.cpu_s_per_request
        self._proxy_retries = sidecar is not None and sidecar.owns_retries

        self.cpu_s = [0.0] * len(ROLES)
        self.bytes = [0] * len(LINKS)
        self.link_requests = [0] * len(LINKS)
        self.requests = 0
        self.attempts = 0  # every push attempt, in the window or not
        self.polls = 0
        self.empty_polls = 0
        self.timeouts = 0
        self.transport_errors = 0
        self.responses = {400: 0, 429: 0, 500: 0, 503: 0}
        self.retries = 0
        self.dead_lettered = 0
        self.duplicates = 0
        self.redeliveries = 0

    def counts(self) -> dict[str, int]:
        """Every counter, by name."""
        return {
            "requests": self.requests,
            "polls": self.polls,
            "empty_polls": self.empty_polls,
            "timeouts": self.timeouts,
            "transport_errors": self.transport_errors,
            "http_400": self.responses[400],
            "http_429": self.responses[429],
            "http_500": self.responses[500],
            "http_503": self.responses[503],
            "retries": self.retries,
            "dead_lettered": self.dead_lettered,
            "duplicates": self.duplicates,
            "redeliveries": self.redeliveries,
            **{f"requests_{link}": n for link, n in zip(LINKS, self.link_requests)},
        }

    def exchange(
        self,
        at: float,
        link: int,
        client: int,
        server: int,
        request_body: int,
        response_body: int,
    ) -> None:
        """One HTTP request from ``client`` to ``server`` and its response,
        the request having reached the server at ``at``."""
        self.request(at, link, client, server, request_body)
        self.response_body(at, link, server, client, response_body)

    def request(
        self,
        at: float,
        link: int,
        client: int,
        server: int,
        body: int,
        retry: bool = False,
    ) -> None:
        """A request and the framing of its response, without a response body.

        A retry made by the sender's sidecar costs the sending application
        nothing; the sidecar pays for it.
        """
        if not self.start_s <= at < self.end_s:
            return
        self.requests += 1
        self.link_requests[link] += 1
        self.bytes[link] += self._framing + body
        cpu = self.cpu_s
        sender = SIDECARS if retry and self._proxy_retries else client
        cpu[sender] += self._sent
        cpu[client] += self._ser * body
        cpu[server] += self._handled + self._deser * body
        cpu[SIDECARS] += self._proxy_cpu_s * PROXIES[link]

    def response_body(
        self, at: float, link: int, server: int, client: int, body: int
    ) -> None:
        """The body of the answer to a request that reached the server at ``at``."""
        if body and self.start_s <= at < self.end_s:
            self.bytes[link] += body
            self.cpu_s[server] += self._ser * body
            self.cpu_s[client] += self._deser * body

    def answered_poll(self, at: float, events: int, body: int) -> None:
        """A poll from a subscriber's consumer that reached the publisher at
        ``at``, answered with ``events`` events in ``body`` bytes (zero
        events makes it empty): its request, framing and answer."""
        if self.start_s <= at < self.end_s:
            self.book_polls(1, 0 if events else 1, body)

    def count_empty_polls(self, count: int) -> None:
        """``count`` empty polls that reached the publisher in the window,
        booked at once: each is a request without a body, from a
        subscriber's consumer to the publisher, answered with nothing."""
        if count > 0:
            self.book_polls(count, count, 0)

    def book_polls(self, polls: int, empty: int, body: int) -> None:
        """``polls`` polls from subscribers' consumers that reached the
        publisher in the window, booked at once: ``empty`` of them answered
        with nothing, the others with ``body`` bytes of events in all."""
        link = PUBLISHER_SUBSCRIBERS
        self.requests += polls
        self.link_requests[link] += polls
        self.polls += polls
        self.empty_polls += empty
        self.bytes[link] += polls * self._framing + body
        cpu = self.cpu_s
        cpu[SUBSCRIBERS] += polls * self._sent
        cpu[PUBLISHER] += polls * self._handled
        cpu[SIDECARS] += polls * self._proxy_cpu_s * PROXIES[link]
        if body:
            cpu[PUBLISHER] += self._ser * body
            cpu[SUBSCRIBERS] += self._deser * body

    def timeout(self, now: float) -> None:
        """A caller gave up waiting for a reply."""
        if self.start_s <= now < self.end_s:
            self.timeouts += 1

    def connect_failed(self, now: float, client: int, refused: bool) -> None:
        """A connection attempt that never carried a request: the client
        paid to try; a refusal is also a transport error it learns of."""
        if self.start_s <= now < self.end_s:
            self.cpu_s[client] += self._sent
            self.transport_errors += refused

    def error_response(self, now: float, status: int) -> None:
        if self.start_s <= now < self.end_s:
            self.responses[status] += 1

    def cpu(self, now: float, role: int, seconds: float) -> None:
        if self.start_s <= now < self.end_s:
            self.cpu_s[role] += seconds

    def retry(self, now: float) -> None:
        if self.start_s <= now < self.end_s:
            self.retries += 1

    def dead_letter(self, now: float) -> None:
        if self.start_s <= now < self.end_s:
            self.dead_lettered += 1

    def redelivery(self, at: float) -> None:
        """An event handed out but not acknowledged in time is visible again."""
        if self.start_s <= at < self.end_s:
            self.redeliveries += 1

    def duplicate(self, now: float) -> None:
        if self.start_s <= now < self.end_s:
            self.duplicates += 1
