"""The frames a headless client may send, as strict models (API.md "Headless flow").

A discriminated union on ``type``: anything else — an unknown type, a missing or extra field, a
wrong type — is ``invalid_request``. Server frames are plain dicts built in ``session.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Start(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["start"]
    client_id: str = Field(min_length=1, max_length=128)
    client_secret: str | None = Field(None, max_length=512)
    client_assertion: str | None = Field(None, max_length=8192)
    client_assertion_type: str | None = Field(None, max_length=200)
    scope: str = Field(max_length=1000)
    login_hint: str | None = None
    login_hint_token: str | None = None
    id_token_hint: str | None = None
    binding_message: str | None = None
    acr_values: str | None = None
    user_code: str | None = None
    requested_expiry: int | str | None = None
    # RFC 9396: the array itself (or its JSON text, as a form would carry it).
    authorization_details: list[Any] | str | None = None
    # RFC 9449: a DPoP proof for POST {issuer}/token, binding the tokens the socket delivers.
    dpop: str | None = Field(None, max_length=8192)

    def credentials(self) -> dict[str, str]:
        """Client authentication as the token endpoint would read it from a form."""
        fields = ("client_id", "client_secret", "client_assertion", "client_assertion_type")
        return {f: v for f in fields if isinstance(v := getattr(self, f), str)}

    def parameters(self) -> dict[str, Any]:
        """The authentication request parameters, for the validator /bc-authorize uses."""
        fields = (
            "scope",
            "login_hint",
            "login_hint_token",
            "id_token_hint",
            "binding_message",
            "acr_values",
            "user_code",
            "requested_expiry",
            "authorization_details",
        )
        return {f: v for f in fields if (v := getattr(self, f)) is not None}


class Cancel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["cancel"]


ClientFrame = Annotated[Start | Cancel, Field(discriminator="type")]
CLIENT_FRAME: TypeAdapter[Start | Cancel] = TypeAdapter(ClientFrame)
