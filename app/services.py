"""The services one process holds, built once at start and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from app.clients.authentication import ClientAuthenticator
from app.clients.jwks import ClientKeys
from app.clients.service import ClientService
from app.keys.encryption import SecretBox
from app.keys.secrets import server_secret
from app.keys.service import KeyStore
from app.settings import Settings
from app.storage.db import Database
from app.tokens.mint import TokenMinter
from app.users.service import UserService
from app.users.subject import SubjectService


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

    @classmethod
    async def start(cls, settings: Settings, db: Database | None = None) -> Services:
        """Build every service; creates missing signing keys and server secrets."""
        db = db or Database(settings.database_url)
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
        http = httpx.AsyncClient(headers={"User-Agent": "backchannel"}, follow_redirects=False)
        clients = ClientService(db, settings)
        return cls(
            settings=settings,
            db=db,
            http=http,
            keys=keys,
            clients=clients,
            users=UserService(db),
            subjects=SubjectService(pairwise),
            authenticator=ClientAuthenticator(db, settings, clients, ClientKeys(settings, http)),
            minter=TokenMinter(settings, keys),
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()
