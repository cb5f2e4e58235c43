"""Tables of the redirect flow: stored authorization requests, codes and browser sessions.

Codes, ``request_uri`` handles and session cookies are random and kept here only as hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime, json_column, reference, utcnow


class StoredAuthorization(SQLModel, table=True):
    """Validated authorization parameters, waiting for their use: a pushed request (``par``)
    until /authorize names it, or a login page (``login``) until the user is authenticated."""

    __tablename__ = "authorization_requests"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=8, description="par or login")
    handle_hash: str | None = Field(
        default=None, max_length=128, unique=True, description="par: the request_uri's hash"
    )
    client_id: str = Field(sa_column=reference("clients.client_id", 128))
    params: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    browser_hash: str | None = Field(
        default=None, max_length=128, description="login: the browser that may use the page"
    )
    attempt_id: str | None = Field(
        default=None, max_length=64, description="login: the current phone approval request"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuthorizationCode(SQLModel, table=True):
    """One authorization code and, once redeemed, what it issued (so a replay can revoke it)."""

    __tablename__ = "authorization_codes"

    id: str = Field(primary_key=True, max_length=64)
    code_hash: str = Field(max_length=128, unique=True)
    client_id: str = Field(sa_column=reference("clients.client_id", 128))
    user_id: str = Field(sa_column=reference("users.id", 64))
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=1000)
    nonce: str | None = Field(default=None, max_length=500)
    code_challenge: str | None = Field(default=None, max_length=128)
    code_challenge_method: str | None = Field(default=None, max_length=8)
    auth_time: int
    acr: str | None = Field(default=None, max_length=100)
    amr: list[str] = Field(default_factory=list, sa_column=Column(json_column(), nullable=False))
    authorization_details: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(json_column(), nullable=True), description="RFC 9396"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # RFC 9449 §10: only a token request with a DPoP proof by this key may redeem the code.
    dpop_jkt: str | None = Field(default=None, max_length=64)
    redeemed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    access_jti: str | None = Field(default=None, max_length=64)
    access_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refresh_family_id: str | None = Field(default=None, max_length=64)


class BrowserSession(SQLModel, table=True):
    """A signed-in browser: lets a returning user skip the phone within ``max_age`` — for the
    clients and scopes they approved on the phone (``consents``), while the approving device
    stays enrolled."""

    __tablename__ = "browser_sessions"

    id: str = Field(primary_key=True, max_length=64)
    token_hash: str = Field(max_length=128, unique=True)
    user_id: str = Field(sa_column=reference("users.id", 64))
    device_id: str = Field(max_length=64)
    consents: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(json_column(), nullable=False),
        description="client_id → the scope the user approved for it on the phone",
    )
    auth_time: int
    acr: str | None = Field(default=None, max_length=100)
    amr: list[str] = Field(default_factory=list, sa_column=Column(json_column(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
