"""Operations endpoints: liveness, readiness, metrics.

- ``GET /healthz`` (liveness): 200 while the database answers, 503 when it does not.
- ``GET /readyz`` (readiness, for load balancers): 200 when this process should get traffic: the
  database answers, its schema is at this code's migration head (or past it, mid rolling
  upgrade), and (PostgreSQL) the event listener is connected, so decisions taken on other
  replicas reach sockets held here.
- ``GET /metrics``: Prometheus exposition (app/metrics.py), behind the admin token.
"""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.events import PostgresBus
from app.http.deps import AdminDep, ServicesDep
from app.http.json import JSONResponse
from app.services import Services
from app.storage import outage
from app.storage.migrations import alembic_config

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    try:
        async with services.db.session() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        outage.report(exc)  # one warning per outage, not one per probe
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {
        "database": "ok",
        "migrations": "ok",
        "event_listener": "ok" if _listening(services) else "disconnected",
    }
    try:
        row = await services.db.sql.one("SELECT version_num FROM alembic_version")
    except Exception as exc:
        if not outage.is_unavailable(exc):
            raise
        outage.report(exc)
        checks["database"], checks["migrations"] = "unreachable", "unknown"
    else:
        checks["migrations"] = _schema(row["version_num"] if row else None, services)
    ready = all(value in ("ok", "ahead") for value in checks.values())
    body = {"status": "ready" if ready else "unavailable", **checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", dependencies=[AdminDep])
async def prometheus(services: ServicesDep) -> Response:
    return Response(await metrics.render(services), media_type=metrics.CONTENT_TYPE)


def _schema(revision: str | None, services: Services) -> str:
    """``ok`` at this code's head; ``behind`` on an older revision (this code needs a migration
    first); ``ahead`` on a revision this code does not know: a newer replica migrated during a
    rolling upgrade. Migrations only add (docs/deployment.md), so older code still works there
    and stays ready; otherwise a rolling upgrade would take every old replica out at once."""
    if revision is None:
        return "missing"
    head, known = _revisions(services.settings.database_url)
    if revision == head:
        return "ok"
    return "behind" if revision in known else "ahead"


@cache
def _revisions(database_url: str) -> tuple[str | None, frozenset[str]]:
    """This code's newest migration and all it knows (read from the scripts once)."""
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return scripts.get_current_head(), known


def _listening(services: Services) -> bool:
    bus = services.bus
    return bus.connected if isinstance(bus, PostgresBus) else True
