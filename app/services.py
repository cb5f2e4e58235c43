"""The services one process holds, built once at start and shared by every request."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from app.clients.authentication import ClientAuthenticator
from app.clients.jwks import ClientKeys
from app.clients.service import ClientService
from app.decoupled.qr import QrCodes
from app.decoupled.service import RequestService
from app.devices.service import DeviceService
from app.events import InProcessBus, PostgresBus
from app.keys.encryption import SecretBox
from app.keys.secrets import server_secret
from app.keys.service import KeyStore
from app.outbound import outbound_client
from app.outbox.service import Outbox
from app.push.vapid import VapidKey, vapid_key
from app.settings import Settings
from app.storage.db import Database
from app.tokens.mint import TokenMinter
from app.users.service import UserService
from app.users.subject import SubjectService

if TYPE_CHECKING:
    from app.push.fcm import FcmSender


@dataclass
class Services:
    settings: Settings
    db: Database
    http: httpx.AsyncClient
    keys: KeyStore
    clients: ClientService
    users: UserService
    subjects: SubjectService
    authenticator: ClientAuthenticator
    minter: TokenMinter
    bus: InProcessBus | PostgresBus
    outbox: Outbox
    requests: RequestService
    devices: DeviceService
    qr: QrCodes
    push: FcmSender | None  # only with FCM configured
    vapid: VapidKey  # Web Push needs no configuration: its key is made on first start
    # Open headless sockets per client in this process (their cap is per process).
    headless_sockets: Counter[str] = field(default_factory=Counter)
    device_streams: int = 0  # open /devices/me/stream sockets in this process, for /metrics
    # What runs for the services' life: listeners that keep this process's caches true.
    background: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Settings, db: Database | None = None) -> Services:
        """Build every service; creates missing signing keys and server secrets."""
        db = db or Database(settings.database_url, pool_size=settings.database_pool_size)
        await db.open()
        box = SecretBox(
            settings.key_encryption_keys.get_secret_value()
            if settings.key_encryption_keys
            else None
        )
        keys = KeyStore(db, settings, box)
        await keys.ensure()
        pairwise = (
            settings.pairwise_secret.get_secret_value().encode()
            if settings.pairwise_secret
            else await server_secret(db, box, "pairwise")
        )
        http = outbound_client()
        # One process on SQLite; replicas share PostgreSQL, and their events with it.
        bus: InProcessBus | PostgresBus = (
            PostgresBus(db.conninfo) if db.is_postgres else InProcessBus()
        )
        if isinstance(bus, PostgresBus):
            await bus.start()
        clients = ClientService(db, settings, bus)
        outbox = Outbox(
            db,
            max_delay=settings.outbox_max_delay_seconds,
            max_attempts=settings.outbox_max_attempts,
            endpoint_concurrency=settings.outbox_endpoint_concurrency,
        )
        requests = RequestService(db, bus, outbox)
        devices = DeviceService(db, settings)
        push = None
        if settings.fcm_credentials_file:
            from app.push.fcm import FcmSender  # heavy: only when configured

            push = FcmSender(settings.fcm_credentials_file, settings.fcm_endpoint)
        vapid = await vapid_key(db, box, settings)
        services = cls(
            settings=settings,
            db=db,
            http=http,
            keys=keys,
            clients=clients,
            users=UserService(db),
            subjects=SubjectService(pairwise, db),
            authenticator=ClientAuthenticator(db, settings, clients, ClientKeys(settings, http)),
            minter=TokenMinter(settings, keys),
            bus=bus,
            outbox=outbox,
            requests=requests,
            devices=devices,
            qr=QrCodes(settings.issuer, settings.qr_rotation_seconds),
            push=push,
            vapid=vapid,
        )
        services.background.append(asyncio.create_task(clients.forget_on_change()))
        return services

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self.push:
            # firebase-admin closes its async client with asyncio.run(): not from inside a loop.
            await asyncio.to_thread(self.push.close)
        if isinstance(self.bus, PostgresBus):
            await self.bus.close()
        await self.http.aclose()
        await self.db.dispose()
