"""Prometheus metrics (docs/operations.md, "Metrics"), served at ``GET /metrics``.

Counters and histograms are updated where things happen, each with a small fixed label set
(route templates, never raw paths). Gauges that describe the database (outbox depth) or this
process (open sockets) are read when Prometheus scrapes, so an idle server does no work for them.
Values are per process: scrape every replica (and every worker).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from app.storage.types import utcnow

if TYPE_CHECKING:
    from app.services import Services

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "backchannel_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "backchannel_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
LOGINS = Counter(
    "backchannel_logins",
    "Decoupled logins by delivery mode and what happened: started, approved, denied, expired, "
    "cancelled.",
    ["mode", "event"],
    registry=REGISTRY,
)
DECISION_TO_CLIENT = Histogram(
    "backchannel_decision_to_client_seconds",
    "From the user's decision to the client knowing it: the ping or push delivered, the tokens "
    "redeemed (poll, headless).",
    ["mode"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
PUSH_RESULTS = Counter(
    "backchannel_push_results",
    "Pushes to phones by channel (fcm, webpush) and result (sent, dead_token, transient, refused).",
    ["channel", "result"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "backchannel_rate_limit_refusals",
    "Requests refused by a rate limit (429), by route template.",
    ["route"],
    registry=REGISTRY,
)
LISTENER_RECONNECTS = Counter(
    "backchannel_event_listener_reconnects",
    "Times the PostgreSQL LISTEN/NOTIFY connection was lost and re-opened.",
    registry=REGISTRY,
)
OPEN_SOCKETS = Gauge(
    "backchannel_open_sockets", "Open WebSockets in this process, by kind.", ["kind"],
    registry=REGISTRY,
)  # fmt: skip
OUTBOX_ROWS = Gauge(
    "backchannel_outbox_rows", "Outbox rows by status (pending is the depth).", ["status"],
    registry=REGISTRY,
)  # fmt: skip
OUTBOX_OLDEST = Gauge(
    "backchannel_outbox_oldest_pending_seconds",
    "Age of the oldest pending outbox row (0 when none).",
    registry=REGISTRY,
)
OUTBOX_ATTEMPTS = Gauge(
    "backchannel_outbox_attempts",
    "Delivery attempts recorded on outbox rows, by status.",
    ["status"],
    registry=REGISTRY,
)
OUTBOX_IN_FLIGHT = Gauge(
    "backchannel_outbox_in_flight", "Deliveries running in this process.", registry=REGISTRY
)
LOGIN_EVENTS = frozenset({"started", "approved", "denied", "expired", "cancelled"})


# A labelled child is looked up under a lock on every ``labels()`` call; a login's few
# (mode, event) pairs are kept instead (the counter is never cleared).
_login_counter = cache(LOGINS.labels)


def login(mode: str, event: str) -> None:
    if event in LOGIN_EVENTS:
        _login_counter(mode, event).inc()


def client_knows(mode: str, decided_at: datetime | None) -> None:
    if decided_at is not None:
        DECISION_TO_CLIENT.labels(mode).observe((utcnow() - decided_at).total_seconds())


async def render(services: Services) -> bytes:
    """The exposition, with the scrape-time gauges read now."""
    from app.outbox import repository

    OUTBOX_ROWS.clear()
    OUTBOX_ATTEMPTS.clear()
    OUTBOX_OLDEST.set(0)
    for row in await repository.stats(services.db.sql):
        OUTBOX_ROWS.labels(row["status"]).set(row["n"])
        OUTBOX_ATTEMPTS.labels(row["status"]).set(row["attempts"] or 0)
        if row["status"] == "pending" and row["created_at"] is not None:
            OUTBOX_OLDEST.set((utcnow() - row["created_at"]).total_seconds())
    OPEN_SOCKETS.labels("headless").set(sum(services.headless_sockets.values()))
    OPEN_SOCKETS.labels("device_stream").set(services.device_streams)
    OUTBOX_IN_FLIGHT.set(services.outbox.in_flight)
    return generate_latest(REGISTRY)
