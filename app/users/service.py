"""User administration and lookup. All SQL for users lives here."""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict, InvalidRequest, NotFound, parse_body
from app.hashing import hash_user_code
from app.storage.db import Database, delete_by_key
from app.storage.types import utcnow
from app.users import repository
from app.users.models import PROFILE_CLAIMS, User, UserFields, normalize_phone
from app.users.repository import BY_HINT, BY_ID

COLUMNS = ("username", "email", "email_verified", "phone_number", "phone_number_verified", "active")
log = logging.getLogger("backchannel.users")

# What a flag column returns to when it is set to null.
FLAG_DEFAULTS = {"email_verified": False, "phone_number_verified": False, "active": True}


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, data: Any) -> User:
        fields = parse_body(UserFields, data)
        if fields.username is None:
            raise InvalidRequest("username is required")
        user = User(id=uuid.uuid4().hex, username=fields.username)
        _apply(user, fields)
        async with self.db.session() as session:
            await _refuse_taken_identifiers(session, user)
            session.add(user)
            await _commit(session)
        return user

    async def update(self, user_id: str, data: Any) -> User:
        """Change the given fields; ``null`` clears an optional one."""
        fields = parse_body(UserFields, data)
        if "username" in fields.model_fields_set and fields.username is None:
            raise InvalidRequest("username cannot be removed")
        async with self.db.session() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise NotFound("no such user")
            _apply(user, fields)
            user.updated_at = utcnow()
            await _refuse_taken_identifiers(session, user)
            session.add(user)
            await _commit(session)
            return user

    async def _set(self, user_id: str, **values: Any) -> None:
        async with self.db.session() as session:
            await session.exec(update(User).where(col(User.id) == user_id).values(**values))
            await session.commit()

    async def get(self, user_id: str) -> User | None:
        found = await self.get_enrolled(user_id)
        return found[0] if found else None

    async def get_enrolled(self, user_id: str) -> tuple[User, bool] | None:
        """The user, and whether an authenticator is enrolled (in the same statement)."""
        return repository.load(await self.db.sql.one(BY_ID, {"id": user_id}))

    async def require(self, user_id: str) -> User:
        user = await self.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def all(self) -> list[User]:
        async with self.db.session() as session:
            return list((await session.exec(select(User).order_by(col(User.created_at)))).all())

    async def delete(self, user_id: str) -> None:
        if not await delete_by_key(self.db, User, user_id):
            raise NotFound("no such user")

    async def find_by_hint(self, hint: str) -> User | None:
        found = await self.find_by_hint_enrolled(hint)
        return found[0] if found else None

    async def find_by_hint_enrolled(self, hint: str) -> tuple[User, bool] | None:
        """A ``login_hint`` may be the username, the email or the phone number. A hint that
        names two users (rows from before identifiers were unique across fields) names nobody:
        guessing could send the push to the wrong person's phone. With the user, whether an
        authenticator is enrolled."""
        hint = hint.strip()
        phone = None
        if "+" in hint:  # an E.164 number starts with it: without one, no need to try
            with contextlib.suppress(ValueError):  # not shaped like a phone number
                phone = normalize_phone(hint)
        params = {"username": hint.lower(), "email": hint.lower(), "phone": phone}
        rows = await self.db.sql.all(BY_HINT, params)
        if len(rows) > 1:
            log.warning("ambiguous login hint refused", extra={"users": [r["id"] for r in rows]})
            return None
        return repository.load(rows[0]) if rows else None


def _hint_matches(hint: str) -> Any:
    """Users whose username, email or phone number is ``hint``."""
    hint = hint.strip()
    candidates = [col(User.username) == hint.lower(), col(User.email) == hint.lower()]
    with contextlib.suppress(ValueError):  # not shaped like a phone number
        candidates.append(col(User.phone_number) == normalize_phone(hint))
    return or_(*candidates)


async def _refuse_taken_identifiers(session: AsyncSession, user: User) -> None:
    """Username, email and phone number are unique across all three fields, not only within
    each: a username that is another user's email would make that email's hint ambiguous."""
    mine = [v for v in (user.username, user.email, user.phone_number) if v]
    query = select(User.id).where(or_(*map(_hint_matches, mine)), col(User.id) != user.id)
    with session.no_autoflush:  # the changed row is compared, not written (yet)
        taken = (await session.exec(query.limit(1))).first()
    if taken is not None:
        raise Conflict(
            "username, email or phone_number is already in use (as another user's username, "
            "email or phone number)"
        )


def _apply(user: User, fields: UserFields) -> None:
    given = fields.model_dump(include=fields.model_fields_set, mode="json")
    if given.get("address"):
        given["address"] = {k: v for k, v in given["address"].items() if v is not None}
    for name in COLUMNS:
        if name in given:
            value = given[name]
            if value is None and name in FLAG_DEFAULTS:
                value = FLAG_DEFAULTS[name]
            setattr(user, name, value)
    if "user_code" in given:
        user.user_code_hash = hash_user_code(given["user_code"]) if given["user_code"] else None
        # Wrong guesses are counted per code (app/users/user_code.py): a new code, a new start.
    claims = dict(user.claims)
    for name in (*PROFILE_CLAIMS, "address"):
        if name in given:
            if given[name] is None:
                claims.pop(name, None)
            else:
                claims[name] = given[name]
    user.claims = claims


async def _commit(session: Any) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("username, email or phone_number is already in use") from None
