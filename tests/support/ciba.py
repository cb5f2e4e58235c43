"""A CIBA client's side: register, ask /bc-authorize, poll /token; a user with a phone."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from tests.support.device import SimulatedDevice, enroll_new_device
from tests.support.requests import ciba_client

CIBA = "urn:openid:params:grant-type:ciba"


@dataclass
class CibaClient:
    """A registered CIBA client with a secret (client_secret_basic)."""

    http: httpx.Client
    client_id: str
    secret: str

    @classmethod
    def register(cls, admin: httpx.Client, http: httpx.Client, **metadata: Any) -> CibaClient:
        client = ciba_client(admin, **metadata)
        return cls(http, client["client_id"], client["client_secret"])

    @property
    def auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)

    def authorize(self, **params: Any) -> httpx.Response:
        params.setdefault("scope", "openid")
        return self.http.post("/bc-authorize", data=params, auth=self.auth)

    def start(self, **params: Any) -> str:
        response = self.authorize(**params)
        assert response.status_code == 200, response.text
        return str(response.json()["auth_req_id"])

    def poll(self, auth_req_id: str, **headers: str) -> httpx.Response:
        return self.http.post(
            "/token",
            data={"grant_type": CIBA, "auth_req_id": auth_req_id},
            auth=self.auth,
            headers=headers,
        )


def long_poll_while(client: CibaClient, auth_req_id: str, decide: Any) -> tuple[Any, float]:
    """Long-poll /token (``Prefer: wait=5``) and, once the poll is waiting, call ``decide``;
    returns the poll's response and how long after the decision it came."""
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(response=client.poll(auth_req_id, prefer="wait=5"))
    )
    thread.start()
    time.sleep(0.3)
    decided = time.monotonic()
    decide()
    thread.join(timeout=10)
    return result["response"], time.monotonic() - decided


@dataclass
class Phone:
    """A user with one enrolled simulated device."""

    user: dict[str, Any]
    device: SimulatedDevice
    http: httpx.Client

    @classmethod
    def enroll(
        cls, admin: httpx.Client, http: httpx.Client, issuer: str, username: str, **fields: Any
    ) -> Phone:
        response = admin.post("/admin/users", json={"username": username, **fields})
        assert response.status_code == 201, response.text
        user = response.json()
        return cls(user, enroll_new_device(admin, http, issuer, user["id"]), http)

    def pending(self) -> list[dict[str, Any]]:
        response = self.http.get("/devices/me/requests", headers=self.device.auth())
        assert response.status_code == 200, response.text
        return list(response.json())

    def answer(self, decision: str = "approve", **claims: Any) -> dict[str, Any]:
        """Answer the one pending request; returns what the phone was shown."""
        (shown,) = self.pending()
        response = self.device.decide(self.http, shown["id"], decision, **claims)
        assert response.status_code == 200, response.text
        return shown


def verify_id_token(issuer: str, token: str, client_id: str) -> dict[str, Any]:
    """Check an ID token's signature against the server's published JWKS, as a client would."""
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKClient(issuer + "/jwks").get_signing_key_from_jwt(token)
    return dict(
        jwt.decode(token, key.key, algorithms=[header["alg"]], audience=client_id, issuer=issuer)
    )


def left_hash(value: str, alg: str) -> str:
    """OpenID's at_hash / rt_hash: the left half of the hash, SHA-512 for EdDSA."""
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
