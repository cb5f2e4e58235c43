"""A local stand-in for a browser's push service (RFC 8030), and the browser's half of a
subscription, so the server's real Web Push path runs without the internet.

The stand-in checks what a real push service checks — the VAPID JWT (RFC 8292: ``aud`` is its
origin, ``exp`` within 24 hours, a ``sub`` contact, the signature by the ``k`` key, and that key
the one the page serves) — and decrypts each aes128gcm payload (RFC 8291) with the private key
of the subscription the test made. The decryption is written here from the RFC, not taken from
the library the server encrypts with, so the two check each other.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.support.http_server import JsonHandler, serve


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class Subscriber:
    """What a browser keeps for one subscription: its ECDH key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        """As ``PushSubscription.toJSON()`` gives it."""
        keys = {"p256dh": b64(_point(self.key.public_key())), "auth": b64(self.auth)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 over RFC 8188's header: salt, record size, the sender's key id."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert len(ciphertext) <= record_size, "one record expected"
        secret = self.key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        )
        receiver = _point(self.key.public_key())
        ikm = _hkdf(self.auth, secret, b"WebPush: info\0" + receiver + sender, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\0", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\0", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\0")
        assert padded.endswith(b"\x02"), "the last record's delimiter"
        return padded[:-1]


@dataclass
class Push:
    path: str
    headers: dict[str, str]
    claims: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    problem: str | None = None  # what a real push service would have refused it for


@dataclass
class PushServiceStandIn:
    url: str = ""
    vapid_public_key: str | None = None  # the key the page serves; pushes must be signed by it
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    received: list[Push] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)  # statuses to answer next, then 201
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber(f"{self.url}/push/{b64(os.urandom(12))}")
        self.subscribers[urlsplit(subscriber.endpoint).path] = subscriber
        return subscriber

    def valid(self) -> list[Push]:
        """Pushes that passed every check (whatever status the test had it answer)."""
        with self.lock:
            return [p for p in self.received if p.message is not None]

    def check(self, path: str, headers: dict[str, str], body: bytes) -> Push:
        push = Push(path, headers)
        try:
            push.claims = self._vapid(headers.get("authorization", ""))
            assert headers.get("content-encoding") == "aes128gcm", "aes128gcm payload expected"
            assert int(headers.get("ttl", "-1")) >= 0, "a TTL header is required"
            subscriber = self.subscribers[path]
            push.message = json.loads(subscriber.decrypt(body))
        except (AssertionError, KeyError, ValueError, jwt.PyJWTError) as exc:
            push.problem = f"{type(exc).__name__}: {exc}"
        return push

    def _vapid(self, authorization: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        assert scheme.lower() == "vapid", f"a vapid Authorization expected: {authorization!r}"
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        key = values["k"]
        if self.vapid_public_key is not None:
            assert key == self.vapid_public_key, "signed by another key than the page serves"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
        claims: dict[str, Any] = jwt.decode(
            values["t"],
            public,
            algorithms=["ES256"],
            audience=self.url,  # the push service's origin (RFC 8292 §2)
            options={"require": ["aud", "exp", "sub"]},
        )
        assert claims["exp"] <= time.time() + 24 * 3600, "exp more than 24 hours ahead"
        assert claims["sub"].startswith(("mailto:", "https:")), f"bad sub {claims['sub']!r}"
        return claims

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[PushServiceStandIn]:
        stand_in = cls()

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                push = stand_in.check(self.path, headers, body)
                with stand_in.lock:
                    stand_in.received.append(push)
                    status = stand_in.responses.pop(0) if stand_in.responses else 201
                if push.problem:
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        with serve(Handler) as url:
            stand_in.url = url
            yield stand_in
