"""The key store: every signing key in the database, loaded keys cached per replica.

Rotation (DESIGN.md "Keys and tokens"): the ``next`` key is published in the JWKS a whole
rotation period before it signs anything, so relying parties that cache the JWKS already know it;
the old ``current`` key stays published as ``retiring`` until every token it signed has expired.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt import PyJWK
from sqlalchemy import delete
from sqlmodel import col, select

from app.keys import crypto
from app.keys.encryption import SecretBox
from app.keys.models import KeyStatus, SigningKey
from app.settings import SIGNING_ALGS, Settings
from app.storage.db import Database, advisory_lock
from app.storage.types import utcnow

# Two replicas starting on an empty database (or rotating at once) must not both create a
# "current" key.
_KEYS_LOCK_ID = 0x6B657973  # "keys"


@dataclass(frozen=True)
class Signer:
    kid: str
    alg: str
    key: crypto.PrivateKey

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        return jwt.encode(
            claims, self.key, algorithm=self.alg, headers={"kid": self.kid, "typ": typ}
        )


class KeyStore:
    def __init__(self, db: Database, settings: Settings, box: SecretBox) -> None:
        self.db = db
        self.settings = settings
        self.box = box
        self._signers: dict[str, Signer] = {}
        self._loaded_at = float("-inf")

    @property
    def overlap(self) -> timedelta:
        """How long a retired key stays published: the longest token lifetime, plus the time
        another replica may still sign with it from its cache, plus clock skew."""
        s = self.settings
        longest = max(s.access_token_lifetime, s.id_token_lifetime)
        return timedelta(seconds=longest + s.key_cache_seconds + s.clock_skew_seconds)

    async def ensure(self) -> None:
        """Give every algorithm a current and a next key; reseal keys stored unencrypted (or
        under an older encryption key) when encryption is configured."""
        async with self.db.session() as session:
            await advisory_lock(session, _KEYS_LOCK_ID)
            keys = (await session.exec(select(SigningKey))).all()
            for alg in SIGNING_ALGS:
                statuses = {k.status for k in keys if k.alg == alg}
                if KeyStatus.CURRENT not in statuses:
                    session.add(self._new_key(alg, KeyStatus.CURRENT, activated_at=utcnow()))
                if KeyStatus.NEXT not in statuses:
                    session.add(self._new_key(alg, KeyStatus.NEXT))
            for key in keys:
                if self.box.needs_reseal(key.private_key):
                    key.private_key = self.box.seal(self.box.open(key.private_key))
                    session.add(key)
            await session.commit()
        self._loaded_at = float("-inf")

    async def rotate(
        self, algs: Iterable[str] = SIGNING_ALGS, now: datetime | None = None
    ) -> list[str]:
        """Promote ``next`` to ``current`` and retire the old current key. Returns the new kids."""
        now = now or utcnow()
        promoted: list[str] = []
        async with self.db.session() as session:
            await advisory_lock(session, _KEYS_LOCK_ID)
            for alg in algs:
                keys = (await session.exec(select(SigningKey).where(SigningKey.alg == alg))).all()
                for key in keys:
                    if key.status == KeyStatus.CURRENT:
                        key.status, key.retire_after = KeyStatus.RETIRING, now + self.overlap
                        session.add(key)
                nxt = next((k for k in keys if k.status == KeyStatus.NEXT), None)
                if nxt is None:
                    nxt = self._new_key(alg, KeyStatus.NEXT)
                nxt.status, nxt.activated_at = KeyStatus.CURRENT, now
                session.add(nxt)
                session.add(self._new_key(alg, KeyStatus.NEXT))
                promoted.append(nxt.kid)
            await session.commit()
        self._loaded_at = float("-inf")
        return promoted

    async def rotate_due(self, now: datetime | None = None) -> list[str]:
        """The scheduled job: rotate algorithms whose current key is older than the rotation
        period, and delete retiring keys whose overlap has passed."""
        now = now or utcnow()
        max_age = timedelta(days=self.settings.key_rotation_days)
        async with self.db.session() as session:
            current = (
                await session.exec(select(SigningKey).where(SigningKey.status == KeyStatus.CURRENT))
            ).all()
        due = [k.alg for k in current if k.activated_at is None or k.activated_at + max_age <= now]
        promoted = await self.rotate(due, now) if due else []
        await self.purge(now)
        return promoted

    async def purge(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        async with self.db.session() as session:
            result = await session.exec(
                delete(SigningKey).where(
                    col(SigningKey.status) == KeyStatus.RETIRING,
                    col(SigningKey.retire_after) < now,
                )
            )
            await session.commit()
        return int(result.rowcount or 0)

    async def all(self) -> list[SigningKey]:
        async with self.db.session() as session:
            order = (col(SigningKey.alg), col(SigningKey.created_at))
            return list((await session.exec(select(SigningKey).order_by(*order))).all())

    async def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Every published key: next, current and retiring (RFC 7517 §5)."""
        keys = await self.all()
        return {"keys": [{**k.public_jwk, "kid": k.kid, "alg": k.alg, "use": "sig"} for k in keys]}

    async def verify(self, token: str, *, typ: str | None = None, **decode: Any) -> dict[str, Any]:
        """The claims of a JWT signed with one of our published keys (any status), checked with
        PyJWT's ``decode`` options; ``typ``, when given, must match the header. Raises
        ``jwt.PyJWTError``."""
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if typ is not None and header.get("typ") != typ:
            raise jwt.InvalidTokenError(f"not a {typ} token")
        # Not a kid of ours, and nothing to send to the database.
        if not isinstance(kid, str) or "\x00" in kid or len(kid) > 64:
            raise jwt.InvalidTokenError("not signed by a key of this server")
        async with self.db.session() as session:
            row = await session.get(SigningKey, kid)
        if row is None:
            raise jwt.InvalidTokenError("not signed by a key of this server")
        key = PyJWK({**row.public_jwk, "alg": row.alg}, algorithm=row.alg)
        return dict(jwt.decode(token, key, algorithms=[row.alg], **decode))

    async def signer(self, alg: str) -> Signer:
        if time.monotonic() - self._loaded_at >= self.settings.key_cache_seconds:
            await self._load_current()
        try:
            return self._signers[alg]
        except KeyError:
            raise RuntimeError(
                f"no current signing key for {alg}; run `backchannel keys ensure`"
            ) from None

    async def _load_current(self) -> None:
        async with self.db.session() as session:
            rows = (
                await session.exec(select(SigningKey).where(SigningKey.status == KeyStatus.CURRENT))
            ).all()
        signers = dict(self._signers)
        for row in rows:
            cached = signers.get(row.alg)
            if cached is None or cached.kid != row.kid:
                signers[row.alg] = Signer(
                    row.kid, row.alg, crypto.from_pem(self.box.open(row.private_key))
                )
        self._signers, self._loaded_at = signers, time.monotonic()

    def _new_key(
        self, alg: str, status: KeyStatus, activated_at: datetime | None = None
    ) -> SigningKey:
        private = crypto.generate(alg)
        jwk = crypto.public_jwk(private)
        return SigningKey(
            kid=crypto.thumbprint(jwk),
            alg=alg,
            status=status,
            public_jwk=jwk,
            private_key=self.box.seal(crypto.to_pem(private)),
            activated_at=activated_at,
        )
