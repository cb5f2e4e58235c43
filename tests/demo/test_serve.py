"""`backchannel serve` as a new user starts it: where the issuer points, what `/` says, and the
demo's seeding (idempotent, through the admin API) with its URLs on the terminal."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.process import free_port, served_process, server_env

ADMIN = "serve-admin-token-0123456789abcdefghijklmn"


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = server_env()
    return {**env, "BACKCHANNEL_DATABASE_URL": database_url, "BACKCHANNEL_ADMIN_TOKEN": ADMIN,
            **extra}  # fmt: skip


def test_outside_demo_mode_the_front_page_names_the_server_and_no_demo_is_served(http, server):
    page = http.get("/")
    assert page.status_code == 200
    assert f'<code id="issuer">{server.url}</code>' in page.text
    assert "/.well-known/openid-configuration" in page.text
    assert http.get("/demo/agent").status_code == 404
    assert http.post("/demo/notify", json={}).status_code in (404, 405)


def test_the_issuer_follows_the_port_and_a_configured_one_that_differs_is_pointed_out(
    fresh_database_url, tmp_path: Path
):
    port = free_port()
    with served_process(_env(fresh_database_url), port):
        issuer = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration").json()
    assert issuer["issuer"] == f"http://localhost:{port}"  # not :8000
    log = tmp_path / "serve.log"
    elsewhere = _env(fresh_database_url, BACKCHANNEL_ISSUER="http://localhost:9")
    with log.open("w") as out, served_process(elsewhere, port, out):
        pass
    assert "BACKCHANNEL_ISSUER is http://localhost:9 but this server listens on " in log.read_text()


def test_demo_mode_seeds_once_and_prints_what_to_open(fresh_database_url, tmp_path: Path):
    port = free_port()
    url = f"http://localhost:{port}"
    headers = {"Authorization": f"Bearer {ADMIN}"}
    for run in range(2):  # a restart finds the demo and adds nothing
        log = tmp_path / f"demo-{run}.log"
        with log.open("w") as out, served_process(_env(fresh_database_url), port, out, "--demo"):
            clients = httpx.get(f"{url}/admin/clients", headers=headers).json()
            users = httpx.get(f"{url}/admin/users", headers=headers).json()
            landing = httpx.get(url + "/").text
        assert sorted(c["client_id"] for c in clients) == [
            "demo-ping", "demo-poll", "demo-push", "demo-shop", "demo-till"
        ]  # fmt: skip
        assert [u["username"] for u in users] == ["demo"]
        assert f"{url}/authenticator#enrollment_code=" in landing
        printed = log.read_text()
        for path in ("/demo/agent", "/demo/terminal", "/demo/shop"):
            assert f"{url}{path}" in printed and f'href="{path}"' in landing
