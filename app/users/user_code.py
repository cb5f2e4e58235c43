"""Checking a user's user code (CIBA Core §7.1), with a budget for wrong guesses.

A code like a four-digit PIN must not be guessable by trying, so wrong codes are counted — per
(client, user), so that one client typing wrong codes cannot lock the user out of every other
client, and per user across clients under a higher cap, so that many clients together cannot
guess either. The budgets belong to the current code (its hash is part of their key): when the
operator sets a new code, counting starts afresh. When a budget runs out the user's phone is
told (a ``notice`` frame on the device stream), since someone may be trying their code.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app import ratelimit
from app.errors import TooManyRequests
from app.events import EventBus, user_topic
from app.hashing import verify_user_code
from app.ratelimit import Budget
from app.storage.db import Database
from app.users.models import User

MAX_FAILURES_PER_CLIENT = 5
MAX_FAILURES_PER_USER = 20  # across all clients
LOCKOUT = timedelta(minutes=15)
LOCKED = "user_code_locked"


def _budgets(user: User, client_id: str) -> list[Budget]:
    window = LOCKOUT.total_seconds()
    code = user.user_code_hash or ""
    refusal = "the user_code is locked after repeated failures"
    return [
        Budget(
            "user-code", f"{client_id}:{user.id}:{code}", MAX_FAILURES_PER_CLIENT, window, refusal
        ),
        Budget("user-code-all", f"{user.id}:{code}", MAX_FAILURES_PER_USER, window, refusal),
    ]


async def check_user_code(
    db: Database,
    bus: EventBus,
    user: User,
    code: str,
    *,
    client_id: str,
    client_name: str | None = None,
) -> bool:
    """True if ``code`` is ``user``'s code and no budget of wrong guesses is spent."""
    if not user.user_code_hash:
        return False
    budgets = _budgets(user, client_id)
    try:
        await ratelimit.check(db, budgets)
    except TooManyRequests:
        return False
    # scrypt is slow by design: off the event loop.
    if await asyncio.to_thread(verify_user_code, code, user.user_code_hash):
        await ratelimit.forget(db, budgets[0])  # this client's wrong guesses before a right one
        return True
    await ratelimit.spend(db, budgets)
    if any([await ratelimit.count(db, b) >= b.limit for b in budgets]):
        notice = {"notice": LOCKED, "client_name": client_name or client_id}
        bus.publish(user_topic(user.id), notice)
    return False
