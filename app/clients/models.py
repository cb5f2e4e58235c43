"""The clients table. Registration metadata is one JSON document validated by ClientMetadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.clients.metadata import ClientMetadata
from app.storage.types import UTCDateTime, json_column, utcnow

_PARSED: dict[tuple[str, datetime], ClientMetadata] = {}
_PARSED_MAX = 10_000


class Client(SQLModel, table=True):
    __tablename__ = "clients"

    client_id: str = Field(primary_key=True, max_length=128)
    client_secret_hash: str | None = Field(default=None, max_length=128)
    registration: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def meta(self) -> ClientMetadata:
        # Parsed once per version of the registration (every change sets updated_at), not on
        # every request that reads the client. A request reads it some ten times: the two
        # values come from the instance's dict when they are there (always, but for an ORM
        # instance whose attributes were expired), not through the ORM's descriptors.
        values = self.__dict__
        try:
            key = (values["client_id"], values["updated_at"])
        except KeyError:
            key = (self.client_id, self.updated_at)
        meta = _PARSED.get(key)
        if meta is None:
            meta = ClientMetadata.model_validate(self.registration)
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[key] = meta
        return meta

    def public_view(self) -> dict[str, Any]:
        """The RFC 7591 §3.2.1 client information response, without the secret."""
        return {
            "client_id": self.client_id,
            "client_id_issued_at": int(self.created_at.timestamp()),
            **self.registration,
        }
