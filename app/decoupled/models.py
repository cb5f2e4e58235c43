"""The auth_requests table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime, json_column, reference, utcnow

# The mode of tries started on a login page of the redirect flow (by a browser, not a client).
LOGIN_PAGE_MODE = "authorize"


class AuthRequest(SQLModel, table=True):
    """One decoupled login, from the client's ask to the tokens (or the refusal)."""

    __tablename__ = "auth_requests"
    __table_args__ = (
        # The phone's list (a user's pending requests) and the expiry job (due requests); with
        # an index on status alone SQLite scanned every pending request for each phone's list.
        Index("ix_auth_requests_user_pending", "user_id", "status", "expires_at"),
        Index("ix_auth_requests_status_expires", "status", "expires_at"),
    )

    id: str = Field(
        primary_key=True,
        max_length=64,
        description="what devices see; time-ordered (app/decoupled/handles.py); the auth_req_id "
        "starts with it",
    )
    # Looked up by the id its auth_req_id starts with, then compared: no index of its own.
    auth_req_id_hash: str = Field(max_length=128)
    client_id: str = Field(sa_column=reference("clients.client_id", 128))
    user_id: str | None = Field(
        default=None,
        # ix_auth_requests_user_pending starts with user_id: it serves the cascade too.
        sa_column=reference("users.id", 64, nullable=True, index=False),
    )
    status: str = Field(max_length=16, description="a Status value")
    mode: str = Field(
        max_length=16, description="how the result leaves: poll, ping, push, headless"
    )
    scope: str = Field(max_length=1000)
    acr_values: str | None = Field(default=None, max_length=500)
    binding_message: str | None = Field(default=None, max_length=500)
    user_code_required: bool = False
    client_notification_token: str | None = Field(default=None, max_length=1024)
    # RFC 9396: what exactly the user approves; the phone shows it, the decision hashes it.
    authorization_details: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(json_column(), nullable=True)
    )
    # RFC 9449: the DPoP key a headless start bound its tokens to (its JWK thumbprint).
    dpop_jkt: str | None = Field(default=None, max_length=64)
    extra: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(json_column(), nullable=False)
    )
    interval: int = 5
    qr_secret: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When a device was first handed the request's view (evidence: the phone had it to show).
    shown_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    device_id: str | None = Field(default=None, max_length=64)
    decision_jwt: str | None = Field(
        default=None, description="the signed decision, kept as evidence"
    )
    acr: str | None = Field(default=None, max_length=100)
    amr: list[str] = Field(default_factory=list, sa_column=Column(json_column(), nullable=False))
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
