"""Background jobs (APScheduler), started in the app's lifespan.

Each feature owns its jobs and registers them here; every job is safe to run on several
replicas at once (the work itself is a conditional write or takes a lock).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import ratelimit, replay
from app.authorize import cleanup
from app.ciba import limits
from app.evidence import service as evidence
from app.outbox.dispatcher import Dispatcher
from app.services import Services
from app.storage import outage
from app.storage.types import utcnow

log = logging.getLogger("backchannel.jobs")


def _guarded(name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job()
            if result:
                log.info("job done", extra={"job": name, "result": result})
        except Exception as exc:
            # A failed run is logged and retried at the next interval; it must not stop the loop.
            if outage.is_unavailable(exc):
                outage.report(exc)  # once per outage, not once per job run
            else:
                log.exception("job failed", extra={"job": name})

    return run


def build_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    settings = services.settings
    purge = settings.purge_interval_seconds
    jobs: list[tuple[str, Callable[[], Awaitable[object]], float]] = [
        ("rotate_keys", services.keys.rotate_due, 3600),
        (
            "purge_used_jtis",
            lambda: replay.purge_expired(services.db, settings.clock_skew_seconds),
            purge,
        ),
        ("purge_authorizations", lambda: cleanup.purge_expired(services.db), purge),
        ("purge_rate_events", lambda: ratelimit.purge_expired(services.db), purge),
        ("purge_rate_counts", lambda: limits.purge_expired(services.db, utcnow()), purge),
        ("expire_requests", services.requests.expire_overdue, 1),
        ("purge_evidence", lambda: evidence.purge_expired(services.db.sql, utcnow()), purge),
    ]
    for name, job, seconds in jobs:
        scheduler.add_job(
            _guarded(name, job),
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
        )
    return scheduler


async def outbox_worker(services: Services) -> None:
    """Deliver outbox messages the moment a commit announces them, and retries as they fall due
    (app/outbox/dispatcher.py)."""
    settings = services.settings
    dispatcher = Dispatcher(
        services.outbox,
        concurrency=settings.outbox_concurrency,
        interval=settings.outbox_interval_seconds,
    )
    await dispatcher.run()
