"""Dispatch envelopes to handlers by glob patterns on their routing fields.

Each element of a batch is routed as the object it is, with every field of
its own format; nothing is converted to a common base.  An envelope no
pattern matches goes to the fallback; with no fallback the whole dispatch is
refused before any handler runs, so nothing is dropped silently.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from typing import Any

from sim.envelopes._base import Batch, Envelope
from sim.envelopes._json import ABSENT
from sim.envelopes.errors import Unrouted

Handler = Callable[[Envelope], Any]
_FIELDS = ("format", "type", "source", "subject")


class Router:
    """Route envelopes by ``format``, ``type``, ``source`` and ``subject``.

    Patterns are shell-style globs (``*``, ``?``, ``[...]``), matched
    case-sensitively against the whole value.  Routes are tried in the order
    they were added; the first whose every pattern matches wins.  A field
    that is absent or null matches no pattern.

    Example
    -------
    >>> router = Router()
    >>> @router.on(type="com.example.order.*")
    ... def orders(event): ...
    >>> router.set_fallback(lambda event: "unrouted")
    """

    def __init__(self) -> None:
        self._routes: list[tuple[tuple[tuple[str, re.Pattern], ...], Handler]] = []
        self._fallback: Handler | None = None

    def add(self, handler: Handler, **patterns: str) -> None:
        """Send envelopes whose fields match all ``patterns`` to ``handler``."""
        unknown = set(patterns) - set(_FIELDS)
        if unknown or not patterns:
            raise TypeError(
                f"patterns must name some of {_FIELDS}, got {sorted(patterns)}"
            )
        compiled = tuple(
            (name, re.compile(fnmatch.translate(glob)))
            for name, glob in patterns.items()
        )
        self._routes.append((compiled, handler))

    def on(self, **patterns: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def register(handler: Handler) -> Handler:
            self.add(handler, **patterns)
            return handler

        return register

    def set_fallback(self, handler: Handler) -> Handler:
        """Handle every envelope no route matches; returns ``handler``."""
        self._fallback = handler
        return handler

    def handler_for(self, envelope: Envelope) -> Handler | None:
        """The handler ``envelope`` would go to, or None."""
        for patterns, handler in self._routes:
            for name, pattern in patterns:
                value = getattr(envelope, name)
                if value is ABSENT or value is None or pattern.match(value) is None:
                    break
            else:
                return handler
        return self._fallback

    def dispatch(self, envelopes: Envelope | Batch | Iterable[Envelope]) -> list:
        """Call the handler of each envelope, in order; return their results.

        Raises :class:`Unrouted` (before calling anything) if an envelope has
        no handler and no fallback is set.
        """
        items = [envelopes] if isinstance(envelopes, Envelope) else list(envelopes)
        plan = []
        for index, envelope in enumerate(items):
            handler = self.handler_for(envelope)
            if handler is None:
                raise Unrouted(
                    "router.unrouted",
                    "expected a route or a fallback "
                    f"for type {envelope.type!r} from source "
                    f"{envelope.source!r}, got neither",
                    format=envelope.format,
                    pointer=f"/{index}",
                )
            plan.append(handler)
        return [handler(envelope) for handler, envelope in zip(plan, items)]
