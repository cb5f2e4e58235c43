"""What each feature adds to the core once the process's services exist: the outbox messages a
state move causes and the handlers that deliver them. The composition root (app/main.py) calls
``install``; ``Services`` itself knows no feature (no feature module imports back into it)."""

from __future__ import annotations

from app.ciba.delivery import ClientNotifications
from app.evidence.service import on_redeemed
from app.push.effects import DevicePush, PhonePush, PushFanout
from app.push.web import WebPush
from app.services import Services


def install(services: Services) -> None:
    s = services
    s.requests.effects.append(on_redeemed)
    ClientNotifications(s).install(s.outbox)
    channels: list[DevicePush] = [WebPush(s.vapid, s.settings, s.devices, s.requests)]
    if s.push is not None:  # FCM configured
        channels.insert(0, PhonePush(s.push, s.devices, s.requests))
    PushFanout(channels).install(s.requests, s.outbox)
