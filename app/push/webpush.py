"""Sending one Web Push message (RFC 8030 §5) to a browser's push service.

The payload is encrypted for the subscription with aes128gcm (RFC 8291, by ``http_ece``) and the
request carries a VAPID JWT (RFC 8292, by ``py_vapid``): both libraries are the ones pywebpush is
built from, used here without pywebpush's own HTTP clients (requests and aiohttp): the POST is
the outbox's lean one (``post_for_status``, app/outbound.py), under the server's outbound rules
like every other call it makes.
Imported on the first push only (app/push/web.py): the idle server does not carry them.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

from app.outbound import post_for_status
from app.push.sender import ALERT_BODY, ALERT_TITLE, DeadToken, TransientPushError
from app.push.vapid import VapidKey
from app.settings import Settings

TIMEOUT = 10.0
VAPID_LIFETIME = 12 * 3600  # RFC 8292 §2: no more than 24 hours


class PushRefused(Exception):
    """The push service refused this message for good (400, 401, 403, 413): retrying is futile."""


def _b64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def payload(request_id: str) -> bytes:
    """What the service worker receives: the generic alert and the request id, nothing else."""
    body = {"type": "auth_request", "request_id": request_id}
    return json.dumps({**body, "title": ALERT_TITLE, "body": ALERT_BODY}).encode()


def encrypt(subscription: dict[str, Any], data: bytes) -> bytes:
    """RFC 8291: a fresh sender key per message, one aes128gcm record."""
    keys = subscription["keys"]
    receiver = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64(keys["p256dh"]))
    sender = ec.generate_private_key(ec.SECP256R1())
    return http_ece.encrypt(
        data, private_key=sender, dh=receiver, auth_secret=_b64(keys["auth"]), version="aes128gcm"
    )


def vapid_header(vapid: VapidKey, endpoint: str) -> str:
    """``vapid t=<JWT>, k=<public key>`` with ``aud`` the push service's origin (RFC 8292 §2)."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + VAPID_LIFETIME,
        "sub": vapid.contact,
    }
    return Vapid02.from_pem(vapid.private_pem).sign(claims)["Authorization"]


async def send(
    settings: Settings,
    vapid: VapidKey,
    subscription: dict[str, Any],
    request_id: str,
    ttl_seconds: int,
) -> None:
    endpoint = subscription["endpoint"]
    headers = {
        "Authorization": vapid_header(vapid, endpoint),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(max(ttl_seconds, 1)),
        "Urgency": "high",  # RFC 8030 §5.3: a person is waiting for it
    }
    content = encrypt(subscription, payload(request_id))
    try:
        code = await post_for_status(endpoint, settings, content, headers, deadline=TIMEOUT)
    except ValueError as exc:  # the endpoint no longer passes the outbound rules
        raise PushRefused(f"push endpoint refused: {exc}") from None
    except (OSError, TimeoutError) as exc:
        raise TransientPushError(type(exc).__name__) from None
    if 200 <= code < 300:
        return
    if code in (404, 410):  # RFC 8030 §7.3: the subscription expired or was removed
        raise DeadToken(f"push service answered {code}")
    if code == 429 or code >= 500:
        raise TransientPushError(f"push service answered {code}")
    raise PushRefused(f"push service answered {code}")
