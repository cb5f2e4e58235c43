"""A client's public keys: inline ``jwks`` or fetched from its ``jwks_uri`` (cached).

Used to verify ``private_key_jwt`` assertions and signed requests. A key id we do not know
triggers one refetch, so a client that rotates its keys is picked up at once.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from jwt import PyJWK, PyJWTError

from app.clients.models import Client
from app.errors import InvalidClient
from app.outbound import pinned_request
from app.settings import Settings

CACHE_SECONDS = 300
REFETCH_AFTER_SECONDS = 10  # at most one forced refetch per jwks_uri this often
MAX_JWKS_BYTES = 64 * 1024


class ClientKeys:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def key_for(self, client: Client, kid: str | None, alg: str) -> Any:
        """The public key to verify a JWT from ``client`` with header ``kid`` and ``alg``."""
        meta = client.meta
        if meta.jwks is not None:
            found = _select(meta.jwks.get("keys", []), kid, alg)
        elif meta.jwks_uri is not None:
            found = _select(await self._fetch(meta.jwks_uri), kid, alg)
            if not found and self._may_refetch(meta.jwks_uri):
                found = _select(await self._fetch(meta.jwks_uri, force=True), kid, alg)
        else:
            raise InvalidClient("the client has no registered keys")
        if not found:
            raise InvalidClient("no registered client key matches the JWT's kid and alg")
        if len(found) > 1:
            raise InvalidClient("several client keys fit; the JWT header must name a kid")
        return found[0].key

    def _may_refetch(self, uri: str) -> bool:
        cached = self._cache.get(uri)
        return cached is None or time.monotonic() - cached[0] > REFETCH_AFTER_SECONDS

    async def _fetch(self, uri: str, force: bool = False) -> list[dict[str, Any]]:
        cached = self._cache.get(uri)
        if cached and not force and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            response = await pinned_request(
                self.http, "GET", uri, self.settings, deadline=5.0, max_bytes=MAX_JWKS_BYTES
            )
            if response.status_code != 200:
                raise ValueError(f"jwks_uri answered {response.status_code}")
            keys = response.json().get("keys")
            if not isinstance(keys, list):
                raise ValueError("jwks_uri did not return a JWK Set")
        except (httpx.HTTPError, OSError, TimeoutError, ValueError, AttributeError) as exc:
            raise InvalidClient(
                "the client's jwks_uri could not be read", detail=str(exc)
            ) from None
        self._cache[uri] = (time.monotonic(), keys)
        return keys


def _select(keys: list[Any], kid: str | None, alg: str) -> list[PyJWK]:
    found = []
    for data in keys:
        if not isinstance(data, dict) or (kid is not None and data.get("kid") != kid):
            continue
        if data.get("use", "sig") != "sig" or data.get("alg", alg) != alg:
            continue
        try:
            found.append(PyJWK(data, algorithm=alg))
        except (PyJWTError, ValueError, TypeError, KeyError):
            continue
    return found
