"""Signing keys: every algorithm verifies against /jwks, rotation keeps old tokens verifiable
through the overlap, first start creates keys once, and private keys can be sealed at rest."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from datetime import timedelta

import httpx
import jwt
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.keys.encryption import KeyEncryptionError, SecretBox
from app.keys.models import KeyStatus
from app.keys.service import KeyStore
from app.settings import SIGNING_ALGS, get_settings
from app.storage.db import Database
from app.storage.migrations import upgrade
from app.storage.types import utcnow
from app.tokens.mint import Authentication, TokenMinter
from tests.conftest import make_settings
from tests.support.clients import register


def _verify(token: str, jwks_url: str, alg: str, **kwargs):
    key = jwt.PyJWKClient(jwks_url, cache_jwk_set=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=[alg], **kwargs)


def _jwks(server) -> dict:
    return httpx.get(server.url + "/jwks").json()


def test_jwks_publishes_current_and_next_key_per_algorithm(server):
    response = httpx.get(server.url + "/jwks")
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    keys = response.json()["keys"]
    for alg in SIGNING_ALGS:
        assert len([k for k in keys if k["alg"] == alg]) >= 2
    okp = [k for k in keys if k["kty"] == "OKP"]
    assert okp and all(k["crv"] == "Ed25519" for k in okp)
    assert all("d" not in k and "p" not in k for k in keys)
    assert all(k["use"] == "sig" and k["kid"] for k in keys)


@pytest.mark.parametrize("alg", SIGNING_ALGS)
async def test_id_token_signed_with_each_algorithm_verifies_against_jwks(
    admin, server, database_url, alg
):
    client_info = register(
        admin, redirect_uris=["https://app.example.com/cb"], id_token_signed_response_alg=alg
    )
    db = Database(database_url)
    try:
        from app.clients.service import ClientService

        client = await ClientService(db, server.settings).require(client_info["client_id"])
        minter = TokenMinter(server.settings, KeyStore(db, server.settings, SecretBox(None)))
        auth = Authentication(
            subject="user-1", auth_time=int(time.time()), acr="phone", amr=("hwk", "user")
        )
        id_token = await minter.id_token(
            client, auth, nonce="n-1", access_token="at-value", refresh_token="rt"
        )
    finally:
        await db.dispose()

    assert jwt.get_unverified_header(id_token)["alg"] == alg
    claims = _verify(
        id_token, server.url + "/jwks", alg, audience=client_info["client_id"], issuer=server.url
    )
    assert (
        claims["sub"] == "user-1" and claims["nonce"] == "n-1" and claims["amr"] == ["hwk", "user"]
    )
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(b"at-value").digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    assert claims["at_hash"] == expected
    assert "urn:openid:params:jwt:claim:rt_hash" in claims


async def test_rotation_keeps_old_tokens_verifiable_through_the_overlap(
    admin, http, server, database_url, monkeypatch
):
    client = register(admin, grant_types=["client_credentials"], scope="payments")
    auth = (client["client_id"], client["client_secret"])
    before = http.post("/token", data={"grant_type": "client_credentials"}, auth=auth).json()[
        "access_token"
    ]
    old_kid = jwt.get_unverified_header(before)["kid"]
    announced_next = {k["kid"] for k in _jwks(server)["keys"] if k["alg"] == "EdDSA"} - {old_kid}

    monkeypatch.setenv("BACKCHANNEL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["keys", "rotate", "--alg", "EdDSA"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output

    after = http.post("/token", data={"grant_type": "client_credentials"}, auth=auth).json()[
        "access_token"
    ]
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert new_kid != old_kid
    assert new_kid in announced_next  # the key that signs now was published before it signed
    # The old token still verifies: its key is published as retiring.
    assert (
        _verify(before, server.url + "/jwks", "EdDSA", audience=server.url)["client_id"]
        == client["client_id"]
    )
    assert _verify(after, server.url + "/jwks", "EdDSA", audience=server.url)

    db = Database(database_url)
    store = KeyStore(db, server.settings, SecretBox(None))
    try:
        [retiring] = [k for k in await store.all() if k.kid == old_kid]
        assert retiring.status == KeyStatus.RETIRING
        # The overlap outlives every token the key signed.
        lifetime = timedelta(seconds=server.settings.access_token_lifetime)
        assert retiring.retire_after - utcnow() > lifetime
        # Within the overlap nothing is purged; after it, the old key leaves the JWKS.
        assert await store.purge(retiring.retire_after - timedelta(seconds=5)) == 0
        assert await store.purge(retiring.retire_after + timedelta(seconds=5)) >= 1
    finally:
        await db.dispose()
    assert old_kid not in {k["kid"] for k in _jwks(server)["keys"]}
    with pytest.raises(jwt.PyJWKClientError):
        _verify(before, server.url + "/jwks", "EdDSA", audience=server.url)


async def test_scheduled_rotation_rotates_only_keys_past_their_age(fresh_database_url):
    settings = make_settings(fresh_database_url, key_rotation_days=30)
    await asyncio.to_thread(upgrade, fresh_database_url)
    db = Database(fresh_database_url)
    store = KeyStore(db, settings, SecretBox(None))
    try:
        await store.ensure()
        assert await store.rotate_due() == []
        promoted = await store.rotate_due(utcnow() + timedelta(days=31))
        assert len(promoted) == len(SIGNING_ALGS)
        current = {k.kid for k in await store.all() if k.status == KeyStatus.CURRENT}
        assert current == set(promoted)
    finally:
        await db.dispose()


async def test_first_start_creates_one_current_and_one_next_key_per_algorithm_even_when_racing(
    fresh_database_url,
):
    settings = make_settings(fresh_database_url)
    await asyncio.to_thread(upgrade, fresh_database_url)
    dbs = [Database(fresh_database_url) for _ in range(2)]
    try:
        stores = [KeyStore(db, settings, SecretBox(None)) for db in dbs]
        await asyncio.gather(*(s.ensure() for s in stores))
        await stores[0].ensure()  # a restart adds nothing
        keys = await stores[0].all()
    finally:
        for db in dbs:
            await db.dispose()
    for alg in SIGNING_ALGS:
        statuses = sorted(k.status for k in keys if k.alg == alg)
        assert statuses == [KeyStatus.CURRENT, KeyStatus.NEXT]


async def test_private_keys_sealed_at_rest_and_unreadable_without_the_key(fresh_database_url):
    settings = make_settings(fresh_database_url)
    await asyncio.to_thread(upgrade, fresh_database_url)
    db = Database(fresh_database_url)
    try:
        plain = KeyStore(db, settings, SecretBox(None))
        await plain.ensure()
        assert all(k.private_key.startswith("plain:") for k in await plain.all())

        first = SecretBox.new_key()
        sealed = KeyStore(db, settings, SecretBox(first))
        await sealed.ensure()  # existing plaintext keys are sealed on start
        stored = await sealed.all()
        assert all(
            k.private_key.startswith("fernet:") and "PRIVATE KEY" not in k.private_key
            for k in stored
        )
        assert (await sealed.signer("EdDSA")).sign({"a": 1})

        with pytest.raises(KeyEncryptionError):
            await KeyStore(db, settings, SecretBox(None)).signer("EdDSA")
        with pytest.raises(KeyEncryptionError):
            await KeyStore(db, settings, SecretBox(SecretBox.new_key())).signer("EdDSA")

        # Rotating the encryption key: the new key goes first, the old one still decrypts.
        second = SecretBox.new_key()
        rotated = KeyStore(db, settings, SecretBox(f"{second},{first}"))
        await rotated.ensure()
        assert (await KeyStore(db, settings, SecretBox(second)).signer("ES256")).kid
    finally:
        await db.dispose()


def test_a_malformed_encryption_key_is_a_clear_error():
    with pytest.raises(KeyEncryptionError, match="Fernet"):
        SecretBox("not-a-fernet-key")
