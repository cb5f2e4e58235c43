"""Imports every table so ``SQLModel.metadata`` is complete (for Alembic and tests)."""

from sqlmodel import SQLModel

from app.authorize.models import AuthorizationCode, BrowserSession, StoredAuthorization
from app.ciba.limits import RateCount
from app.clients.models import Client
from app.decoupled.models import AuthRequest
from app.devices.models import Device, Enrollment
from app.evidence.models import DecisionEvidence
from app.keys.models import ServerSecret, SigningKey
from app.outbox.models import OutboxMessage
from app.ratelimit import RateEvent
from app.replay import UsedJti
from app.tokens.refresh import RefreshToken
from app.users.models import User
from app.users.subject import PairwiseSubject

metadata = SQLModel.metadata

__all__ = [
    "AuthRequest",
    "AuthorizationCode",
    "BrowserSession",
    "Client",
    "DecisionEvidence",
    "Device",
    "Enrollment",
    "OutboxMessage",
    "PairwiseSubject",
    "RateCount",
    "RateEvent",
    "RefreshToken",
    "ServerSecret",
    "SigningKey",
    "StoredAuthorization",
    "UsedJti",
    "User",
    "metadata",
]
