"""Enrollment and device management. All SQL for devices and enrollment codes lives here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from jwt import PyJWK, PyJWTError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlmodel import col, select

from app.devices import repository
from app.devices.assertions import spent, unverified_kid, verify_device_jwt
from app.devices.models import Device, Enrollment
from app.devices.web_push import WebPushSubscription
from app.errors import InvalidGrant, InvalidRequest, InvalidToken, NotFound, parse_body
from app.hashing import hash_secret, new_secret
from app.replay import record, use_once
from app.settings import Settings
from app.storage.db import Database, delete_by_key
from app.storage.sql import Tx
from app.storage.types import utcnow

SEEN_GRANULARITY = timedelta(minutes=1)
USED_ASSERTION = "this device JWT has been used before"


def spending(once: tuple[str, str, datetime]) -> Callable[[Tx, datetime], Awaitable[None]]:
    """A write's guard that spends a device assertion's ``jti`` (``authenticate_unspent``) and
    refuses the write, and the call, when it was used before."""

    async def spend(tx: Tx, _now: datetime) -> None:
        if not await record(tx, *once):
            raise InvalidToken(USED_ASSERTION)

    return spend


class DeviceEnrollment(BaseModel):
    """POST /devices."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    enrollment_code: str = Field(min_length=1, max_length=200)
    public_jwk: dict[str, Any]
    push_token: str | None = Field(None, min_length=1, max_length=4096)
    platform: Literal["android", "ios", "web"] | None = None
    name: str | None = Field(None, max_length=100)


class DeviceChanges(BaseModel):
    """PATCH /devices/me."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    push_token: str | None = Field(None, min_length=1, max_length=4096)
    name: str | None = Field(None, max_length=100)
    web_push: WebPushSubscription | None = None


def device_key_alg(jwk: dict[str, Any]) -> str:
    """ES256 (P-256) or EdDSA (Ed25519) public keys only; the private half stays on the phone."""
    if any(member in jwk for member in ("d", "p", "q", "k")):
        raise InvalidRequest("public_jwk must not contain private key material")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    alg = {("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA"}.get((kty, crv))  # type: ignore[arg-type]
    if alg is None:
        raise InvalidRequest("public_jwk must be an EC P-256 (ES256) or OKP Ed25519 (EdDSA) key")
    try:
        PyJWK(jwk, algorithm=alg)
    except (PyJWTError, ValueError, TypeError, KeyError):
        raise InvalidRequest("public_jwk is not a usable key") from None
    return alg


class DeviceService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def new_enrollment(self, user_id: str) -> dict[str, Any]:
        """A single-use enrollment code for the user; shown once, stored hashed."""
        code = new_secret(24)
        expires_at = utcnow() + timedelta(seconds=self.settings.enrollment_code_lifetime)
        async with self.db.session() as session:
            session.add(
                Enrollment(code_hash=hash_secret(code), user_id=user_id, expires_at=expires_at)
            )
            await session.commit()
        return {
            "enrollment_code": code,
            # A fragment never reaches a server log; the authenticator page reads it in the browser.
            "enrollment_uri": f"{self.settings.issuer}/authenticator#enrollment_code={code}",
            "expires_at": expires_at.isoformat(),
        }

    async def enroll(self, data: Any) -> Device:
        """Consume the code (one conditional write: first use wins) and register the device."""
        body = parse_body(DeviceEnrollment, data)
        alg = device_key_alg(body.public_jwk)
        now = utcnow()
        async with self.db.session() as session:
            result = await session.exec(
                update(Enrollment)
                .where(
                    col(Enrollment.code_hash) == hash_secret(body.enrollment_code),
                    col(Enrollment.used_at).is_(None),
                    col(Enrollment.expires_at) > now,
                )
                .values(used_at=now)
            )
            if result.rowcount != 1:
                await session.rollback()
                raise InvalidGrant("the enrollment code is unknown, used or expired")
            enrollment = await session.get(Enrollment, hash_secret(body.enrollment_code))
            assert enrollment is not None
            public: dict[str, Any] = {
                k: body.public_jwk[k] for k in ("kty", "crv", "x", "y") if k in body.public_jwk
            }
            device = Device(
                id=new_secret(16),
                user_id=enrollment.user_id,
                public_jwk=public,
                alg=alg,
                name=body.name,
                platform=body.platform,
                push_token=body.push_token,
            )
            session.add(device)
            await session.commit()
        return device

    async def authenticate(self, assertion: str | None) -> Device:
        """The device whose key signed this bearer assertion (and whose user is active)."""
        device, once = await self.authenticate_unspent(assertion)
        if not await use_once(self.db, *once):
            raise InvalidToken(USED_ASSERTION)
        return device

    async def authenticate_unspent(
        self, assertion: str | None
    ) -> tuple[Device, tuple[str, str, datetime]]:
        """The device, and the assertion's ``jti`` record, for a caller that spends it in its
        own write (with :func:`spending`, or app/replay.py ``record``)."""
        if not assertion:
            raise InvalidToken()
        device = await self.get(unverified_kid(assertion))
        if device is None:
            raise InvalidToken("unknown device")
        claims = await verify_device_jwt(self.db, self.settings, device, assertion, consume=False)
        return device, spent(device, claims)

    async def get(self, device_id: str) -> Device | None:
        return await repository.get(self.db.sql, device_id)

    async def for_user(self, user_id: str) -> list[Device]:
        async with self.db.session() as session:
            query = select(Device).where(Device.user_id == user_id).order_by(col(Device.created_at))
            return list((await session.exec(query)).all())

    async def update(self, device_id: str, data: Any) -> Device:
        changes = parse_body(DeviceChanges, data)
        async with self.db.session() as session:
            device = await session.get(Device, device_id)
            if device is None:
                raise NotFound("no such device")
            if "push_token" in changes.model_fields_set:
                device.push_token, device.push_token_dead = changes.push_token, False
            if "name" in changes.model_fields_set:
                device.name = changes.name
            if "web_push" in changes.model_fields_set:
                subscription = changes.web_push
                if subscription is not None:
                    subscription.check_endpoint(self.settings)
                device.web_push = subscription.stored() if subscription else None
                device.web_push_dead = False
            session.add(device)
            await session.commit()
            return device

    async def delete(self, device_id: str) -> None:
        if not await delete_by_key(self.db, Device, device_id):
            raise NotFound("no such device")

    async def mark_push_token_dead(self, device_id: str, token: str) -> None:
        """FCM said the token is gone; stop using it until the app registers a new one."""
        async with self.db.session() as session:
            await session.exec(
                update(Device)
                .where(col(Device.id) == device_id, col(Device.push_token) == token)
                .values(push_token_dead=True)
            )
            await session.commit()

    async def mark_web_push_dead(self, device_id: str, endpoint: str) -> None:
        """The push service said the subscription is gone (404/410, RFC 8030 §7.3); stop using
        it until the page subscribes again. Only that subscription: a newer one stays live."""
        device = await self.get(device_id)
        if device is None or not device.web_push or device.web_push["endpoint"] != endpoint:
            return
        async with self.db.session() as session:
            await session.exec(
                update(Device).where(col(Device.id) == device_id).values(web_push_dead=True)
            )
            await session.commit()

    async def touch(self, device: Device, now: datetime | None = None) -> None:
        """Note when the device was last heard from, to the minute: a phone's every call need
        not be a write."""
        now = now or utcnow()
        if device.last_seen_at is not None and now - device.last_seen_at < SEEN_GRANULARITY:
            return

        async def unit(tx: Tx) -> None:
            await repository.seen(tx, device.id, now)

        await self.db.sql.write(unit, durable=False)
