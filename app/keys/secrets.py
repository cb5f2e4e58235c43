"""Secrets the server makes for itself on first start and keeps (sealed) in the database."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from app.keys.encryption import SecretBox
from app.keys.models import ServerSecret
from app.storage.db import Database


def _random_hex() -> bytes:
    return secrets.token_hex(32).encode()


async def server_secret(
    db: Database, box: SecretBox, name: str, make: Callable[[], bytes] = _random_hex
) -> bytes:
    """The secret called ``name``, made by ``make`` (32 random bytes, hex) the first time it is
    asked for. Two replicas asking at once agree: the second insert fails and re-reads the first."""
    async with db.session() as session:
        row = await session.get(ServerSecret, name)
        if row is not None:
            return box.open(row.value)
        value = make()
        session.add(ServerSecret(name=name, value=box.seal(value)))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return await server_secret(db, box, name, make)
    return value
