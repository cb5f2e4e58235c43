"""POST /bc-authorize over real HTTP: what a client may ask, and every refusal CIBA Core §13
names, each leaving nothing behind."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from tests.support.ciba import CibaClient, Phone
from tests.support.clients import JWT_BEARER, ClientKey
from tests.support.requests import ciba_client

ALLOWED_ERROR_MEMBERS = {"error", "error_description", "error_uri"}


@pytest.fixture
def phone(admin, http, server):
    return Phone.enroll(
        admin, http, server.url, "carol", email="carol@example.com", phone_number="+441632960001"
    )


@pytest.fixture
def client(admin, http):
    return CibaClient.register(admin, http, scope="openid profile offline_access")


def _count_requests(server) -> int:
    async def count(s):
        from sqlmodel import select

        from app.decoupled.models import AuthRequest

        async with s.db.session() as session:
            return len((await session.exec(select(AuthRequest))).all())

    return server.call(count)


def _rate_counts(server) -> dict[str, int]:
    rows = server.call(lambda s: s.db.sql.all("SELECT key, count FROM rate_counts"))
    return {row["key"]: row["count"] for row in rows}


def _refused(response, error: str, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert set(body) <= ALLOWED_ERROR_MEMBERS
    assert response.headers["cache-control"] == "no-store"
    return body


def test_a_poll_client_gets_an_unguessable_id_an_expiry_and_an_interval(client, phone, server):
    response = client.authorize(login_hint="carol", binding_message="Order 1234")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"auth_req_id", "expires_in", "interval"}
    # <the request's id>.<256-bit secret>, URL-safe (app/decoupled/handles.py)
    request_id, secret = body["auth_req_id"].split(".")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert body["expires_in"] == server.settings.ciba_default_expiry
    assert body["interval"] == server.settings.ciba_poll_interval
    assert response.headers["cache-control"] == "no-store"
    (shown,) = phone.pending()
    assert shown["binding_message"] == "Order 1234"
    assert shown["id"] == request_id
    assert shown["client_name"] == "Call centre"


@pytest.mark.parametrize(
    "hint", ["carol", "CAROL", "carol@example.com", "+441632960001", "+44 1632 960001"]
)
def test_a_login_hint_may_be_the_username_email_or_phone(client, phone, hint):
    assert client.authorize(login_hint=hint).status_code == 200
    assert len(phone.pending()) == 1


def test_requested_expiry_is_honoured_and_capped(client, phone, server):
    assert client.authorize(login_hint="carol", requested_expiry="60").json()["expires_in"] == 60
    capped = client.authorize(login_hint="carol", requested_expiry="999999")
    assert capped.json()["expires_in"] == server.settings.ciba_max_expiry


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", " 60", "٣"])
def test_requested_expiry_must_be_a_positive_integer(client, phone, value):
    _refused(client.authorize(login_hint="carol", requested_expiry=value), "invalid_request")


def test_ping_and_push_answers(admin, http, phone, server):
    for mode in ("ping", "push"):
        c = CibaClient.register(
            admin,
            http,
            backchannel_token_delivery_mode=mode,
            backchannel_client_notification_endpoint=server.url + "/nowhere",
        )
        body = c.authorize(login_hint="carol", client_notification_token="tok-" + mode).json()
        assert ("interval" in body) == (mode == "ping")  # push clients never poll


def test_client_authentication_is_required_and_checked(client, phone, http):
    body = _refused(
        http.post("/bc-authorize", data={"scope": "openid", "login_hint": "carol"}),
        "invalid_client",
        401,
    )
    assert "error_description" in body
    wrong = http.post(
        "/bc-authorize",
        data={"scope": "openid", "login_hint": "carol"},
        auth=(client.client_id, "wrong"),
    )
    _refused(wrong, "invalid_client", 401)
    assert wrong.headers["www-authenticate"].startswith("Basic")
    assert phone.pending() == []


@pytest.mark.parametrize("audience", ["issuer", "/token", "/bc-authorize"])
def test_private_key_jwt_may_name_the_issuer_token_or_this_endpoint(
    admin, http, server, phone, audience
):
    key = ClientKey("ES256")
    c = ciba_client(admin, token_endpoint_auth_method="private_key_jwt", jwks=key.jwks)
    aud = server.url if audience == "issuer" else server.url + audience
    response = http.post(
        "/bc-authorize",
        data={
            "scope": "openid",
            "login_hint": "carol",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": key.assertion(c["client_id"], aud),
        },
    )
    assert response.status_code == 200, response.text


def test_clients_without_the_ciba_grant_are_unauthorized(admin, http, phone):
    response = admin.post(
        "/admin/clients", json={"grant_types": ["client_credentials"], "client_name": "svc"}
    )
    other = response.json()
    refused = http.post(
        "/bc-authorize",
        data={"scope": "openid", "login_hint": "carol"},
        auth=(other["client_id"], other["client_secret"]),
    )
    _refused(refused, "unauthorized_client")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "invalid_request"),  # no hint
        ({"login_hint": "carol", "id_token_hint": "x.y.z"}, "invalid_request"),  # two hints
        ({"login_hint": "carol", "scope": "profile"}, "invalid_request"),  # no openid
        ({"login_hint": "carol", "scope": "openid admin"}, "invalid_scope"),
        ({"login_hint": "nobody"}, "unknown_user_id"),
        ({"login_hint": "carol", "binding_message": "x" * 101}, "invalid_binding_message"),
        ({"login_hint": "carol", "binding_message": "pay\nme"}, "invalid_binding_message"),
        ({"login_hint": "carol", "binding_message": "abc\u202edef"}, "invalid_binding_message"),
        ({"login_hint": "carol", "binding_message": "  "}, "invalid_binding_message"),
        ({"login_hint": "carol", "request_uri": "urn:x"}, "request_uri_not_supported"),
        ({"login_hint_token": "not-a-jwt"}, "invalid_request"),
        ({"id_token_hint": "not-a-jwt"}, "invalid_request"),
    ],
)
def test_bad_requests_get_the_ciba_error_and_tell_no_phone(client, phone, server, params, error):
    params.setdefault("scope", "openid")
    _refused(client.http.post("/bc-authorize", data=params, auth=client.auth), error)
    assert phone.pending() == []
    assert _count_requests(server) == 0


def test_a_binding_message_is_unicode_shown_as_is(client, phone):
    message = "Pay £20 to Café Ω 👩‍👩‍👧"
    assert client.authorize(login_hint="carol", binding_message=message).status_code == 200
    assert phone.pending()[0]["binding_message"] == message


def test_an_inactive_user_is_unknown(admin, client, phone):
    admin.patch(f"/admin/users/{phone.user['id']}", json={"active": False})
    _refused(client.authorize(login_hint="carol"), "unknown_user_id")


def test_a_user_without_an_authenticator_is_refused_at_once(admin, client, phone, server):
    """Nobody could approve: the client hears so now, not after five minutes of polling."""
    assert admin.post("/admin/users", json={"username": "dave"}).status_code == 201
    before = _count_requests(server)
    body = _refused(client.authorize(login_hint="dave"), "access_denied", 403)
    assert "no enrolled authenticator" in body["error_description"]
    assert _count_requests(server) == before  # no request was stored


def test_ping_and_push_clients_must_send_a_well_formed_notification_token(
    admin, http, phone, server
):
    c = CibaClient.register(
        admin,
        http,
        backchannel_token_delivery_mode="ping",
        backchannel_client_notification_endpoint=server.url + "/cb",
    )
    _refused(c.authorize(login_hint="carol"), "invalid_request")
    _refused(c.authorize(login_hint="carol", client_notification_token="a b"), "invalid_request")
    _refused(
        c.authorize(login_hint="carol", client_notification_token="a" * 1025), "invalid_request"
    )
    ok = c.authorize(login_hint="carol", client_notification_token="A-z0.9_~+/" + "a" * 1000 + "==")
    assert ok.status_code == 200, ok.text


class TestUserCode:
    @pytest.fixture
    def client(self, admin, http):
        return CibaClient.register(admin, http, backchannel_user_code_parameter=True)

    def test_missing_wrong_and_right_codes(self, admin, client, phone):
        admin.patch(f"/admin/users/{phone.user['id']}", json={"user_code": "7391"})
        _refused(client.authorize(login_hint="carol"), "missing_user_code")
        _refused(client.authorize(login_hint="carol", user_code="0000"), "invalid_user_code")
        assert phone.pending() == []
        assert client.authorize(login_hint="carol", user_code="7391").status_code == 200
        # Checked at the terminal, so the phone does not ask for it again.
        phone.answer("approve")

    def test_repeated_wrong_codes_lock_the_code(self, admin, client, phone):
        admin.patch(f"/admin/users/{phone.user['id']}", json={"user_code": "7391"})
        for _ in range(5):
            _refused(client.authorize(login_hint="carol", user_code="0000"), "invalid_user_code")
        # Locked: even the right code fails now, and no phone is bothered.
        _refused(client.authorize(login_hint="carol", user_code="7391"), "invalid_user_code")
        assert phone.pending() == []
        # The operator sets a new code: a fresh start.
        admin.patch(f"/admin/users/{phone.user['id']}", json={"user_code": "2468"})
        assert client.authorize(login_hint="carol", user_code="2468").status_code == 200

    def test_a_user_without_a_code_cannot_pass_one(self, client, phone):
        _refused(client.authorize(login_hint="carol", user_code="1234"), "invalid_user_code")


class TestLoginHintToken:
    @pytest.fixture
    def key(self):
        return ClientKey("ES256")

    @pytest.fixture
    def client(self, admin, http, key):
        return CibaClient.register(admin, http, jwks=key.jwks)

    def _token(self, key, sub_id, **claims):
        return key.sign({"sub_id": sub_id, "exp": int(time.time()) + 60, **claims})

    @pytest.mark.parametrize(
        "sub_id",
        [
            {"format": "email", "email": "carol@example.com"},
            {"format": "phone_number", "phone_number": "+441632960001"},
            {"format": "opaque", "id": "carol"},
        ],
    )
    def test_a_signed_hint_names_the_user(self, client, key, phone, server, sub_id):
        token = self._token(key, sub_id, aud=server.url)
        assert client.authorize(login_hint_token=token).status_code == 200
        assert len(phone.pending()) == 1

    def test_an_expired_hint_is_refused_with_its_own_code(self, client, key, phone):
        token = self._token(key, {"format": "opaque", "id": "carol"}, exp=int(time.time()) - 120)
        _refused(client.authorize(login_hint_token=token), "expired_login_hint_token")

    def test_a_hint_signed_by_another_key_or_for_another_audience_is_refused(self, client, phone):
        stranger = ClientKey("ES256", kid="other")
        token = self._token(stranger, {"format": "opaque", "id": "carol"})
        _refused(client.authorize(login_hint_token=token), "invalid_request")

    @pytest.mark.parametrize("exp", ["soon", [1], None, 1e400])
    def test_an_exp_that_is_not_a_number_is_invalid(self, client, key, phone, exp):
        token = key.sign({"sub_id": {"format": "opaque", "id": "carol"}, "exp": exp})
        _refused(client.authorize(login_hint_token=token), "invalid_request")

    def test_nul_inside_the_hint_is_invalid_not_an_error(self, client, key, phone):
        token = self._token(key, {"format": "opaque", "id": "car\x00ol"})
        _refused(client.authorize(login_hint_token=token), "invalid_request")

    def test_audience_must_be_us_and_format_known(self, client, key, phone):
        sub_id = {"format": "opaque", "id": "carol"}
        token = self._token(key, sub_id, aud="https://elsewhere.example")
        _refused(client.authorize(login_hint_token=token), "invalid_request")
        odd = self._token(key, {"format": "did", "url": "did:x"})
        _refused(client.authorize(login_hint_token=odd), "invalid_request")
        nobody = self._token(key, {"format": "opaque", "id": "nobody"})
        _refused(client.authorize(login_hint_token=nobody), "unknown_user_id")


class TestIdTokenHint:
    def _id_token(self, client, phone) -> str:
        auth_req_id = client.start(login_hint="carol")
        phone.answer("approve")
        response = client.poll(auth_req_id)
        assert response.status_code == 200, response.text
        return str(response.json()["id_token"])

    @pytest.mark.parametrize("subject_type", ["public", "pairwise"])
    def test_an_id_token_we_issued_names_its_user_again(
        self, admin, http, phone, server, subject_type
    ):
        extra = {"sector_identifier_uri": "https://shop.example/s.json"}
        metadata = extra if subject_type == "pairwise" else {}
        client = CibaClient.register(admin, http, subject_type=subject_type, **metadata)
        id_token = self._id_token(client, phone)
        sub = jwt.decode(id_token, options={"verify_signature": False})["sub"]
        assert (sub == phone.user["id"]) == (subject_type == "public")
        assert client.authorize(id_token_hint=id_token).status_code == 200
        assert len(phone.pending()) == 1

    def test_a_hint_with_odd_header_or_subject_is_refused_cleanly(self, admin, http, phone):
        client = CibaClient.register(admin, http)
        id_token = self._id_token(client, phone)
        claims = jwt.decode(id_token, options={"verify_signature": False})
        for kid in ("a\x00b", "x" * 500):
            forged = ClientKey("EdDSA").sign(claims, {"kid": kid})
            _refused(client.authorize(id_token_hint=forged), "invalid_request")

    def test_an_id_token_for_another_client_or_forged_is_refused(self, admin, http, phone, server):
        mine = CibaClient.register(admin, http)
        other = CibaClient.register(admin, http)
        id_token = self._id_token(mine, phone)
        _refused(other.authorize(id_token_hint=id_token), "invalid_request")
        forged = ClientKey("EdDSA").sign(jwt.decode(id_token, options={"verify_signature": False}))
        _refused(mine.authorize(id_token_hint=forged), "invalid_request")


class TestRateLimits:
    def test_one_user_cannot_be_push_bombed(self, client, phone, server):
        limit = server.settings.rate_limit_per_user
        for _ in range(limit):
            assert client.authorize(login_hint="carol").status_code == 200
        response = client.authorize(login_hint="carol")
        _refused(response, "temporarily_unavailable", 429)
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= server.settings.rate_limit_window_seconds
        assert len(phone.pending()) == limit  # the phone was not told of the refused one
        assert _count_requests(server) == limit

    def test_concurrent_starts_are_counted_exactly_and_refusals_leave_nothing(
        self, client, phone, server
    ):
        limit = server.settings.rate_limit_per_user
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: client.authorize(login_hint="carol"), range(16)))
        assert sorted(a.status_code for a in answers) == [200] * limit + [429] * (16 - limit)
        assert _count_requests(server) == limit
        # Every counter holds the starts that were stored, none of the refused ones.
        counts = _rate_counts(server)
        assert counts[f"client:{client.client_id}"] == limit
        assert counts[f"user:{phone.user['id']}"] == limit

    def test_the_limit_is_per_user(self, admin, http, client, phone, server):
        Phone.enroll(admin, http, server.url, "dave")
        for _ in range(server.settings.rate_limit_per_user):
            client.start(login_hint="carol")
        assert client.authorize(login_hint="dave").status_code == 200


def test_no_input_gives_a_server_error(client, phone):
    for params in (
        {"login_hint": "carol", "requested_expiry": "9" * 5000},
        {"login_hint": "\x7f" * 10},
        {"login_hint": "é" * 5000},
        {"login_hint": "carol", "acr_values": "a" * 600},
    ):
        response = client.authorize(**params)
        assert 400 <= response.status_code < 500, response.text
