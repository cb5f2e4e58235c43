"""A simulated authenticator: its own key pair, device assertions and signed decisions."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.support.clients import ClientKey


class SimulatedDevice:
    def __init__(self, issuer: str, alg: str = "ES256") -> None:
        self.issuer = issuer
        self.key = ClientKey(alg)
        self.device_id: str | None = None

    @property
    def public_jwk(self) -> dict[str, Any]:
        return {k: v for k, v in self.key.public_jwk.items() if k in ("kty", "crv", "x", "y")}

    def enroll(self, http: httpx.Client, code: str, **extra: Any) -> dict[str, Any]:
        response = http.post(
            "/devices", json={"enrollment_code": code, "public_jwk": self.public_jwk, **extra}
        )
        assert response.status_code == 201, response.text
        self.device_id = response.json()["device_id"]
        self.key.kid = self.device_id
        return dict(response.json())

    def _claims(self, lifetime: int = 60, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.device_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def assertion(self, **overrides: Any) -> str:
        return self.key.sign(self._claims(**overrides))

    def auth(self, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.assertion(**overrides)}"}

    def decision_jwt(self, request_id: str, decision: str = "approve", **overrides: Any) -> str:
        return self.key.sign(self._claims(request_id=request_id, decision=decision, **overrides))

    def decide(
        self, http: httpx.Client, request_id: str, decision: str = "approve", **overrides: Any
    ) -> httpx.Response:
        body = {"decision_jwt": self.decision_jwt(request_id, decision, **overrides)}
        return http.post(
            f"/devices/me/requests/{request_id}/decision", json=body, headers=self.auth()
        )


def enroll_new_device(
    admin: httpx.Client, http: httpx.Client, issuer: str, user_id: str, **extra: Any
) -> SimulatedDevice:
    code = admin.post(f"/admin/users/{user_id}/enrollments").json()["enrollment_code"]
    device = SimulatedDevice(issuer)
    device.enroll(http, code, **extra)
    return device
