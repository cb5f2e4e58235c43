"""Browser sessions: after a phone approval, the browser gets a session cookie so the user can
skip the phone on the next login within ``session_lifetime`` — for a client and scope they
approved on the phone before (the phone's approval is the consent), and only while the device
that approved is still enrolled. A client can still ask for a fresh login (``prompt=login`` or
``consent``, or a ``max_age`` the session is older than)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authorize.models import BrowserSession
from app.devices.models import Device
from app.hashing import hash_secret, new_secret
from app.storage.db import Database
from app.storage.types import utcnow
from app.tokens.response import Grant
from app.users.models import User


def start_session(
    session: AsyncSession,
    grant: Grant,
    lifetime: int,
    *,
    device_id: str,
    consents: dict[str, str],
) -> str:
    """Stage a session in the caller's transaction; returns the cookie value."""
    token = new_secret(32)
    now = utcnow()
    session.add(
        BrowserSession(
            id=new_secret(16),
            token_hash=hash_secret(token),
            user_id=grant.user_id,
            device_id=device_id,
            consents=consents,
            auth_time=grant.auth_time,
            acr=grant.acr,
            amr=list(grant.amr),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return token


async def find_session(db: Database, token: str | None) -> BrowserSession | None:
    """The live session this cookie names, for a user who may still sign in, with the phone
    that approved it still theirs."""
    if not token or len(token) > 100:
        return None
    async with db.session() as session:
        query = select(BrowserSession).where(BrowserSession.token_hash == hash_secret(token))
        found = (await session.exec(query)).first()
        if found is None or found.expires_at <= utcnow():
            return None
        user = await session.get(User, found.user_id)
        device = await session.get(Device, found.device_id)
    if user is None or not user.active or device is None or device.user_id != user.id:
        return None
    return found


def consents_after(previous: BrowserSession | None, client_id: str, grant: Grant) -> dict[str, str]:
    """The consents of a session started by ``grant``: what the same user approved before in
    this browser stays approved, and the client gets the scope just approved added."""
    same_user = previous is not None and previous.user_id == grant.user_id
    consents = dict(previous.consents) if previous is not None and same_user else {}
    approved = set(consents.get(client_id, "").split()) | set(grant.scope.split())
    consents[client_id] = " ".join(sorted(approved))
    return consents


def consented(session: BrowserSession, client_id: str, scope: str) -> bool:
    """Did the user approve, on the phone, this client for every scope asked (offline access
    aside: a login without the phone never grants it)?"""
    approved = set(session.consents.get(client_id, "").split())
    return bool(approved) and set(scope.split()) - {"offline_access"} <= approved
