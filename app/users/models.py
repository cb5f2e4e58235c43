"""The users table and the shapes the admin API accepts (OpenID Core §5.1 standard claims)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlalchemy import Column
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from app.storage.types import UTCDateTime, json_column, utcnow

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@+-]{0,63}$"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")

# Claims kept in ``User.claims``; username, email and phone_number are columns (unique, looked up).
PROFILE_CLAIMS = (
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = ColumnField(primary_key=True, max_length=64)
    username: str = ColumnField(max_length=64, unique=True)
    email: str | None = ColumnField(default=None, max_length=254, unique=True)
    email_verified: bool = False
    phone_number: str | None = ColumnField(default=None, max_length=16, unique=True)
    phone_number_verified: bool = False
    active: bool = True
    user_code_hash: str | None = ColumnField(default=None, max_length=200)
    claims: dict[str, Any] = ColumnField(
        default_factory=dict, sa_column=Column(json_column(), nullable=False)
    )
    created_at: datetime = ColumnField(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = ColumnField(default_factory=utcnow, sa_type=UTCDateTime)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "email_verified": self.email_verified,
            "phone_number": self.phone_number,
            "phone_number_verified": self.phone_number_verified,
            "active": self.active,
            "user_code_set": self.user_code_hash is not None,
            **self.claims,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class Address(BaseModel):
    """OpenID Core §5.1.1."""

    model_config = ConfigDict(extra="forbid")
    formatted: str | None = Field(None, max_length=500)
    street_address: str | None = Field(None, max_length=200)
    locality: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=100)


class UserFields(BaseModel):
    """Every writable field; unknown members are refused so a typo is not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str | None = Field(None, min_length=1, max_length=64)
    email: EmailStr | None = None
    email_verified: bool | None = None
    phone_number: str | None = None
    phone_number_verified: bool | None = None
    active: bool | None = None
    user_code: str | None = Field(
        None, min_length=4, max_length=64, description="CIBA user_code; write-only, stored hashed"
    )
    name: str | None = Field(None, max_length=200)
    given_name: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    nickname: str | None = Field(None, max_length=100)
    preferred_username: str | None = Field(None, max_length=100)
    profile: str | None = Field(None, max_length=500)
    picture: str | None = Field(None, max_length=500)
    website: str | None = Field(None, max_length=500)
    gender: str | None = Field(None, max_length=50)
    birthdate: str | None = Field(None, pattern=r"^(\d{4}|0000)(-\d{2}-\d{2})?$")
    zoneinfo: str | None = Field(None, max_length=64)
    locale: str | None = Field(None, max_length=35)
    address: Address | None = None

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.lower()
        if not re.match(USERNAME_PATTERN, value):
            raise ValueError(
                "usernames are 1-64 of a-z 0-9 . _ @ + - and start with a letter or digit"
            )
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return normalize_phone(value)


_SEPARATORS = re.compile(r"[\s().-]").sub


def normalize_phone(value: str) -> str:
    """E.164 with separators removed: ``+44 20 7946-0018`` → ``+442079460018``."""
    compact = _SEPARATORS("", value)
    if not E164.match(compact):
        raise ValueError("phone_number must be in E.164 form, such as +447700900123")
    return compact
