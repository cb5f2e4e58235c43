"""The decision_evidence table: one row per decided request, written in the decision's own
write, kept ``evidence_retention_days`` (not purged with the hot ``auth_requests`` rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.storage.types import UTCDateTime, json_column


class DecisionEvidence(SQLModel, table=True):
    __tablename__ = "decision_evidence"

    request_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=128)
    user_id: str | None = Field(default=None, max_length=64)
    device_id: str = Field(max_length=64)
    mode: str = Field(max_length=16)
    outcome: str = Field(max_length=16, description="approved or denied")
    # RFC 7517 public key of the device that signed: enough to verify decision_jwt years later.
    device_public_jwk: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    decision_jwt: str
    # What the phone showed: binding_message, scope, authorization_details and their text.
    shown: dict[str, Any] = Field(sa_column=Column(json_column(), nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    shown_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime = Field(sa_type=UTCDateTime)
    # The tokens issued (or, for a login page, the code); and the client told of the outcome.
    redeemed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retain_until: datetime = Field(sa_type=UTCDateTime, index=True)
