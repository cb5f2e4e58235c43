"""Telling "the database is unreachable" from a bug, and saying so once per outage.

While PostgreSQL restarts or the network to it is cut, every request fails the same way. Those
requests get 503 ``temporarily_unavailable`` with ``Retry-After`` (app/http/errors.py), not a
500, and the log gets one warning when the outage starts rather than a traceback per request.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("backchannel.database")

# A failure this long after the previous one starts a new outage (and a new warning).
QUIET_SECONDS = 30.0
RETRY_AFTER_SECONDS = 5
# SQLite's "operational" errors include mistakes in SQL; only these mean the file is unusable.
_SQLITE_OUTAGE = ("database is locked", "unable to open", "disk i/o error", "readonly database")

_last_failure = 0.0


def is_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or could not answer (not: the SQL was wrong)."""
    if isinstance(exc, DBAPIError):  # the ORM wraps the driver's error
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and is_unavailable(exc.orig)
    # psycopg is loaded only on PostgreSQL (and then before any of its errors can exist): a
    # SQLite server never imports it.
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.OperationalError):  # connection lost,
        return True  # refused, pool timeout
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower().startswith(_SQLITE_OUTAGE)
    return False


def report(exc: BaseException) -> None:
    """Log the first failure of an outage as a warning (no traceback); stay quiet after."""
    global _last_failure
    now = time.monotonic()
    if now - _last_failure > QUIET_SECONDS:
        log.warning(
            "database unavailable; answering 503 until it is back",
            extra={
                "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            },
        )
    _last_failure = now
