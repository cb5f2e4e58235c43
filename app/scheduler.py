"""Background jobs (APScheduler), started in the app's lifespan.

Each feature owns its jobs and registers them here; every job is safe to run on several
replicas at once (the work itself is a conditional write or takes a lock).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app import replay
from app.services import Services

log = logging.getLogger("backchannel.jobs")


def _guarded(name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job()
            if result:
                log.info("job done", extra={"job": name, "result": result})
        except Exception:
            # A failed run is logged and retried at the next interval; it must not stop the loop.
            log.exception("job failed", extra={"job": name})

    return run


def build_scheduler(services: Services) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    jobs: list[tuple[str, Callable[[], Awaitable[object]], float]] = [
        ("rotate_keys", services.keys.rotate_due, 3600),
        ("purge_used_jtis", lambda: replay.purge_expired(services.db), 600),
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
