"""Device-signed JWTs: the bearer assertion on every device call, and signed decisions.

A device assertion (API.md): header ``kid`` = device_id, claims ``iss`` = device_id,
``aud`` = issuer, ``iat``, ``exp`` at most 5 minutes after ``iat``, ``jti`` accepted once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt

from app.devices.models import Device
from app.errors import InvalidToken, OAuthError
from app.jwt_kinds import DEVICE_ASSERTION, Kind
from app.replay import use_once
from app.settings import Settings
from app.storage.db import Database

DEVICE_ALGS = ("ES256", "EdDSA")
MAX_LIFETIME = 300


def unverified_kid(token: str) -> str:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise InvalidToken("the device assertion is not a JWT") from None
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the device assertion needs a kid header naming the device")
    return kid


async def verify_device_jwt(
    db: Database,
    settings: Settings,
    device: Device,
    token: str,
    *,
    required: tuple[str, ...] = (),
    error: type[OAuthError] = InvalidToken,
    kind: Kind = DEVICE_ASSERTION,
    consume: bool = True,
) -> dict[str, Any]:
    """Verify a JWT of ``kind`` signed by ``device``'s key and consume its ``jti``; raise
    ``error`` if not. A decision is never taken as a device assertion (app/jwt_kinds.py).
    ``consume`` False leaves the ``jti`` to the caller's own write (``spend``)."""
    try:
        key = _public_key(device)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[device.alg],
            audience=settings.issuer,
            issuer=device.id,
            leeway=settings.clock_skew_seconds,
            options={"require": ["iss", "aud", "iat", "exp", "jti", *required]},
        )
    except jwt.PyJWTError as exc:
        raise error(f"the device JWT is invalid: {exc}") from None
    if problem := kind.problem({}, claims):
        raise error(problem)
    if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME:
        raise error("a device JWT may live at most 5 minutes")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise error("jti must be a string of 1 to 255 characters")
    if consume and not await use_once(db, *spent(device, claims)):
        raise error("this device JWT has been used before")
    return claims


def spent(device: Device, claims: dict[str, Any]) -> tuple[str, str, datetime]:
    """What app/replay.py records for a verified device JWT: issuer, jti, expiry."""
    return f"device:{device.id}", claims["jti"], datetime.fromtimestamp(float(claims["exp"]), UTC)


_KEYS: dict[tuple[str, str, str], Any] = {}


def _public_key(device: Device) -> Any:
    """The device's verification key, parsed once per device and key (every call of a phone
    verifies one or two JWTs)."""
    jwk = device.public_jwk
    cache_key = (device.id, device.alg, f"{jwk.get('x')}.{jwk.get('y')}")
    key = _KEYS.get(cache_key)
    if key is None:
        key = jwt.PyJWK(jwk, algorithm=device.alg).key
        if len(_KEYS) >= 10_000:
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key
