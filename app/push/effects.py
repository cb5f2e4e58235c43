"""New requests become one outbox message per device with a live push token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app import metrics
from app.decoupled.models import AuthRequest
from app.decoupled.service import RequestService
from app.decoupled.states import Status
from app.devices import repository as devices_sql
from app.devices.service import DeviceService
from app.outbox.models import OutboxMessage
from app.outbox.service import GiveUp, Outbox, Retry, new_message
from app.push.sender import DeadToken, PushSender, TransientPushError
from app.storage.sql import Tx
from app.storage.types import utcnow

KIND = "fcm"


class PhonePush:
    def __init__(
        self, sender: PushSender, devices: DeviceService, requests: RequestService
    ) -> None:
        self.sender = sender
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
        return push_messages(KIND, request, await devices_sql.pushable(tx, request.user_id))

    async def deliver(self, payload: dict[str, Any]) -> None:
        device = await self.devices.get(payload["device_id"])
        request = await self.requests.get(payload["request_id"])
        if device is None or not device.push_token or device.push_token_dead:
            return  # the device left, or its token died since: nothing to send
        ttl = seconds_left(request)
        if request is None or ttl is None:
            return
        try:
            await self.sender.send(device.push_token, request.id, ttl)
        except DeadToken as exc:
            metrics.PUSH_RESULTS.labels(KIND, "dead_token").inc()
            await self.devices.mark_push_token_dead(device.id, device.push_token)
            raise GiveUp(f"push token dead: {exc}") from None
        except TransientPushError as exc:
            metrics.PUSH_RESULTS.labels(KIND, "transient").inc()
            raise Retry(str(exc)) from None
        metrics.PUSH_RESULTS.labels(KIND, "sent").inc()


def push_messages(
    kind: str, request: AuthRequest, device_ids: Sequence[str]
) -> list[OutboxMessage]:
    """One message of ``kind`` per device to tell of a new request: its id, nothing else."""
    return [
        new_message(kind, {"request_id": request.id, "device_id": d}, give_up_at=request.expires_at)
        for d in device_ids
    ]


def seconds_left(request: AuthRequest | None) -> int | None:
    """The push's time to live, or None when there is nothing left to tell: the request was
    answered elsewhere, expired or cancelled."""
    if request is None or request.status != Status.PENDING:
        return None
    ttl = int((request.expires_at - utcnow()).total_seconds())
    return ttl if ttl > 0 else None
