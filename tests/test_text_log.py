"""BACKCHANNEL_LOG_FORMAT=text, as an operator reading a terminal sets it: a refusal says why,
as the JSON form does, and still never shows a secret."""

from __future__ import annotations

import httpx

from tests.support.process import free_port, served_process, server_env


def test_a_refusal_in_the_text_log_names_the_error_and_its_reason(fresh_database_url, tmp_path):
    port = free_port()
    env = server_env()
    env.update(
        BACKCHANNEL_DATABASE_URL=fresh_database_url,
        BACKCHANNEL_ADMIN_TOKEN="text-log-admin-token-0123456789abcdefgh",
        BACKCHANNEL_LOG_FORMAT="text",
        BACKCHANNEL_ISSUER=f"http://127.0.0.1:{port}",
    )
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log, served_process(env, port, log):
        refused = httpx.post(
            f"http://127.0.0.1:{port}/token",
            data={"grant_type": "client_credentials"},
            auth=("nobody", "s3cret-value-never-logged"),
        )
        assert refused.status_code == 401
    lines = [line for line in log_path.read_text().splitlines() if "request refused" in line]
    assert len(lines) == 1, log_path.read_text()
    assert 'error="invalid_client"' in lines[0] and 'path="/token"' in lines[0]
    assert "detail=" in lines[0]  # the log-only reason the client was refused
    assert "s3cret-value-never-logged" not in log_path.read_text()
