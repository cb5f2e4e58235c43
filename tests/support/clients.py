"""Helpers to register clients and build client assertions the way a real client would."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def register(admin: httpx.Client, **metadata: Any) -> dict[str, Any]:
    response = admin.post("/admin/clients", json=metadata)
    assert response.status_code == 201, response.text
    return dict(response.json())


def register_key_client(admin: httpx.Client, **metadata: Any) -> dict[str, Any]:
    """A client_credentials client that authenticates with private_key_jwt; its keys (``jwks``
    or ``jwks_uri``) in ``metadata``."""
    return register(
        admin,
        grant_types=["client_credentials"],
        token_endpoint_auth_method="private_key_jwt",
        **metadata,
    )


class ClientKey:
    """A client's own key pair, with its public JWK."""

    def __init__(self, alg: str = "ES256", kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex[:8]
        if alg == "EdDSA":
            self.private: Any = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.public_jwk = {**jwk, "kid": self.kid, "alg": alg, "use": "sig"}

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **(headers or {})}
        )

    def assertion(self, client_id: str, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return self.sign({k: v for k, v in claims.items() if v is not None})


def private_jwk(key: ClientKey) -> dict[str, Any]:
    """The key with its private part, which registration must refuse."""
    if key.alg == "ES256":
        return {**json.loads(ECAlgorithm.to_jwk(key.private)), "kid": key.kid}
    return {**json.loads(OKPAlgorithm.to_jwk(key.private)), "kid": key.kid}
