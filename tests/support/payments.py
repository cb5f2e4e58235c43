"""A payment's authorization_details (RFC 9396 §2's shape), the phone's hash of what it shows
(computed here independently of the server: SHA-256 over RFC 8785 JCS), and DPoP proofs."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import jwt
import rfc8785

from tests.support.clients import ClientKey


def payment(amount: str = "42.10", payee: str = "Corner Shop", ref: str = "8841") -> dict[str, Any]:
    return {
        "type": "payment_initiation",
        "actions": ["initiate"],
        "instructedAmount": {"currency": "EUR", "amount": amount},
        "creditorName": payee,
        "creditorAccount": {"iban": "DE02100100109307118603"},
        "remittanceInformationUnstructured": ref,
    }


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def shown_hash(details: list[dict[str, Any]]) -> str:
    return b64(hashlib.sha256(rfc8785.dumps(details)).digest())


class DpopKey:
    """A client's DPoP key: signs proofs with its public JWK in the header (RFC 9449 §4.2)."""

    def __init__(self, alg: str = "ES256") -> None:
        self.key = ClientKey(alg)
        members = {
            "EC": ("crv", "kty", "x", "y"),
            "RSA": ("e", "kty", "n"),
            "OKP": ("crv", "kty", "x"),
        }
        self.jwk = {k: self.key.public_jwk[k] for k in members[self.key.public_jwk["kty"]]}
        thumb = rfc8785.dumps(self.jwk)
        self.jkt = b64(hashlib.sha256(thumb).digest())

    def proof(self, method: str, url: str, access_token: str | None = None, **claims: Any) -> str:
        body: dict[str, Any] = {
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
            "jti": uuid.uuid4().hex,
        }
        if access_token is not None:
            body["ath"] = b64(hashlib.sha256(access_token.encode()).digest())
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        headers = {"typ": "dpop+jwt", "jwk": self.jwk}
        return jwt.encode(body, self.key.private, algorithm=self.key.alg, headers=headers)
