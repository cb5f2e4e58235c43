"""Client registration: create, read, update, delete. All SQL for clients lives here."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.clients.metadata import ClientMetadata, parse_metadata
from app.clients.models import Client
from app.errors import Conflict, InvalidClientMetadata, NotFound
from app.events import EventBus
from app.hashing import hash_secret, new_secret
from app.outbound import check_resolvable
from app.settings import Settings
from app.storage.db import Database, delete_by_key
from app.storage.sql import Codec
from app.storage.types import utcnow

ROWS = Codec(Client)
BY_ID = f"SELECT {ROWS.columns} FROM clients WHERE client_id = :client_id"  # noqa: S608 (names)


CLIENTS_TOPIC = "clients"  # a client's registration changed: drop it from every cache
_CACHE_MAX = 10_000


class ClientService:
    def __init__(self, db: Database, settings: Settings, bus: EventBus | None = None) -> None:
        self.db = db
        self.settings = settings
        self.bus = bus
        self._cache: dict[str, tuple[float, Client]] = {}

    def _changed(self, client_id: str) -> None:
        self.forget(client_id)
        if self.bus is not None:
            self.bus.publish(CLIENTS_TOPIC, {"client_id": client_id})

    def forget(self, client_id: str) -> None:
        self._cache.pop(client_id, None)

    async def forget_on_change(self) -> None:
        """Drop what other processes (replicas) say they changed; runs for the app's life."""
        assert self.bus is not None
        async with self.bus.subscribe([CLIENTS_TOPIC]) as changes:
            while True:
                event = await changes.get()
                if event is not None:
                    self.forget(str(event.get("client_id")))

    async def create(self, data: Any) -> dict[str, Any]:
        """Register a client; the response carries the secret, which is never shown again."""
        meta = await self._parse(data)
        client_id = meta.client_id or new_secret(16)
        secret = new_secret() if meta.uses_secret else None
        client = Client(
            client_id=client_id,
            client_secret_hash=hash_secret(secret) if secret else None,
            registration=_stored(meta),
        )
        async with self.db.session() as session:
            session.add(client)
            try:
                await session.commit()
            except IntegrityError:
                raise Conflict("a client with this client_id exists") from None
        self._changed(client_id)
        return _with_secret(client, secret)

    async def _parse(self, data: Any) -> ClientMetadata:
        """Validate the metadata, then what the URLs we will call resolve to (DNS, so async)."""
        meta = parse_metadata(data, self.settings)
        for name in ("jwks_uri", "backchannel_client_notification_endpoint"):
            url = getattr(meta, name)
            if url is None:
                continue
            try:
                await check_resolvable(url, self.settings)
            except ValueError as exc:
                raise InvalidClientMetadata(f"{name} {exc}") from None
        return meta

    async def get(self, client_id: str) -> Client | None:
        """The registered client (read-only), from the cache while it is fresh. Unknown ids
        are not cached: a new client works at once."""
        now = time.monotonic()
        hit = self._cache.get(client_id)
        if hit is not None and now - hit[0] < self.settings.client_cache_seconds:
            return hit[1]
        client = ROWS.load(await self.db.sql.one(BY_ID, {"client_id": client_id}))
        if client is None:
            self._cache.pop(client_id, None)
        elif self.settings.client_cache_seconds > 0:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[client_id] = (now, client)
        return client

    async def require(self, client_id: str) -> Client:
        client = await self.get(client_id)
        if client is None:
            raise NotFound("no such client")
        return client

    async def all(self) -> list[Client]:
        async with self.db.session() as session:
            return list((await session.exec(select(Client).order_by(col(Client.created_at)))).all())

    async def update(self, client_id: str, changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into the registration (``null`` removes a member) and revalidate the
        whole. A client that becomes secret-based gets a new secret, returned once."""
        if not isinstance(changes, dict):
            raise InvalidClientMetadata("the request body must be a JSON object")
        if changes.get("client_id", client_id) != client_id:
            raise InvalidClientMetadata("client_id cannot be changed")
        async with self.db.session() as session:
            client = await session.get(Client, client_id)
            if client is None:
                raise NotFound("no such client")
            merged = {**client.registration, **changes}
            meta = await self._parse({k: v for k, v in merged.items() if v is not None})
            secret = None
            if not meta.uses_secret:
                client.client_secret_hash = None
            elif client.client_secret_hash is None or changes.get("rotate_secret") is True:
                secret = new_secret()
                client.client_secret_hash = hash_secret(secret)
            client.registration = _stored(meta)
            client.updated_at = utcnow()
            session.add(client)
            await session.commit()
        self._changed(client_id)
        return _with_secret(client, secret)

    async def delete(self, client_id: str) -> None:
        if not await delete_by_key(self.db, Client, client_id):
            raise NotFound("no such client")
        self._changed(client_id)


def _stored(meta: ClientMetadata) -> dict[str, Any]:
    data = meta.model_dump(exclude_none=True, exclude={"client_id"})
    sector = meta.sector_identifier() if meta.subject_type == "pairwise" else None
    if sector:
        data["sector_identifier"] = sector
    return data


def _with_secret(client: Client, secret: str | None) -> dict[str, Any]:
    view = client.public_view()
    if secret is not None:
        view["client_secret"] = secret
        view["client_secret_expires_at"] = 0
    return view
