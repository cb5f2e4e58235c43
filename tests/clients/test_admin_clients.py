"""The admin API for clients: RFC 7591 metadata, validation, secrets shown once, stored hashed."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app.storage.db import sync_url
from tests.support.clients import ClientKey, private_jwk, register, register_key_client

CIBA = "urn:openid:params:grant-type:ciba"


def _count_clients(database_url: str) -> int:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM clients")).scalar_one()
    engine.dispose()
    return int(count)


def test_create_returns_the_secret_once_and_stores_only_its_hash(admin, database_url):
    created = register(admin, client_name="Till 4", grant_types=["client_credentials"])
    secret = created["client_secret"]
    assert len(secret) >= 43  # 256 bits, base64url
    assert created["client_secret_expires_at"] == 0
    assert created["token_endpoint_auth_method"] == "client_secret_basic"

    shown = admin.get(f"/admin/clients/{created['client_id']}").json()
    assert "client_secret" not in shown
    assert shown["client_name"] == "Till 4"

    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT client_secret_hash, registration FROM clients WHERE client_id = :id"),
            {"id": created["client_id"]},
        ).one()
    engine.dispose()
    assert stored[0].startswith("sha256:")
    assert secret not in stored[0] and secret not in str(stored[1])


def test_chosen_client_id_is_kept_and_a_duplicate_conflicts(admin):
    register(admin, client_id="pos-terminal-1", grant_types=["client_credentials"])
    again = admin.post(
        "/admin/clients",
        json={"client_id": "pos-terminal-1", "grant_types": ["client_credentials"]},
    )
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"


def test_private_key_jwt_client_gets_no_secret(admin):
    created = register_key_client(admin, jwks=ClientKey("ES256").jwks)
    assert "client_secret" not in created


def test_list_patch_and_delete(admin):
    created = register(admin, grant_types=["client_credentials"], scope="payments")
    cid = created["client_id"]
    assert [c["client_id"] for c in admin.get("/admin/clients").json()] == [cid]

    patched = admin.patch(f"/admin/clients/{cid}", json={"scope": "payments refunds"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["scope"] == "payments refunds"
    assert "client_secret" not in patched.json()

    rotated = admin.patch(f"/admin/clients/{cid}", json={"rotate_secret": True}).json()
    assert rotated["client_secret"] != created["client_secret"]

    assert admin.delete(f"/admin/clients/{cid}").status_code == 204
    assert admin.get(f"/admin/clients/{cid}").status_code == 404
    assert admin.delete(f"/admin/clients/{cid}").status_code == 404


def test_switching_to_private_key_jwt_drops_the_secret_and_back_issues_a_new_one(admin):
    created = register(admin, grant_types=["client_credentials"])
    cid = created["client_id"]
    to_jwt = admin.patch(
        f"/admin/clients/{cid}",
        json={"token_endpoint_auth_method": "private_key_jwt", "jwks": ClientKey().jwks},
    )
    assert to_jwt.status_code == 200 and "client_secret" not in to_jwt.json()
    back = admin.patch(
        f"/admin/clients/{cid}",
        json={"token_endpoint_auth_method": "client_secret_post", "jwks": None},
    )
    assert back.status_code == 200, back.text
    assert len(back.json()["client_secret"]) >= 43


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"grant_types": []}, "invalid_client_metadata"),
        ({"grant_types": ["authorization_code"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["/relative"]}, "invalid_redirect_uri"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata"),
        (
            {
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "client_id": "has space"},
            "invalid_client_metadata",
        ),
        ({"grant_types": ["client_credentials"], "scope": 'bad"scope'}, "invalid_client_metadata"),
        (
            {"grant_types": ["client_credentials"], "subject_type": "random"},
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "subject_type": "pairwise"},
            "invalid_client_metadata",
        ),
        ({"grant_types": [CIBA]}, "invalid_client_metadata"),
        (
            {"grant_types": [CIBA], "backchannel_token_delivery_mode": "ping"},
            "invalid_client_metadata",
        ),
        (
            {
                "grant_types": [CIBA],
                "backchannel_token_delivery_mode": "ping",
                "backchannel_client_notification_endpoint": "http://notify.example.com/cb",
            },
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "backchannel_token_delivery_mode": "poll"},
            "invalid_client_metadata",
        ),
        (
            {
                "grant_types": ["client_credentials"],
                "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
            },
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "jwks": {"keys": "nope"}},
            "invalid_client_metadata",
        ),
        (
            {"grant_types": ["client_credentials"], "id_token_signed_response_alg": "HS256"},
            "invalid_client_metadata",
        ),
    ],
)
def test_bad_metadata_is_refused_and_nothing_is_stored(admin, database_url, metadata, error):
    response = admin.post("/admin/clients", json=metadata)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert _count_clients(database_url) == 0


def test_a_jwks_with_a_private_key_is_refused(admin, database_url):
    jwks = {"keys": [private_jwk(ClientKey("ES256"))]}
    response = admin.post(
        "/admin/clients", json={"grant_types": ["client_credentials"], "jwks": jwks}
    )
    assert response.status_code == 400
    assert "public keys only" in response.json()["error_description"]
    assert _count_clients(database_url) == 0


def test_bad_patch_changes_nothing(admin):
    created = register(admin, grant_types=["client_credentials"], scope="payments")
    cid = created["client_id"]
    response = admin.patch(f"/admin/clients/{cid}", json={"grant_types": ["password"]})
    assert response.status_code == 400
    assert admin.get(f"/admin/clients/{cid}").json()["grant_types"] == ["client_credentials"]
    renamed = admin.patch(f"/admin/clients/{cid}", json={"client_id": "other"})
    assert renamed.status_code == 400


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"a=b", "text/plain")],
)
def test_malformed_bodies_get_400(admin, database_url, body, content_type):
    response = admin.post("/admin/clients", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_client_metadata")
    assert _count_clients(database_url) == 0


def test_loopback_http_is_allowed_for_redirects_and_for_notifications_with_a_loopback_issuer(admin):
    created = register(
        admin,
        redirect_uris=["http://127.0.0.1:9000/cb", "com.example.app:/oauth"],
        grant_types=["authorization_code", CIBA],
        backchannel_token_delivery_mode="ping",
        backchannel_client_notification_endpoint="http://127.0.0.1:9000/notify",
    )
    assert created["backchannel_token_delivery_mode"] == "ping"


def test_pairwise_client_records_its_sector(admin):
    created = register(
        admin,
        redirect_uris=["https://shop.example.com/cb", "https://shop.example.com/other"],
        grant_types=["authorization_code"],
        subject_type="pairwise",
    )
    assert created["sector_identifier"] == "shop.example.com"
    two_hosts = admin.post(
        "/admin/clients",
        json={
            "redirect_uris": ["https://a.example.com/cb", "https://b.example.com/cb"],
            "subject_type": "pairwise",
        },
    )
    assert two_hosts.status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer"},
    ],
)
def test_admin_api_needs_the_admin_token(http, headers):
    response = http.get("/admin/clients", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")
