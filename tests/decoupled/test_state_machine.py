"""The state machine under races: every move is one conditional write with exactly one winner."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from app.decoupled.service import RequestService
from app.decoupled.states import TRANSITIONS, Status, sources
from app.events import InProcessBus
from app.outbox.service import Outbox
from app.storage.db import Database
from tests.support.device import enroll_new_device
from tests.support.requests import ciba_client, request_status, start_request


def test_transitions_are_the_documented_ones():
    assert sources(Status.APPROVED) == (Status.PENDING,)
    assert set(sources(Status.DENIED)) == {Status.PENDING, Status.APPROVED}
    assert set(sources(Status.EXPIRED)) == {Status.PENDING, Status.APPROVED}
    assert sources(Status.CONSUMED) == (Status.APPROVED,)
    assert Status.DENIED not in TRANSITIONS  # final


def test_two_devices_deciding_at_once_have_one_winner(admin, server):
    user = admin.post("/admin/users", json={"username": "race"}).json()
    client = ciba_client(admin)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        devices = [enroll_new_device(admin, http, server.url, user["id"]) for _ in range(2)]
    for _ in range(5):
        request, _ = start_request(server, client["client_id"], user["id"])
        bodies = [
            (d, {"decision_jwt": d.decision_jwt(request.id, verdict)}, d.auth())
            for d, verdict in zip(devices, ("approve", "deny"), strict=True)
        ]
        barrier = threading.Barrier(2)
        results: list[int] = []

        path = f"/devices/me/requests/{request.id}/decision"

        def answer(body, headers, path=path, barrier=barrier, results=results):
            with httpx.Client(base_url=server.url, timeout=10) as http:
                barrier.wait()
                results.append(http.post(path, json=body, headers=headers).status_code)

        threads = [threading.Thread(target=answer, args=(b, h)) for _, b, h in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 409]
        assert request_status(server, request.id) in ("approved", "denied")


async def test_many_concurrent_transitions_on_separate_connections_have_one_winner(
    admin, server, database_url
):
    user = admin.post("/admin/users", json={"username": "race2"}).json()
    client = ciba_client(admin)
    request, _ = start_request(server, client["client_id"], user["id"])
    dbs = [Database(database_url) for _ in range(8)]
    try:
        for db in dbs:
            services = [RequestService(db, InProcessBus(), Outbox(db)) for db in dbs]
        targets = [Status.APPROVED, Status.DENIED, Status.CANCELLED, Status.APPROVED] * 2
        results = await asyncio.gather(
            *(
                s.transition(request.id, t, {"device_id": f"d{i}"}, from_=Status.PENDING)
                for i, (s, t) in enumerate(zip(services, targets, strict=True))
            )
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        # Consuming is one write too: of several racing redemptions one wins, if it was approved.
        if winners[0].status == Status.APPROVED:
            consumed = await asyncio.gather(
                *(s.transition(request.id, Status.CONSUMED) for s in services)
            )
            assert len([c for c in consumed if c is not None]) == 1
    finally:
        for db in dbs:
            await db.dispose()


def test_overdue_requests_expire_once(admin, server):
    user = admin.post("/admin/users", json={"username": "late"}).json()
    client = ciba_client(admin)
    request, _ = start_request(server, client["client_id"], user["id"], expires_in=1)
    time.sleep(1.1)

    async def expire_twice(s):
        return await asyncio.gather(s.requests.expire_overdue(), s.requests.expire_overdue())

    counts = server.call(expire_twice)
    assert request_status(server, request.id) == "expired"
    assert sum(counts) <= 1  # the scheduler may have got there first; never twice


@pytest.mark.parametrize("period_offset", [0, -1])
def test_scanning_a_fresh_qr_claims_an_open_request_once(admin, http, server, period_offset):
    user = admin.post("/admin/users", json={"username": "scanner"}).json()
    other = admin.post("/admin/users", json={"username": "other"}).json()
    client = ciba_client(admin)
    device = enroll_new_device(admin, http, server.url, user["id"])
    late = enroll_new_device(admin, http, server.url, other["id"])
    request, _ = start_request(server, client["client_id"], None)
    qr = server.services.qr
    uri = qr.uri(request, time.time() + period_offset * qr.period)
    claimed = http.post("/devices/me/scan", json={"qr_uri": uri}, headers=device.auth())
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["id"] == request.id
    second = http.post("/devices/me/scan", json={"qr_uri": qr.uri(request)}, headers=late.auth())
    assert second.status_code == 400
    assert server.call(lambda s: s.requests.get(request.id)).user_id == user["id"]
    assert device.decide(http, request.id).status_code == 200


def test_a_stale_or_forged_qr_is_refused(admin, http, server):
    user = admin.post("/admin/users", json={"username": "photo"}).json()
    client = ciba_client(admin)
    device = enroll_new_device(admin, http, server.url, user["id"])
    request, _ = start_request(server, client["client_id"], None)
    qr = server.services.qr
    stale = qr.uri(request, time.time() - 3 * qr.period)
    response = http.post("/devices/me/scan", json={"qr_uri": stale}, headers=device.auth())
    assert response.status_code == 400 and "stale" in response.json()["error_description"]
    fresh = qr.uri(request)
    forged = fresh[:-4] + ("AAAA" if not fresh.endswith("AAAA") else "BBBB")
    assert (
        http.post("/devices/me/scan", json={"qr_uri": forged}, headers=device.auth()).status_code
        == 400
    )
    assert (
        http.post(
            "/devices/me/scan", json={"qr_uri": "https://x/qr/nope"}, headers=device.auth()
        ).status_code
        == 404
    )
    assert server.call(lambda s: s.requests.get(request.id)).user_id is None
