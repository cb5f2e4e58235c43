"""A browser's Web Push subscription, as ``PushSubscription.toJSON()`` gives it (Push API §
PushSubscriptionJSON): the push service's endpoint and the keys to encrypt for (RFC 8291 §3).

The endpoint is a URL the server will call, so it obeys the rules for every outbound URL
(app/outbound.py): https, no private addresses outside development.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.errors import InvalidRequest
from app.outbound import check_outbound_url
from app.settings import Settings


def _b64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("must be base64url") from None


class WebPushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)

    @field_validator("p256dh")
    @classmethod
    def _p256dh(cls, value: str) -> str:
        point = _b64url(value)
        if len(point) != 65 or point[0] != 4:  # an uncompressed P-256 point (RFC 8291 §3.1)
            raise ValueError("must be an uncompressed P-256 public key (65 bytes, base64url)")
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        if len(_b64url(value)) != 16:  # RFC 8291 §3.2
            raise ValueError("must be a 16-byte authentication secret (base64url)")
        return value


class WebPushSubscription(BaseModel):
    # ``expirationTime`` and anything newer browsers add are ignored.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    endpoint: str = Field(min_length=1, max_length=2000)
    keys: WebPushKeys

    def check_endpoint(self, settings: Settings) -> None:
        try:
            check_outbound_url(self.endpoint, settings)
        except ValueError as exc:
            raise InvalidRequest(f"web_push.endpoint {exc}") from None

    def stored(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": self.keys.model_dump()}
