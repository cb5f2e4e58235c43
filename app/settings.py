"""Server configuration: one class, read from ``BACKCHANNEL_*`` environment variables or ``.env``.

Every field carries a description; ``backchannel config docs`` renders them into
docs/configuration.md, so the docs cannot drift from the code.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SigningAlg = Literal["EdDSA", "ES256", "PS256", "RS256"]
SIGNING_ALGS: tuple[str, ...] = ("EdDSA", "ES256", "PS256", "RS256")

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and any address in 127.0.0.0/8 or ``::1`` (RFC 8252 §8.3)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BACKCHANNEL_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "production"] = Field(
        "production",
        description="`development` relaxes the safety checks below (http issuer on any host, "
        "short admin token). Leave at `production` for anything reachable by others.",
    )
    demo: bool = Field(
        False,
        description="Demo mode (`serve --demo` sets it): seeds a demo user and clients and serves "
        "the landing page, agent console, till and demo shop under `/demo`. Never in production.",
    )
    issuer: str = Field(
        "http://localhost:8000",
        description="The issuer URL. Every endpoint is served relative to it and discovery "
        "advertises it. Must be https unless the host is a loopback address.",
    )
    database_url: str = Field(
        "sqlite:///backchannel.db",
        description="SQLAlchemy URL of the database. The default is an SQLite file in the working "
        "directory; use `postgresql+psycopg://user:password@host/db` in production.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes `backchannel serve` runs on its port (`--workers` wins). "
        "More than one needs PostgreSQL; one per core is a start.",
    )
    database_pool_size: int = Field(
        10,
        gt=0,
        le=200,
        description="PostgreSQL connections each server process keeps for its request paths "
        "(per worker with `--workers`; keep workers times this below the server's "
        "`max_connections`).",
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Bearer token for the admin API. Unset disables the admin API "
        "(`serve --demo` generates one and prints it). At least 32 characters in production.",
    )
    key_encryption_keys: SecretStr | None = Field(
        None,
        description="Comma-separated Fernet keys that encrypt signing keys, server secrets and "
        "pushed CIBA tokens waiting for delivery at "
        "rest. The first encrypts; all decrypt, so a new key can be put in front to rotate. "
        "Generate one with `backchannel keys new-encryption-key`.",
    )
    pairwise_secret: SecretStr | None = Field(
        None,
        description="HMAC secret for pairwise subject identifiers. Unset: one is generated on "
        "first "
        "start and kept in the database. Changing it changes every pairwise `sub`.",
    )
    default_signing_alg: SigningAlg = Field(
        "EdDSA", description="Algorithm for access tokens (RFC 9068 JWTs)."
    )
    id_token_signing_alg: SigningAlg = Field(
        "RS256",
        description="Algorithm for ID tokens of clients that register no "
        "`id_token_signed_response_alg`. RS256 is OpenID Connect Registration §2's default, "
        "which every relying party can verify; `EdDSA` suits deployments whose clients all "
        "read it.",
    )
    key_rotation_days: float = Field(
        30, gt=0, description="Age after which the scheduler rotates a signing key."
    )
    client_cache_seconds: float = Field(
        5,
        ge=0,
        description="How long a process keeps a client's registration it read, so that "
        "authenticating a client is no database read. Changes through the admin API reach "
        "every replica at once; changes made with the CLI or in the database directly are "
        "seen within this time. 0 reads the database on every request.",
    )
    key_cache_seconds: float = Field(
        60,
        ge=0,
        description="How long a replica keeps using the signing keys it loaded before it looks for "
        "a rotation made by another replica. Safe because the next key is published in advance.",
    )
    access_token_lifetime: int = Field(
        600, gt=0, le=86400, description="Lifetime of access tokens, in seconds."
    )
    id_token_lifetime: int = Field(
        3600, gt=0, le=86400, description="Lifetime of ID tokens, in seconds."
    )
    refresh_token_lifetime: int = Field(
        30 * 86400, gt=0, description="Lifetime of refresh tokens, in seconds."
    )
    client_assertion_max_lifetime: int = Field(
        3600,
        gt=0,
        le=86400,
        description="Longest accepted lifetime (`exp` - now) of a `private_key_jwt` client "
        "assertion, in seconds. Its `jti` is remembered until its `exp`, so a replay is refused "
        "however long it lives. 3600 admits Authlib's default assertions.",
    )
    clock_skew_seconds: int = Field(
        30, ge=0, le=300, description="Leeway for `iat`, `nbf` and `exp` of incoming JWTs."
    )
    allow_private_notification_endpoints: bool = Field(
        False,
        description="Accept client notification endpoints and `jwks_uri`s on loopback or private "
        "addresses even when the issuer is not a loopback issuer (e.g. an internal network).",
    )
    enrollment_code_lifetime: int = Field(
        3600,
        gt=0,
        le=30 * 86400,
        description="How long a device enrollment code stays usable, in seconds.",
    )
    qr_rotation_seconds: float = Field(
        5,
        ge=1,
        le=60,
        description="How often the QR code of an open request changes. The current and the "
        "previous code are accepted, so a code is stale after at most twice this.",
    )
    ciba_default_expiry: int = Field(
        300,
        gt=0,
        description="Lifetime of a backchannel authentication request (and a headless login) "
        "when the client sends no `requested_expiry`, and of each phone approval a login page "
        "asks for, in seconds.",
    )
    ciba_max_expiry: int = Field(
        600,
        gt=0,
        le=3600,
        description="Cap on `requested_expiry`: a client asking for longer gets this.",
    )
    ciba_poll_interval: int = Field(
        5,
        ge=1,
        le=60,
        description="Minimum seconds between two polls of `/token` for one request (`interval`). "
        "A client polling faster gets `slow_down` and that request's interval grows by 5.",
    )
    authorization_code_lifetime: int = Field(
        60,
        gt=0,
        le=600,
        description="How long an authorization code may wait to be redeemed, in seconds.",
    )
    par_lifetime: int = Field(
        60,
        gt=0,
        le=600,
        description="Lifetime of a `request_uri` from `/par` (its `expires_in`), in seconds.",
    )
    login_page_lifetime: int = Field(
        1800,
        gt=0,
        le=86400,
        description="How long a login page opened by `/authorize` stays usable, in seconds. Each "
        "phone approval it asks for lives `ciba_default_expiry`; the user may retry until then.",
    )
    session_lifetime: int = Field(
        8 * 3600,
        ge=0,
        description="How long the browser session cookie lets a returning user skip the phone "
        "(unless the client asks otherwise with `prompt` or `max_age`), in seconds; 0 turns "
        "sessions off.",
    )
    pkce_allow_plain: bool = Field(
        False,
        description="Accept PKCE's `plain` method. Off: only `S256`, which does not reveal the "
        "verifier to whoever sees the authorization request.",
    )
    authorization_details_types_file: str | None = Field(
        None,
        description="A JSON file of further `authorization_details` types (RFC 9396): an object "
        "mapping each type name to its JSON Schema (draft 2020-12; an optional `title` is the "
        "phone's words for it). The built-in `payment_initiation` type is always known. "
        "See docs/flows/payments.md.",
    )
    dpop_nonce_required: bool = Field(
        False,
        description="Make DPoP proofs carry a nonce this server issued (RFC 9449 §8): a proof "
        "without a current one gets `use_dpop_nonce` and a fresh `DPoP-Nonce` header. A nonce "
        "lasts two windows of `dpop_nonce_seconds`; every replica accepts it.",
    )
    dpop_nonce_seconds: int = Field(
        120, ge=10, le=3600, description="How often the DPoP nonce changes, in seconds."
    )
    dpop_proof_max_age: int = Field(
        60,
        ge=5,
        le=600,
        description="How old a DPoP proof's `iat` may be (RFC 9449 §11.1), in seconds, plus "
        "`clock_skew_seconds` either way.",
    )
    rate_limit_window_seconds: int = Field(
        60,
        gt=0,
        le=3600,
        description="Window of the request limits (per client, per user, per browser and per "
        "address).",
    )
    rate_limit_per_client: int = Field(
        120,
        gt=0,
        description="Authentication requests one client may start per window; more get HTTP 429.",
    )
    rate_limit_per_user: int = Field(
        5,
        gt=0,
        description="Authentication requests that may name one user per window; more get HTTP "
        "429 and the user's phone is not told (push-bombing protection). A client's requests "
        "are counted apart from pushes typed on login pages, so strangers cannot use up a "
        "client's budget; a login page's push counts both.",
    )
    client_location_header: str | None = Field(
        None,
        description="A request header in which the proxy in front puts the browser's coarse "
        "location (e.g. `CF-IPCountry`). The phone shows it with the browser's network before "
        "a sign-in from a login page is claimed or approved. Unset: the network only.",
    )
    rate_limit_login_per_browser: int = Field(
        20,
        gt=0,
        description="Tries (a QR code or a push) the login pages of one browser may start per "
        "window; more get HTTP 429 with `Retry-After`.",
    )
    rate_limit_login_per_address: int = Field(
        60,
        gt=0,
        description="Tries the login pages opened from one network address may start per "
        "window (behind a proxy, the address it forwards; see docs/operations.md).",
    )
    login_page_max_tries: int = Field(
        10,
        gt=0,
        description="Tries one login page may start in its whole life; then the user starts "
        "again from the application.",
    )
    headless_max_frame_bytes: int = Field(
        8192, ge=1024, le=1048576, description="Largest frame a headless client may send."
    )
    headless_start_timeout: float = Field(
        30, gt=0, description="Seconds a headless socket may stay open before its `start` frame."
    )
    headless_max_sockets_per_client: int = Field(
        100,
        gt=0,
        description="Open headless sockets one client may hold in one server process; more are "
        "closed with 1013 (try again later).",
    )
    http_header_timeout: float = Field(
        10,
        gt=0,
        description="Seconds a client has to send a request's headers (from connecting, or "
        "from the previous response on a kept-alive connection); slower ones are disconnected, "
        "so half-sent requests cannot hold connections (slowloris).",
    )
    http_body_timeout: float = Field(
        30, gt=0, description="Seconds a client has to send a request's body after its headers."
    )
    http_keep_alive_timeout: int = Field(
        5, gt=0, description="Seconds an idle kept-alive connection stays open (uvicorn's)."
    )
    http_max_connections: int | None = Field(
        None,
        gt=0,
        description="Open connections (and requests in progress) one process takes before it "
        "answers 503 (uvicorn's `limit_concurrency`). Unset: no cap; set one below the "
        "process's file limit.",
    )
    ws_ping_interval: float = Field(
        20,
        gt=0,
        description="Seconds between WebSocket pings (headless and device streams); a peer that "
        "does not answer within `ws_ping_timeout` is disconnected.",
    )
    ws_ping_timeout: float = Field(20, gt=0, description="Seconds to wait for a pong.")
    fcm_credentials_file: str | None = Field(
        None,
        description="Path to a Firebase service-account JSON file. Unset: no push to phones; "
        "devices learn of requests from their stream or by polling.",
    )
    fcm_endpoint: str | None = Field(
        None,
        description="Base URL that replaces https://fcm.googleapis.com (an emulator or a test "
        "stand-in). Leave unset in production.",
    )
    web_push_vapid_private_key: SecretStr | None = Field(
        None,
        description="The VAPID key (RFC 8292) the server signs Web Push requests with: a P-256 "
        "private key in PEM. Unset: one is generated on first start and kept (sealed) in the "
        "database; the web authenticator page serves its public half.",
    )
    web_push_contact: str | None = Field(
        None,
        description="The VAPID `sub` claim push services may write to about this server: a "
        "`mailto:` or `https:` URI. Unset: the issuer when it is https, otherwise "
        "`mailto:webpush@localhost`.",
    )
    outbox_interval_seconds: float = Field(
        2,
        gt=0,
        description="How often the outbox job looks for retries that fell due. New messages are "
        "delivered at once, without waiting for it.",
    )
    outbox_max_delay_seconds: float = Field(
        300, gt=0, description="Cap of the exponential backoff between delivery attempts."
    )
    outbox_max_attempts: int = Field(
        20, gt=0, description="Attempts after which a message is recorded as dead."
    )
    outbox_concurrency: int = Field(
        64,
        gt=0,
        description="Deliveries (client notifications, phone pushes) one process runs at once. "
        "Each runs on its own: a slow endpoint holds one of these slots, never the others' turn.",
    )
    outbox_endpoint_concurrency: int = Field(
        8,
        gt=0,
        description="Deliveries one process runs at once to the same notification endpoint "
        "(scheme, host, port); more wait a second or two, holding no slot meanwhile. After 5 "
        "failures in a row an endpoint's deliveries pause (a circuit breaker; see "
        "docs/operations.md).",
    )
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["json", "text"] = Field(
        "json", description="`json` (one object per line) or `text` for a terminal."
    )
    access_log: bool = Field(
        False,
        description="Log one line per HTTP request (method, path without its query, status, "
        "duration) on the `backchannel.access` logger at INFO. Off by default: a reverse proxy "
        "usually keeps the access log, and each line costs the server time on every request.",
    )
    evidence_retention_days: int = Field(
        400,
        gt=0,
        le=36500,
        description="How long the evidence of a decision (the device-signed decision JWT, the "
        "device's public key, what the phone showed; `GET /admin/requests/{id}`) is kept, in days. "
        "It outlives the request itself; the scheduler deletes it after this.",
    )
    purge_interval_seconds: float = Field(
        600,
        gt=0,
        description="How often the scheduler deletes rows that can no longer be used (spent "
        "JWT ids once past `exp` plus `clock_skew_seconds`, old login pages and codes).",
    )
    scheduler_enabled: bool = Field(
        True,
        description="Run the background jobs (key rotation, outbox, expiry) in this process.",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("issuer must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("issuer must not have a query or fragment (OpenID Discovery §2)")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be an sqlite:// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "development":
            return self
        parts = urlsplit(self.issuer)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError(
                "an http issuer is only allowed on a loopback host; use https, or set "
                "BACKCHANNEL_ENVIRONMENT=development"
            )
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 32:
            raise ValueError("admin_token must be at least 32 characters outside development")
        return self

    @property
    def issuer_is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.issuer).hostname)

    @property
    def cookies_secure(self) -> bool:
        """Cookies carry ``Secure`` whenever the issuer is https; an http issuer is only
        allowed on loopback or in development, where a browser would not keep such a cookie."""
        return self.issuer.startswith("https://")

    def endpoint(self, path: str) -> str:
        """Absolute URL of one of our endpoints."""
        return self.issuer + path


@lru_cache
def get_settings() -> Settings:
    return Settings()
