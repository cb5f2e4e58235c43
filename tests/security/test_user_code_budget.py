"""Wrong user codes are counted per (client, user) under a cap across clients, so one client
cannot lock a user's code for everyone; the user's phone hears when a budget runs out
(issue 16, finding 9)."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from app.users.user_code import MAX_FAILURES_PER_CLIENT, MAX_FAILURES_PER_USER
from tests.support.ciba import CibaClient, Phone

RIGHT, WRONG = "7391", "0000"


@pytest.fixture
def carol(admin, http, server):
    phone = Phone.enroll(admin, http, server.url, "carol")
    admin.patch(f"/admin/users/{phone.user['id']}", json={"user_code": RIGHT})
    return phone


def _client(admin, http, name: str) -> CibaClient:
    return CibaClient.register(admin, http, client_name=name, backchannel_user_code_parameter=True)


def _guess(client: CibaClient, code: str) -> int:
    return client.authorize(login_hint="carol", user_code=code).status_code


def test_one_clients_wrong_codes_do_not_lock_the_user_out_of_another(admin, http, carol):
    prankster, bank = _client(admin, http, "Prankster"), _client(admin, http, "Bank")
    assert [_guess(prankster, WRONG) for _ in range(MAX_FAILURES_PER_CLIENT)] == [400] * 5
    assert _guess(prankster, RIGHT) == 400  # locked for that client, even the right code
    assert _guess(bank, RIGHT) == 200  # but not for the user's bank


def test_many_clients_together_hit_the_cap_across_clients(admin, http, carol):
    guesses = 0
    while guesses < MAX_FAILURES_PER_USER:
        client = _client(admin, http, f"Guesser {guesses}")
        for _ in range(MAX_FAILURES_PER_CLIENT):
            assert _guess(client, WRONG) == 400
            guesses += 1
    assert _guess(_client(admin, http, "Bank"), RIGHT) == 400
    # A new code from the operator is a fresh start.
    admin.patch(f"/admin/users/{carol.user['id']}", json={"user_code": "2468"})
    assert _guess(_client(admin, http, "Bank"), "2468") == 200


def test_the_phone_is_told_when_a_client_used_up_its_guesses(admin, http, server, carol):
    prankster = _client(admin, http, "Prankster")
    url = server.url.replace("http://", "ws://") + "/devices/me/stream"
    with connect(f"{url}?assertion={carol.device.assertion()}") as stream:
        assert json.loads(stream.recv(timeout=5))["type"] == "requests"
        for _ in range(MAX_FAILURES_PER_CLIENT):
            _guess(prankster, WRONG)
        notice = json.loads(stream.recv(timeout=5))
    assert notice == {"type": "notice", "notice": "user_code_locked", "client_name": "Prankster"}
