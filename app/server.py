"""Running the ASGI app under uvicorn: the options every server process uses, and workers.

One process serves everything on SQLite. On PostgreSQL, ``--workers N`` runs N processes on
one port (uvicorn's supervisor); they share the database and its events (LISTEN/NOTIFY), like
replicas. Migrations run once, in the supervisor, before any worker starts.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.settings import Settings, get_settings
from app.storage.db import is_postgres


class WorkersNeedPostgres(ValueError):
    """Several workers on SQLite: events travel in one process's memory only."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "log_config": None,
        "access_log": False,  # ours is lean (app/http/middleware.py)
        "proxy_headers": True,
        # How long a client may take to send a request, and how many may be open at once
        # (docs/operations.md, "Security model").
        "http": "app.http.read_timeouts:SettingsBoundedProtocol",
        "timeout_keep_alive": settings.http_keep_alive_timeout,
        "limit_concurrency": settings.http_max_connections,
        # wsproto: the leanest WebSocket protocol uvicorn has (about 18 KiB a socket, against
        # 54 KiB for websockets' sans-I/O one and 117 KiB for its legacy one), with lighter
        # parts for waiting (app/http/lean_ws.py), for a server holding many idle sockets
        # (docs/performance.md).
        "ws": "app.http.lean_ws:LeanWSProtocol",
        "ws_per_message_deflate": False,  # frames are small JSON; compression only costs
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_timeout,
        # Frames over the headless limit get an error frame from the app; this protocol-level
        # cap only bounds memory for frames far beyond it.
        "ws_max_size": max(1 << 20, settings.headless_max_frame_bytes),
    }


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from app.main import create_app
    from app.storage.migrations import upgrade

    options = uvicorn_options(settings)
    if workers <= 1:
        uvicorn.run(create_app(settings), host=host, port=port, **options)
        return
    if not is_postgres(settings.database_url):
        raise WorkersNeedPostgres(
            "--workers needs PostgreSQL (BACKCHANNEL_DATABASE_URL=postgresql+psycopg://…): on "
            "SQLite one process serves, because its events reach only its own sockets and polls"
        )
    upgrade(settings.database_url)
    uvicorn.run(
        "app.server:worker_app", factory=True, workers=workers, host=host, port=port, **options
    )


def worker_app() -> FastAPI:
    """One worker's app (``--workers``): settings from the environment, schema already up."""
    from app.main import create_app

    return create_app(get_settings(), migrate=False)
