"""What the outbox needs from a push service (the Firebase implementation is app/push/fcm.py,
imported only when FCM is configured: firebase-admin and Google's libraries weigh 15 MiB).

The message carries no personal data: only the request id and a generic alert. The phone fetches
who asks and the binding message over the authenticated device API.
"""

from __future__ import annotations

from typing import Protocol

ALERT_TITLE = "Sign-in request"
ALERT_BODY = "Open the app to review a sign-in request."


class DeadToken(Exception):
    """The push token no longer reaches a device (unregistered, or not a valid token)."""


class TransientPushError(Exception):
    """Try again later."""


class PushSender(Protocol):
    async def send(self, push_token: str, request_id: str, ttl_seconds: int) -> None:
        """Send; raise DeadToken or TransientPushError."""
        ...
