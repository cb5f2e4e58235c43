"""Per-client and per-user limits on starting authentication requests.

Counted from the requests table itself, so every replica sees the same counts and a refused
attempt leaves nothing behind (the phone is not told). Two racing requests may both pass at the
edge of a limit; a limit against push-bombing needs no more precision than that.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import and_, func
from sqlmodel import col, select

from app.decoupled.models import LOGIN_PAGE_MODE, AuthRequest
from app.errors import TooManyRequests
from app.settings import Settings
from app.storage.db import Database
from app.storage.types import utcnow


async def check_limits(
    db: Database, settings: Settings, client_id: str | None, user_id: str | None
) -> None:
    """Raise ``TooManyRequests`` (429 with ``Retry-After``) if starting one more is over."""
    now = utcnow()
    window = timedelta(seconds=settings.rate_limit_window_seconds)
    checks = []
    if client_id is not None:
        # What the client itself started; tries on its login pages come from browsers.
        own = and_(
            col(AuthRequest.client_id) == client_id, col(AuthRequest.mode) != LOGIN_PAGE_MODE
        )
        checks.append(("this client", own, settings.rate_limit_per_client))
    if user_id is not None:
        named = col(AuthRequest.user_id) == user_id
        if client_id is not None:
            # A client is not refused for what anonymous browsers typed on login pages (they
            # have budgets of their own, app/authorize/tries.py); a login page's push still
            # counts every request, so the phone stays protected from both.
            named = and_(named, col(AuthRequest.mode) != LOGIN_PAGE_MODE)
        checks.append(("this user", named, settings.rate_limit_per_user))
    async with db.session() as session:
        for who, condition, limit in checks:
            query = select(func.count(), func.min(AuthRequest.created_at)).where(
                condition, col(AuthRequest.created_at) > now - window
            )
            count, oldest = (await session.exec(query)).one()
            if count >= limit:
                raise TooManyRequests(
                    f"too many authentication requests for {who}; try again later",
                    retry_after=_seconds_until(oldest + window, now),
                )


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
