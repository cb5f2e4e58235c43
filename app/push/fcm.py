"""The Firebase Cloud Messaging push sender (firebase-admin).

High priority on Android and APNs, and a time to live equal to the time left before the request
expires; the payload is app/push/sender.py's generic alert and the request id only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import firebase_admin
import requests.adapters
from firebase_admin import credentials, exceptions, messaging

from app.push.sender import ALERT_BODY, ALERT_TITLE, DeadToken, TransientPushError


def build_message(push_token: str, request_id: str, ttl_seconds: int) -> messaging.Message:
    ttl = timedelta(seconds=max(ttl_seconds, 1))
    return messaging.Message(
        # ``token`` (an FCM registration token) is what every shipped app sends; firebase-admin 7
        # prefers Firebase installation ids and warns, but the v1 API takes both.
        token=push_token,
        data={"type": "auth_request", "request_id": request_id},
        notification=messaging.Notification(title=ALERT_TITLE, body=ALERT_BODY),
        android=messaging.AndroidConfig(priority="high", ttl=ttl),
        apns=messaging.APNSConfig(
            # APNs takes an absolute expiry, not a TTL.
            headers={
                "apns-priority": "10",
                "apns-push-type": "alert",
                "apns-expiration": str(int(time.time()) + max(ttl_seconds, 1)),
            },
            payload=messaging.APNSPayload(aps=messaging.Aps(sound="default")),
        ),
    )


class FcmSender:
    """firebase-admin's messaging service with a service-account file.

    ``endpoint`` replaces ``https://fcm.googleapis.com`` (an emulator, or the tests' stand-in); the
    OAuth token endpoint comes from the service-account file's ``token_uri``.
    """

    def __init__(self, credentials_file: str, endpoint: str | None = None) -> None:
        cred = credentials.Certificate(credentials_file)
        self.app = firebase_admin.initialize_app(cred, name=f"backchannel-{uuid.uuid4().hex}")
        service = messaging._get_messaging_service(self.app)
        # One retry policy, the outbox's: durable across restarts and visible in its rows. The
        # library's own in-process retries would hold a worker for seconds on every 503.
        no_retries = requests.adapters.HTTPAdapter(max_retries=0)
        for prefix in ("http://", "https://", "https://fcm.googleapis.com"):
            service._client.session.mount(prefix, no_retries)
        if endpoint:
            service._fcm_url = f"{endpoint.rstrip('/')}/v1/projects/{cred.project_id}/messages:send"

    async def send(self, push_token: str, request_id: str, ttl_seconds: int) -> None:
        message = build_message(push_token, request_id, ttl_seconds)
        try:
            await asyncio.to_thread(messaging.send, message, app=self.app)
        except (messaging.UnregisteredError, messaging.SenderIdMismatchError) as exc:
            raise DeadToken(exc.code) from None
        except exceptions.InvalidArgumentError as exc:
            # FCM answers INVALID_ARGUMENT for a malformed registration token.
            if "token" in str(exc).lower():
                raise DeadToken("invalid registration token") from None
            raise TransientPushError(f"FCM refused the message: {exc.code}") from None
        except exceptions.FirebaseError as exc:
            raise TransientPushError(f"FCM error {exc.code}") from None
        except Exception as exc:  # transport errors, OAuth token refresh failures
            raise TransientPushError(type(exc).__name__) from None

    def close(self) -> None:
        firebase_admin.delete_app(self.app)
