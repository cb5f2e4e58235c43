"""Per-endpoint fairness for outbound deliveries: a concurrency cap and a circuit breaker.

One slow or dead notification endpoint must never delay another client's notifications
(docs/operations.md, "Deliveries under faults"). Each endpoint (scheme, host and port) gets at
most ``concurrency`` deliveries in flight in this process; a delivery past that is deferred, not
queued, so it holds none of the dispatcher's shared slots. After ``threshold`` failures in a row
the endpoint's circuit opens: its deliveries are deferred, without counting an attempt, until a
cool-down passes (doubling while it keeps failing, up to ``max_cooldown``); then one delivery
tries it (half-open) and its outcome closes or re-opens the circuit.

State is per process: each replica learns on its own that an endpoint is down.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# How long a delivery waits when its endpoint already has ``concurrency`` in flight.
BUSY_DELAY = 1.0


class Defer(Exception):
    """Not attempted now: try again in ``delay`` seconds, without counting an attempt."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass
class _Endpoint:
    in_flight: int = 0
    failures: int = 0  # in a row
    open_until: float = 0.0  # monotonic; 0 while closed
    cooldown: float = 0.0


class EndpointGate:
    def __init__(
        self,
        concurrency: int = 8,
        *,
        threshold: int = 5,
        cooldown: float = 5.0,
        max_cooldown: float = 120.0,
    ) -> None:
        self.concurrency = concurrency
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._endpoints: dict[str, _Endpoint] = {}

    def is_open(self, key: str) -> bool:
        state = self._endpoints.get(key)
        return state is not None and state.open_until > time.monotonic()

    @contextmanager
    def enter(self, key: str) -> Iterator[None]:
        """A slot for one delivery to ``key``, or :class:`Defer`."""
        state = self._endpoints.setdefault(key, _Endpoint())
        now = time.monotonic()
        if state.open_until > now:
            raise Defer(state.open_until - now, "the endpoint's circuit is open (it keeps failing)")
        half_open = state.failures >= self.threshold
        if state.in_flight >= (1 if half_open else self.concurrency):
            # Jitter: deferred deliveries come back spread out, not as one wave.
            raise Defer(random.uniform(BUSY_DELAY, 2 * BUSY_DELAY), "the endpoint is busy")  # noqa: S311
        state.in_flight += 1
        try:
            yield
        finally:
            state.in_flight -= 1
            if state.in_flight == 0 and state.failures == 0:
                del self._endpoints[key]  # healthy and idle: nothing to remember

    def succeeded(self, key: str) -> None:
        state = self._endpoints.get(key)
        if state is not None:
            state.failures, state.open_until, state.cooldown = 0, 0.0, 0.0

    def failed(self, key: str) -> None:
        state = self._endpoints.setdefault(key, _Endpoint())
        state.failures += 1
        if state.failures >= self.threshold:
            state.cooldown = min(self.max_cooldown, max(self.base_cooldown, 2 * state.cooldown))
            state.open_until = time.monotonic() + state.cooldown
