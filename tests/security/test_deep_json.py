"""JSON nested past any message of ours is a clear ``invalid_request`` wherever strangers send
JSON — request bodies and WebSocket frames — never a 500 or a dropped socket (issue 16,
finding 6)."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

DEEP = "[" * 100_000


def _ws_url(server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


@pytest.mark.parametrize("body", [DEEP, "{" * 50_000, '{"a":' * 40 + "1" + "}" * 40])
def test_deep_json_to_the_unauthenticated_enrollment_is_invalid_request(http, body):
    response = http.post("/devices", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_deep_json_to_the_admin_api_is_invalid_request(admin):
    response = admin.post(
        "/admin/users", content=DEEP, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "nests deeper" in response.json()["error_description"]


def test_brackets_inside_strings_do_not_count(admin):
    name = "[{" * 90
    response = admin.post("/admin/users", json={"username": "deep", "name": name})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


def test_a_deep_first_frame_on_the_device_stream_gets_an_error_and_a_clean_close(server):
    with connect(_ws_url(server, "/devices/me/stream")) as stream:
        stream.send("[" * 4000)
        frame = json.loads(stream.recv(timeout=5))
        assert frame["type"] == "error" and frame["error"] == "invalid_token"
        assert "nests deeper" in frame["error_description"]
        with pytest.raises(ConnectionClosed):
            stream.recv(timeout=5)
        assert stream.close_code == 1008
