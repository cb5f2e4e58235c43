"""New requests become one outbox message per device that a push channel can reach (FCM here,
Web Push in app/push/web.py); each message is delivered by the channel that made it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from app import metrics
from app.decoupled.models import AuthRequest
from app.decoupled.service import RequestService
from app.decoupled.states import Status
from app.devices import repository as devices_sql
from app.devices.models import Device
from app.devices.service import DeviceService
from app.outbox.models import OutboxMessage
from app.outbox.service import GiveUp, Outbox, Retry, new_message
from app.push.sender import DeadToken, PushSender, TransientPushError
from app.storage.sql import Tx
from app.storage.types import utcnow


class DevicePush:
    """A push channel to users' devices. A message carries the request id and nothing else (the
    phone fetches what to show); its delivery reads the device and the request again, sends
    nothing once either is gone or answered, forgets a token the service calls dead and leaves
    transient failures to the outbox's retries until the request expires."""

    kind: ClassVar[str]
    dead: ClassVar[str]  # why a delivery was given up when the token died, for the outbox row
    # The device's columns for this channel: its token (or subscription) and whether the push
    # service called it dead.
    token_column: ClassVar[str]
    dead_column: ClassVar[str]

    def __init__(self, devices: DeviceService, requests: RequestService) -> None:
        self.devices = devices
        self.requests = requests

    def reaches(self, target: Mapping[str, Any]) -> bool:
        """Whether a device (its fields, or its row of push targets: app/devices/repository.py)
        has a live token or subscription for this channel."""
        return bool(target[self.token_column]) and not target[self.dead_column]

    async def deliver(self, payload: dict[str, Any]) -> None:
        device = await self.devices.get(payload["device_id"])
        request = await self.requests.get(payload["request_id"])
        if device is None or not self.reaches(vars(device)):  # a model's fields are its vars
            return  # the device left, or its token died since: nothing to send
        ttl = seconds_left(request)
        if request is None or ttl is None:
            return
        try:
            await self.send(device, request, ttl)
        except DeadToken as exc:
            metrics.PUSH_RESULTS.labels(self.kind, "dead_token").inc()
            await self.forget(device)
            raise GiveUp(f"{self.dead}: {exc}") from None
        except TransientPushError as exc:
            metrics.PUSH_RESULTS.labels(self.kind, "transient").inc()
            raise Retry(str(exc)) from None
        metrics.PUSH_RESULTS.labels(self.kind, "sent").inc()

    async def send(self, device: Device, request: AuthRequest, ttl: int) -> None:
        raise NotImplementedError

    async def forget(self, device: Device) -> None:
        """The push service called the device's token dead: no more pushes to it."""
        raise NotImplementedError


class PhonePush(DevicePush):
    """Firebase Cloud Messaging, to the phone app's registration token."""

    kind = "fcm"
    dead = "push token dead"
    token_column, dead_column = "push_token", "push_token_dead"

    def __init__(
        self, sender: PushSender, devices: DeviceService, requests: RequestService
    ) -> None:
        super().__init__(devices, requests)
        self.sender = sender

    async def send(self, device: Device, request: AuthRequest, ttl: int) -> None:
        assert device.push_token is not None
        await self.sender.send(device.push_token, request.id, ttl)

    async def forget(self, device: Device) -> None:
        assert device.push_token is not None
        await self.devices.mark_push_token_dead(device.id, device.push_token)


class PushFanout:
    """The push channels' one effect: a new request becomes a message per device and channel
    that reaches it, all from one query of the user's devices, staged in the request's own
    write (app/decoupled/service.py reads them just before it)."""

    def __init__(self, channels: Sequence[DevicePush]) -> None:
        self.channels = channels

    def install(self, requests: RequestService, outbox: Outbox) -> None:
        requests.effects.append(self.effects)
        for channel in self.channels:
            outbox.register(channel.kind, channel.deliver)

    async def effects(
        self, tx: Tx, request: AuthRequest, status: Status
    ) -> Sequence[OutboxMessage]:
        if status != Status.PENDING or request.user_id is None:
            return []
        targets = await devices_sql.push_targets(tx, request.user_id)
        return [
            message
            for channel in self.channels
            for message in push_messages(
                channel.kind, request, [t["id"] for t in targets if channel.reaches(t)]
            )
        ]


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
