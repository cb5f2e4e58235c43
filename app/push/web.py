"""New requests ring the web authenticator: one outbox message per device with a live Web Push
subscription, delivered by app/push/webpush.py (imported on the first delivery).

The same rules as FCM (app/push/effects.py): a generic alert and the request id only; a push
service answering 404 or 410 kills the subscription; 429, 5xx and network errors are retried
by the outbox until the request expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from app import metrics
from app.decoupled.models import AuthRequest
from app.decoupled.service import RequestService
from app.decoupled.states import Status
from app.devices import repository as devices_sql
from app.devices.service import DeviceService
from app.outbox.models import OutboxMessage
from app.outbox.service import GiveUp, Outbox, Retry
from app.push.effects import push_messages, seconds_left
from app.push.sender import DeadToken, TransientPushError
from app.push.vapid import VapidKey
from app.settings import Settings
from app.storage.sql import Tx

KIND = "webpush"


class WebPush:
    def __init__(
        self,
        vapid: VapidKey,
        settings: Settings,
        http: httpx.AsyncClient,
        devices: DeviceService,
        requests: RequestService,
    ) -> None:
        self.vapid = vapid
        self.settings = settings
        self.http = http
        self.devices = devices
        self.requests = requests

    def install(self, outbox: Outbox) -> None:
        self.requests.effects.append(self.effects)
        outbox.register(KIND, self.deliver)

    async def effects(
        self, tx: Tx, request: AuthRequest, status: Status
    ) -> Sequence[OutboxMessage]:
        if status != Status.PENDING or request.user_id is None:
            return []
        return push_messages(KIND, request, await devices_sql.web_pushable(tx, request.user_id))

    async def deliver(self, payload: dict[str, Any]) -> None:
        from app.push import webpush  # heavy (http_ece, py_vapid): on the first push only

        device = await self.devices.get(payload["device_id"])
        request = await self.requests.get(payload["request_id"])
        if device is None or not device.web_push or device.web_push_dead:
            return  # the device left, or its subscription died since: nothing to send
        ttl = seconds_left(request)
        if request is None or ttl is None:
            return
        subscription = device.web_push
        try:
            await webpush.send(self.http, self.settings, self.vapid, subscription, request.id, ttl)
        except DeadToken as exc:
            metrics.PUSH_RESULTS.labels(KIND, "dead_token").inc()
            await self.devices.mark_web_push_dead(device.id, subscription["endpoint"])
            raise GiveUp(f"web push subscription dead: {exc}") from None
        except webpush.PushRefused as exc:
            metrics.PUSH_RESULTS.labels(KIND, "refused").inc()
            raise GiveUp(str(exc)) from None
        except TransientPushError as exc:
            metrics.PUSH_RESULTS.labels(KIND, "transient").inc()
            raise Retry(str(exc)) from None
        metrics.PUSH_RESULTS.labels(KIND, "sent").inc()
