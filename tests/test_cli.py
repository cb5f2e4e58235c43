"""The operator commands as a new user meets them: which database they use, what their errors
say and how their help reads. Real processes, real SQLite files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.process import BIN, server_env


def _env(**extra: str) -> dict[str, str]:
    env = server_env()
    return {**env, "COLUMNS": "100", **extra}


def _cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=60
    )


def test_a_read_in_a_folder_without_a_database_creates_none_and_says_so(tmp_path):
    listed = _cli(tmp_path, "users", "list")
    assert listed.returncode == 1
    assert listed.stdout == ""  # not "[]", as if the server had no users
    assert f"no database at {tmp_path / 'backchannel.db'}" in listed.stderr
    assert not (tmp_path / "backchannel.db").exists()


def test_every_command_says_which_database_it_uses(tmp_path):
    created = _cli(tmp_path, "users", "create", "alice")
    assert created.returncode == 0, created.stderr
    assert f"database: sqlite:///{tmp_path / 'backchannel.db'}" in created.stderr
    listed = _cli(tmp_path, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert [u["username"] for u in json.loads(listed.stdout)] == ["alice"]
    assert f"database: sqlite:///{tmp_path / 'backchannel.db'}" in listed.stderr


def test_bad_json_is_blamed_on_the_option_that_carried_it(tmp_path):
    bad = _cli(tmp_path, "users", "create", "alice", "--claims", "{bad")
    assert bad.returncode == 2
    assert "--claims must be JSON" in bad.stderr and "--metadata" not in bad.stderr
    missing = _cli(tmp_path, "clients", "create", "--metadata", "@nowhere.json")
    assert missing.returncode == 2
    assert "--metadata: cannot read nowhere.json" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_help_lists_the_values_and_shows_each_flag_whole(tmp_path):
    shown = _cli(tmp_path, "clients", "create", "--help").stdout
    assert "<poll|ping|push>" in shown
    assert "client_secret_basic|client_secret_post|private_key_jwt|none" in shown
    assert "backchannel_client_notification_endpoint" in shown  # not cut off with "…"
    assert "<bool>" not in shown and "…" not in shown
    assert "<bool>" not in _cli(tmp_path, "--help").stdout
