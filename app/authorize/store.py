"""Authorization requests waiting for their use: pushed requests (RFC 9126) and login pages.

A ``request_uri`` is single use (RFC 9126 §4 lets a server choose; one use means a leaked URI
from a log opens nothing). A login page belongs to the browser that opened it: its cookie's hash
is kept with the page and checked on every step.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.authorize.models import StoredAuthorization
from app.authorize.params import AuthorizationParams
from app.hashing import hash_secret, new_secret
from app.storage.db import Database
from app.storage.types import utcnow

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"  # RFC 9126 §2.2


async def push(db: Database, params: AuthorizationParams, lifetime: int) -> str:
    """Keep a pushed request; returns its ``request_uri``."""
    handle = new_secret(32)
    now = utcnow()
    async with db.session() as session:
        session.add(
            StoredAuthorization(
                id=new_secret(16),
                kind="par",
                handle_hash=hash_secret(handle),
                client_id=params.client_id,
                params=params.to_json(),
                created_at=now,
                expires_at=now + timedelta(seconds=lifetime),
            )
        )
        await session.commit()
    return REQUEST_URI_PREFIX + handle


async def take_pushed(db: Database, request_uri: str, client_id: str) -> AuthorizationParams | None:
    """The pushed request for this client, used up by this call; None when unknown, another
    client's, expired or used."""
    if not request_uri.startswith(REQUEST_URI_PREFIX) or len(request_uri) > 200:
        return None
    handle_hash = hash_secret(request_uri.removeprefix(REQUEST_URI_PREFIX))
    now = utcnow()
    async with db.session() as session:
        taken = await session.exec(
            update(StoredAuthorization)
            .where(
                col(StoredAuthorization.handle_hash) == handle_hash,
                col(StoredAuthorization.kind) == "par",
                col(StoredAuthorization.client_id) == client_id,
                col(StoredAuthorization.used_at).is_(None),
                col(StoredAuthorization.expires_at) > now,
            )
            .values(used_at=now)
        )
        if taken.rowcount != 1:
            await session.rollback()
            return None
        query = select(StoredAuthorization).where(StoredAuthorization.handle_hash == handle_hash)
        row = (await session.exec(query)).one()
        await session.commit()
    return AuthorizationParams.from_json(row.params)


async def open_login(
    db: Database, params: AuthorizationParams, browser: str, lifetime: int
) -> StoredAuthorization:
    now = utcnow()
    page = StoredAuthorization(
        id=new_secret(16),
        kind="login",
        client_id=params.client_id,
        params=params.to_json(),
        browser_hash=hash_secret(browser),
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    async with db.session() as session:
        session.add(page)
        await session.commit()
        await session.refresh(page)
    return page


async def find_login(db: Database, page_id: str, browser: str | None) -> StoredAuthorization | None:
    """The open login page ``page_id`` if this browser opened it."""
    if browser is None or len(page_id) > 64:
        return None
    async with db.session() as session:
        page = await session.get(StoredAuthorization, page_id)
    if (
        page is None
        or page.kind != "login"
        or page.used_at is not None
        or page.expires_at <= utcnow()
        or page.browser_hash != hash_secret(browser)
        or AuthorizationParams.from_json(page.params) is None
    ):
        return None
    return page


def params_of(page: StoredAuthorization) -> AuthorizationParams:
    """The parameters of a page ``find_login`` returned (it checked they read back)."""
    params = AuthorizationParams.from_json(page.params)
    assert params is not None
    return params


async def mark_used(session: AsyncSession, page_id: str) -> bool:
    """Use the page up, in the caller's transaction; False if something else did first."""
    result = await session.exec(
        update(StoredAuthorization)
        .where(col(StoredAuthorization.id) == page_id, col(StoredAuthorization.used_at).is_(None))
        .values(used_at=utcnow())
    )
    return bool(result.rowcount == 1)


async def set_attempt(db: Database, page_id: str, attempt_id: str) -> None:
    async with db.session() as session:
        await session.exec(
            update(StoredAuthorization)
            .where(col(StoredAuthorization.id) == page_id)
            .values(attempt_id=attempt_id)
        )
        await session.commit()
