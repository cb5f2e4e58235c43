"""New requests ring the web authenticator: one outbox message per device with a live Web Push
subscription, delivered by app/push/webpush.py (imported on the first delivery).

The same rules as FCM (app/push/effects.py): a generic alert and the request id only; a push
service answering 404 or 410 kills the subscription; 429, 5xx and network errors are retried
by the outbox until the request expires.
"""

from __future__ import annotations

from typing import Any

from app import metrics
from app.decoupled.models import AuthRequest
from app.decoupled.service import RequestService
from app.devices.models import Device
from app.devices.service import DeviceService
from app.outbox.service import GiveUp
from app.push.effects import DevicePush
from app.push.vapid import VapidKey
from app.settings import Settings


class WebPush(DevicePush):
    kind = "webpush"
    dead = "web push subscription dead"
    token_column, dead_column = "web_push", "web_push_dead"

    def __init__(
        self,
        vapid: VapidKey,
        settings: Settings,
        devices: DeviceService,
        requests: RequestService,
    ) -> None:
        super().__init__(devices, requests)
        self.vapid = vapid
        self.settings = settings

    async def send(self, device: Device, request: AuthRequest, ttl: int) -> None:
        from app.push import webpush  # heavy (http_ece, py_vapid): on the first push only

        subscription: dict[str, Any] = device.web_push or {}
        try:
            await webpush.send(self.settings, self.vapid, subscription, request.id, ttl)
        except webpush.PushRefused as exc:
            metrics.PUSH_RESULTS.labels(self.kind, "refused").inc()
            raise GiveUp(str(exc)) from None

    async def forget(self, device: Device) -> None:
        assert device.web_push is not None
        await self.devices.mark_web_push_dead(device.id, device.web_push["endpoint"])
