"""Browser sessions: after a phone approval, the browser gets a session cookie so the user can
skip the phone on the next login within ``session_lifetime`` — unless the client asks for a
fresh login (``prompt=login``/``consent``, or a ``max_age`` the session is older than)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authorize.models import BrowserSession
from app.hashing import hash_secret, new_secret
from app.storage.db import Database
from app.storage.types import utcnow
from app.tokens.response import Grant
from app.users.models import User


def start_session(session: AsyncSession, grant: Grant, lifetime: int) -> str:
    """Stage a session in the caller's transaction; returns the cookie value."""
    token = new_secret(32)
    now = utcnow()
    session.add(
        BrowserSession(
            id=new_secret(16),
            token_hash=hash_secret(token),
            user_id=grant.user_id,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=list(grant.amr),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return token


async def find_session(db: Database, token: str | None) -> BrowserSession | None:
    """The live session this cookie names, for a user who may still sign in."""
    if not token or len(token) > 100:
        return None
    async with db.session() as session:
        query = select(BrowserSession).where(BrowserSession.token_hash == hash_secret(token))
        found = (await session.exec(query)).first()
        if found is None or found.expires_at <= utcnow():
            return None
        user = await session.get(User, found.user_id)
    return found if user is not None and user.active else None
