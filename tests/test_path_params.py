"""Path parameters are text: a percent-encoded byte sequence that is not UTF-8 is a clean 400
``invalid_request`` on every route that takes one, never a 500."""

from __future__ import annotations

import pytest

from tests.support.device import enroll_new_device

# Every route with a path parameter, as (method, path with {} where the parameter goes).
ROUTES = [
    ("POST", "/devices/me/requests/{}/decision"),
    ("GET", "/admin/clients/{}"),
    ("PATCH", "/admin/clients/{}"),
    ("DELETE", "/admin/clients/{}"),
    ("GET", "/admin/users/{}"),
    ("PATCH", "/admin/users/{}"),
    ("DELETE", "/admin/users/{}"),
    ("POST", "/admin/users/{}/enrollments"),
    ("GET", "/admin/users/{}/devices"),
    ("DELETE", "/admin/devices/{}"),
    ("GET", "/login/{}"),
    ("POST", "/login/{}/ask"),
    ("POST", "/login/{}/retry"),
    ("POST", "/login/{}/cancel"),
    ("POST", "/login/{}/continue"),
    ("GET", "/login/{}/events"),
    ("GET", "/qr/{}"),
]
NOT_UTF8 = ["%C3%28", "%FF", "%ED%A0%80", "a%C3"]


@pytest.fixture
def device(admin, http, server):
    user = admin.post("/admin/users", json={"username": "utf"}).json()
    return enroll_new_device(admin, http, server.url, user["id"])


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_invalid_utf8_in_a_path_parameter_is_invalid_request(admin, device, method, path):
    for value in NOT_UTF8:
        headers = device.auth() if path.startswith("/devices") else {}
        response = admin.request(method, path.format(value), json={}, headers=headers)
        assert response.status_code == 400, (value, response.text)
        assert response.json()["error"] == "invalid_request"


def test_valid_utf8_in_a_path_parameter_is_looked_up_as_usual(admin, device):
    response = admin.get("/admin/clients/%C3%A9t%C3%A9")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    body = {"decision_jwt": device.decision_jwt("\u00e9t\u00e9")}
    response = admin.post(
        "/devices/me/requests/%C3%A9t%C3%A9/decision", json=body, headers=device.auth()
    )
    assert response.status_code == 404, response.text
