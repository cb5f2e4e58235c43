"""A DPoP proof is single-use across replicas (RFC 9449 §11.1): two servers behind one address,
over one PostgreSQL, share the table that remembers used ``jti``s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL, _new_database, api_clients, make_settings
from tests.support.live import LiveServer
from tests.support.payments import DpopKey

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="replicas share PostgreSQL; on SQLite one process serves"
)

ADDRESS = "http://127.0.0.1:9"  # the load balancer's (never dialled), in every htu


@pytest.fixture
def replicas(tmp_path) -> Iterator[tuple[LiveServer, LiveServer]]:
    url, drop = _new_database(tmp_path)
    with (
        LiveServer.start(lambda _: make_settings(url, issuer=ADDRESS)) as a,
        LiveServer.start(lambda _: make_settings(url, issuer=ADDRESS)) as b,
    ):
        yield a, b
    drop()


def test_a_proof_used_at_one_replica_is_refused_at_the_other(replicas):
    a, b = replicas
    with api_clients(a.url) as (admin, http_a), api_clients(b.url) as (_, http_b):
        registered = admin.post(
            "/admin/clients", json={"grant_types": ["client_credentials"], "scope": "openid"}
        ).json()
        auth = (registered["client_id"], registered["client_secret"])
        form = {"grant_type": "client_credentials"}
        proof = DpopKey().proof("POST", ADDRESS + "/token")
        first = http_a.post("/token", data=form, auth=auth, headers={"DPoP": proof})
        assert first.status_code == 200, first.text
        assert first.json()["token_type"] == "DPoP"
        replayed = http_b.post("/token", data=form, auth=auth, headers={"DPoP": proof})
        assert replayed.status_code == 400, replayed.text
        assert replayed.json()["error"] == "invalid_dpop_proof"
        fresh = DpopKey().proof("POST", ADDRESS + "/token")  # B itself takes a new proof
        assert (
            http_b.post("/token", data=form, auth=auth, headers={"DPoP": fresh}).status_code == 200
        )
