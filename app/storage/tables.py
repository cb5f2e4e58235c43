"""Imports every table so ``SQLModel.metadata`` is complete (for Alembic and tests)."""

from sqlmodel import SQLModel

from app.clients.models import Client
from app.keys.models import ServerSecret, SigningKey
from app.replay import UsedJti
from app.users.models import User

metadata = SQLModel.metadata

__all__ = ["Client", "ServerSecret", "SigningKey", "UsedJti", "User", "metadata"]
