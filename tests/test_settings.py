"""Settings refuse unsafe values outside development, and the docs list every setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings
from app.settings_docs import render


def test_defaults_start_with_no_configuration(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env
    settings = Settings()
    assert settings.issuer == "http://localhost:8000"
    assert settings.database_url.startswith("sqlite")
    assert settings.default_signing_alg == "EdDSA"  # access tokens
    assert settings.id_token_signing_alg == "RS256"  # OpenID Registration §2
    assert settings.admin_token is None


@pytest.mark.parametrize("issuer", ["http://id.example.com", "http://10.0.0.5:8000"])
def test_http_issuer_on_a_public_host_is_refused_in_production(issuer):
    with pytest.raises(ValidationError, match="https"):
        Settings(issuer=issuer)
    assert Settings(issuer=issuer, environment="development").issuer == issuer


@pytest.mark.parametrize(
    "issuer", ["http://127.0.0.1:8000", "http://[::1]:8000", "https://id.example.com/"]
)
def test_https_and_loopback_issuers_are_accepted(issuer):
    assert Settings(issuer=issuer).issuer == issuer.rstrip("/")


@pytest.mark.parametrize(
    "issuer", ["ftp://x", "id.example.com", "https://id.example.com/?a=b", "https://x#f"]
)
def test_malformed_issuers_are_refused(issuer):
    with pytest.raises(ValidationError):
        Settings(issuer=issuer, environment="development")


def test_short_admin_token_is_refused_in_production():
    with pytest.raises(ValidationError, match="32"):
        Settings(admin_token="short")
    assert Settings(admin_token="short", environment="development").admin_token is not None


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("BACKCHANNEL_ISSUER", "https://login.example.com")
    monkeypatch.setenv("BACKCHANNEL_ACCESS_TOKEN_LIFETIME", "120")
    settings = Settings()
    assert settings.issuer == "https://login.example.com" and settings.access_token_lifetime == 120


def test_configuration_docs_are_generated_from_the_settings_and_current():
    rendered = render()
    for name in Settings.model_fields:
        assert f"`BACKCHANNEL_{name.upper()}`" in rendered
    docs = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    assert docs.read_text() == rendered, "run: backchannel config docs > docs/configuration.md"
