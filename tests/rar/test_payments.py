"""Payments end to end over a live server (RFC 9396 + dynamic linking): what the phone approves
is what the token allows, and an approval of other details is refused and denies the request."""

from __future__ import annotations

import json

import jwt
import pytest

from tests.support.ciba import CibaClient, Phone
from tests.support.payments import payment, shown_hash


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(admin, http, server.url, "carol")


@pytest.fixture
def client(admin, http):
    grants = ["urn:openid:params:grant-type:ciba", "refresh_token"]
    return CibaClient.register(admin, http, scope="openid offline_access", grant_types=grants)


def _details(*items):
    return json.dumps(list(items))


def _approve_shown(phone, **overrides):
    """The phone shows the request and signs the hash of the details it showed."""
    (shown,) = phone.pending()
    claims = {"authorization_details_hash": shown_hash(shown["authorization_details"])}
    claims.update(overrides)
    response = phone.device.decide(phone.http, shown["id"], "approve", **claims)
    return shown, response


def test_approved_payment_yields_tokens_carrying_exactly_the_details(client, phone, http, server):
    details = [payment()]
    auth_req_id = client.start(login_hint="carol", authorization_details=_details(*details))
    shown, response = _approve_shown(phone)
    assert response.status_code == 200, response.text
    assert shown["authorization_details"] == details
    assert shown["authorization_details_text"] == [
        "Pay 42.10 EUR to Corner Shop (DE02100100109307118603), ref 8841"
    ]

    body = client.poll(auth_req_id).json()
    assert body["authorization_details"] == details
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["authorization_details"] == details
    introspected = http.post("/introspect", data={"token": body["access_token"]}, auth=client.auth)
    assert introspected.json()["authorization_details"] == details
    # Kept as evidence: the signed decision names the hash of what was shown.
    stored = server.call(lambda s: s.requests.get(shown["id"]))
    signed = jwt.decode(stored.decision_jwt, options={"verify_signature": False})
    assert signed["authorization_details_hash"] == shown_hash(details)


def test_refresh_keeps_the_details_narrows_them_and_never_widens(client, phone, http):
    details = [payment(), payment("5.00", "Bakery", "77")]
    auth_req_id = client.start(
        login_hint="carol", scope="openid offline_access", authorization_details=_details(*details)
    )
    _approve_shown(phone)
    refresh_token = client.poll(auth_req_id).json()["refresh_token"]

    def refresh(**extra):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
        return http.post("/token", data=form, auth=client.auth)

    kept = refresh().json()
    assert kept["authorization_details"] == details
    refresh_token = kept["refresh_token"]
    narrowed = refresh(authorization_details=_details(details[1]))
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["authorization_details"] == [details[1]]
    refresh_token = narrowed.json()["refresh_token"]
    wider = refresh(authorization_details=_details(payment("4200.00")))
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_authorization_details"
    # The family still holds both payments: narrowing touched only that access token.
    assert refresh().json()["authorization_details"] == details


@pytest.mark.parametrize("stale", ["missing", "other amount"])
def test_an_approval_without_the_shown_hash_is_refused_and_denies(client, phone, server, stale):
    auth_req_id = client.start(login_hint="carol", authorization_details=_details(payment()))
    overrides = (
        {"authorization_details_hash": None}
        if stale == "missing"
        else {"authorization_details_hash": shown_hash([payment("4.10")])}
    )
    shown, response = _approve_shown(phone, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "authorization_details_hash" in response.json()["error_description"]
    polled = client.poll(auth_req_id)
    assert polled.json()["error"] == "access_denied"
    assert server.call(lambda s: s.requests.get(shown["id"])).status == "denied"


def test_a_changed_amount_cannot_reuse_an_approval(client, phone):
    first = client.start(login_hint="carol", authorization_details=_details(payment("42.10")))
    (old,) = phone.pending()
    approved_hash = shown_hash(old["authorization_details"])
    assert (
        phone.device.decide(
            phone.http, old["id"], "approve", authorization_details_hash=approved_hash
        ).status_code
        == 200
    )
    assert client.poll(first).status_code == 200
    # The same payee, a new amount: the earlier approval's hash opens nothing.
    second = client.start(login_hint="carol", authorization_details=_details(payment("420.10")))
    (new,) = phone.pending()
    refused = phone.device.decide(
        phone.http, new["id"], "approve", authorization_details_hash=approved_hash
    )
    assert refused.status_code == 400
    assert client.poll(second).json()["error"] == "access_denied"


def test_a_denial_needs_no_hash(client, phone):
    auth_req_id = client.start(login_hint="carol", authorization_details=_details(payment()))
    phone.answer("deny")
    assert client.poll(auth_req_id).json()["error"] == "access_denied"


@pytest.mark.parametrize(
    "value, words",
    [
        ("not json", "must be JSON"),
        ("{}", "non-empty JSON array"),
        ("[]", "non-empty JSON array"),
        (_details({"type": "account_information"}), "unknown authorization_details type"),
        (_details({"amount": 3}), "needs a string type"),
        (
            _details({**payment(), "instructedAmount": {"currency": "EUR", "amount": 42.1}}),
            "amount",
        ),
        (
            _details({**payment(), "instructedAmount": {"currency": "euro", "amount": "1"}}),
            "currency",
        ),
        (_details({**payment(), "creditorName": ""}), "creditorName"),
        (_details({**payment(), "surprise": 1}), "surprise"),
        (_details(*[payment()] * 11), "at most 10"),
        (_details({**payment(), "creditorName": "a\u0000b"}), "NUL"),
    ],
)
def test_invalid_details_are_refused_with_invalid_authorization_details(
    client, phone, value, words
):
    response = client.authorize(login_hint="carol", authorization_details=value)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_authorization_details"
    assert words in response.json()["error_description"]
    assert phone.pending() == []


def test_a_client_is_limited_to_its_registered_types(admin, http, phone):
    limited = CibaClient.register(admin, http, authorization_details_types=["payment_initiation"])
    assert (
        limited.authorize(login_hint="carol", authorization_details=_details(payment())).status_code
        == 200
    )
    unknown = admin.post(
        "/admin/clients",
        json={
            "grant_types": ["urn:openid:params:grant-type:ciba"],
            "backchannel_token_delivery_mode": "poll",
            "authorization_details_types": ["account_information"],
        },
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_client_metadata"


def test_a_request_without_details_shows_none_and_tokens_carry_none(client, phone):
    auth_req_id = client.start(login_hint="carol")
    shown = phone.answer("approve")
    assert shown["authorization_details"] is None
    assert shown["authorization_details_text"] is None
    body = client.poll(auth_req_id).json()
    assert "authorization_details" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert "authorization_details" not in claims


def test_discovery_advertises_the_types_and_dpop_algs(http):
    metadata = http.get("/.well-known/openid-configuration").json()
    assert metadata["authorization_details_types_supported"] == ["payment_initiation"]
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
