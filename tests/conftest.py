"""Shared fixtures: a real database (SQLite file, or PostgreSQL when asked) and a live server.

``BACKCHANNEL_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test`` runs the
suite on PostgreSQL: each run (and each test that needs an empty database) gets its own schema,
dropped afterwards. Without it, every database is an SQLite file in pytest's temp dir.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine

from app.settings import Settings
from app.storage.db import sync_url
from app.storage.sql import libpq_url
from app.storage.tables import metadata
from tests.support.live import LiveServer
from tests.support.receiver import Receiver

PG_URL = os.environ.get("BACKCHANNEL_TEST_DATABASE_URL")
ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789"


@pytest.fixture(scope="session")
def db_kind() -> str:
    return "postgresql" if PG_URL else "sqlite"


def _new_database(tmp: Path) -> tuple[str, Any]:
    """A URL to an empty database, and a function that drops it."""
    if not PG_URL:
        path = tmp / f"{uuid.uuid4().hex}.db"
        return f"sqlite:///{path}", lambda: None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = libpq_url(PG_URL)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}", drop


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test, for tests that need a first start."""
    url, drop = _new_database(tmp_path)
    yield url
    drop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, drop = _new_database(tmp_path_factory.mktemp("db"))
    yield url
    drop()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "key_cache_seconds": 0,
        "log_format": "text",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session")
def live(database_url: str) -> Iterator[LiveServer]:
    """One uvicorn server for the session, on a free loopback port, over the session database."""
    with LiveServer.start(lambda issuer: make_settings(database_url, issuer=issuer)) as server:
        yield server


# Rows tests create; signing keys and server secrets survive so the server needs no restart.
_PER_TEST_TABLES = (
    "clients",
    "users",
    "used_jtis",
    "auth_requests",
    "devices",
    "enrollments",
    "outbox",
    "refresh_tokens",
    "authorization_requests",
    "authorization_codes",
    "browser_sessions",
    "pairwise_subjects",
    "rate_counts",
    "rate_events",
    "decision_evidence",
)


@pytest.fixture
def server(live: LiveServer, database_url: str) -> Iterator[LiveServer]:
    """The live server, with the tables tests write to emptied first."""
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name in _PER_TEST_TABLES:
                conn.execute(table.delete())
    engine.dispose()
    yield live


@contextmanager
def api_clients(url: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """An admin client (with the admin token) and a plain one, for a server of a test's own."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=10) as admin,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield admin, http


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def callback() -> Iterator[str]:
    """A client's redirect URI, served for real: a browser lands there with the code."""
    with Receiver.start() as receiver:
        yield receiver.url + "/callback"
