"""The ``backchannel`` command: the server, migrations, keys, and the admin API's CLI twins.

Operator commands work on the database named by the settings (the same one the server uses), so
they work whether or not a server is running.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import configure_mappers

from app.clients.service import ClientService
from app.errors import OAuthError
from app.evidence import service as evidence
from app.keys.encryption import SecretBox
from app.settings import Settings, get_settings
from app.storage import migrations
from app.storage.db import Database
from app.users.service import UserService

T = TypeVar("T")
# The values the registration accepts, so --help lists them and typos fail before any work.
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
DeliveryMode = Literal["poll", "ping", "push"]
SubjectType = Literal["public", "pairwise"]

# Plain click help: rich's panels printed every flag as ``--help <bool>`` and cut long help
# texts off at the terminal's width; click wraps them instead.
HELP = {"rich_markup_mode": None, "context_settings": {"max_content_width": 100}}
cli = typer.Typer(
    help="Backchannel: an OpenID Provider for decoupled authentication.",
    no_args_is_help=True,
    **HELP,  # type: ignore[arg-type]
)
db_cli = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)
keys_cli = typer.Typer(help="Signing keys.", no_args_is_help=True)
clients_cli = typer.Typer(help="Registered clients (twin of /admin/clients).", no_args_is_help=True)
users_cli = typer.Typer(help="Users (twin of /admin/users).", no_args_is_help=True)
config_cli = typer.Typer(help="Configuration.", no_args_is_help=True)
requests_cli = typer.Typer(
    help="Decided requests' evidence (twin of /admin/requests).", no_args_is_help=True
)
for name, sub in (
    ("db", db_cli),
    ("keys", keys_cli),
    ("clients", clients_cli),
    ("users", users_cli),
    ("config", config_cli),
    ("requests", requests_cli),
):
    cli.add_typer(sub, name=name)


def main() -> None:
    cli()


@cli.command("headless-login")
def headless_login(
    client_id: Annotated[str, typer.Option(help="The client's client_id.")],
    client_secret: Annotated[
        str, typer.Option(envvar="BACKCHANNEL_CLIENT_SECRET", help="The client's secret.")
    ],
    issuer: Annotated[
        str | None, typer.Option(help="The server (default: BACKCHANNEL_ISSUER).")
    ] = None,
    login_hint: Annotated[
        str | None, typer.Option(help="Username, email or phone; omit to log in by QR.")
    ] = None,
    scope: Annotated[str, typer.Option(help="Scopes to ask for.")] = "openid",
    binding_message: Annotated[str | None, typer.Option(help="Shown on the phone.")] = None,
) -> None:
    """Log in through the headless WebSocket: prints the QR (or waits for the push), then the
    tokens as JSON."""
    from app.headless.client import headless_login as run

    start = {"client_id": client_id, "client_secret": client_secret, "scope": scope}
    if login_hint:
        start["login_hint"] = login_hint
    if binding_message:
        start["binding_message"] = binding_message
    raise typer.Exit(asyncio.run(run(issuer or _settings().issuer, start)))


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _database(settings: Settings, *, creates: bool) -> str:
    """The database URL a command works on, said on stderr (a relative SQLite path depends on the
    working directory). A command that only reads or changes what exists refuses to create an
    empty SQLite file: from the wrong folder it would answer ``[]`` as if nothing were there."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "").resolve()
        if not creates and not path.exists():
            typer.echo(
                f"no database at {path}: run this in the server's folder or set "
                "BACKCHANNEL_DATABASE_URL (serve, db upgrade and the create commands make one)",
                err=True,
            )
            raise typer.Exit(1)
        url = url.set(database=str(path))
    typer.echo(f"database: {url.render_as_string(hide_password=True)}", err=True)
    return settings.database_url


def _run(work: Callable[[Database, Settings], Awaitable[T]], *, creates: bool = False) -> T:
    """Bring the schema up to date, then run ``work``; protocol errors exit 1 with their JSON.
    ``creates``: the command may make a new database (it writes something worth keeping)."""
    settings = _settings()
    migrations.upgrade(_database(settings, creates=creates))

    async def go() -> T:
        db = Database(settings.database_url, pool_size=1)
        try:
            return await work(db, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except OAuthError as exc:
        typer.echo(json.dumps(exc.body()), err=True)
        raise typer.Exit(1) from None


# --- serve -------------------------------------------------------------------------------------


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            help="Demo mode: seeds a demo user and clients and serves the demo pages at / "
            "(development settings; prints an admin token if unset)."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Server processes on this port (PostgreSQL only; one per core is a start). "
            "Default: BACKCHANNEL_WORKERS, else 1.",
        ),
    ] = None,
) -> None:
    """Start the server (uvicorn). Migrations run at start."""
    import os

    from app import server
    from app.logging import configure_logging

    if demo:
        os.environ["BACKCHANNEL_DEMO"] = "true"
        os.environ.setdefault("BACKCHANNEL_ENVIRONMENT", "development")
        os.environ.setdefault("BACKCHANNEL_LOG_FORMAT", "text")  # a person reads this terminal
        # One demo user tries every page: five requests per ten minutes would stop the tour.
        os.environ.setdefault("BACKCHANNEL_RATE_LIMIT_PER_USER", "50")
        if not os.environ.get("BACKCHANNEL_ADMIN_TOKEN"):
            token = secrets.token_urlsafe(32)
            os.environ["BACKCHANNEL_ADMIN_TOKEN"] = token
            typer.echo(f"demo admin token (this run only): {token}", err=True)
    _issuer_for(host, port)
    get_settings.cache_clear()
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        server.serve(settings, host, port, workers or settings.workers)
    except server.WorkersNeedPostgres as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _issuer_for(host: str, port: int) -> None:
    """Unset, the issuer follows where the server listens (``--port 8100`` advertised ``:8000``
    before); set, it is kept, with a word at start when it names another address — right behind
    a proxy, a mistake otherwise."""
    import os
    from urllib.parse import urlsplit

    # Every interface (0.0.0.0, ::) includes loopback: localhost is where a browser here finds it.
    wildcard = ("127.0.0.1", "0.0.0.0", "::", "localhost", "")  # noqa: S104 - names, not a bind
    local = "localhost" if host in wildcard else host
    listening = f"http://{f'[{local}]' if ':' in local else local}:{port}"
    get_settings.cache_clear()
    settings = _settings()
    configured = settings.issuer if "issuer" in settings.model_fields_set else None  # env, .env
    if not configured:
        os.environ["BACKCHANNEL_ISSUER"] = listening
        return
    parts = urlsplit(configured)
    same_port = (parts.port or (443 if parts.scheme == "https" else 80)) == port
    loopbacks = {"localhost", "127.0.0.1", "::1"}
    same_host = parts.hostname == host or (parts.hostname in loopbacks and local == "localhost")
    if not (same_port and same_host):
        typer.echo(
            f"note: BACKCHANNEL_ISSUER is {configured} but this server listens on {listening}; "
            "that is right behind a proxy forwarding there, otherwise clients and phones are "
            "sent to the wrong address",
            err=True,
        )


# --- db ----------------------------------------------------------------------------------------


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Upgrade the schema (to the newest revision by default)."""
    url = _database(_settings(), creates=True)
    migrations.upgrade(url, revision)
    typer.echo(f"schema at {migrations.current(url)}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target, e.g. -1 or base.")]) -> None:
    """Downgrade the schema. Downgrading past a revision drops the data its tables held."""
    url = _database(_settings(), creates=False)
    migrations.downgrade(url, revision)
    typer.echo(f"schema at {migrations.current(url)}")


@db_cli.command("current")
def db_current() -> None:
    """Print the schema's current revision."""
    typer.echo(migrations.current(_database(_settings(), creates=False)) or "empty")


# --- keys --------------------------------------------------------------------------------------


def _keystore(db: Database, settings: Settings) -> Any:
    from app.keys.service import KeyStore

    keys = settings.key_encryption_keys.get_secret_value() if settings.key_encryption_keys else None
    return KeyStore(db, settings, SecretBox(keys))


@keys_cli.command("list")
def keys_list() -> None:
    """List signing keys: kid, algorithm, status and dates (never the private part)."""

    async def work(db: Database, settings: Settings) -> list[dict[str, Any]]:
        store = _keystore(db, settings)
        await store.ensure()
        return [
            {"kid": k.kid, "alg": k.alg, "status": k.status, "created_at": k.created_at,
             "activated_at": k.activated_at, "retire_after": k.retire_after}
            for k in await store.all()
        ]  # fmt: skip

    _print(_run(work))


@keys_cli.command("rotate")
def keys_rotate(
    alg: Annotated[list[str] | None, typer.Option(help="Only this algorithm (repeatable).")] = None,
) -> None:
    """Promote each next key to current now; the old current key keeps verifying until its
    tokens expire."""

    async def work(db: Database, settings: Settings) -> list[str]:
        store = _keystore(db, settings)
        await store.ensure()
        return list(await store.rotate(alg) if alg else await store.rotate())

    _print({"current": _run(work)})


@keys_cli.command("new-encryption-key")
def keys_new_encryption_key() -> None:
    """Print a new key for BACKCHANNEL_KEY_ENCRYPTION_KEYS."""
    typer.echo(SecretBox.new_key())


@keys_cli.command("reencrypt")
def keys_reencrypt() -> None:
    """Seal every stored private key with the first configured encryption key."""

    async def work(db: Database, settings: Settings) -> None:
        await _keystore(db, settings).ensure()

    _run(work)
    typer.echo("done")


# --- clients -----------------------------------------------------------------------------------


def _load_metadata(metadata: str | None, option: str = "--metadata") -> dict[str, Any]:
    """A JSON object given inline or as ``@file.json``; errors name the ``option`` it came in."""
    if not metadata:
        return {}
    try:
        text = Path(metadata[1:]).read_text() if metadata.startswith("@") else metadata
    except OSError as exc:
        typer.echo(f"{option}: cannot read {metadata[1:]}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    try:
        data = json.loads(text)
    except ValueError:
        typer.echo(f"{option} must be JSON (or @file.json)", err=True)
        raise typer.Exit(2) from None
    if not isinstance(data, dict):
        typer.echo(f"{option} must be a JSON object", err=True)
        raise typer.Exit(2)
    return data


@clients_cli.command("create")
def clients_create(
    name: Annotated[str | None, typer.Option(help="client_name")] = None,
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="redirect_uris (repeatable)")
    ] = None,
    grant_type: Annotated[list[str] | None, typer.Option(help="grant_types (repeatable)")] = None,
    auth_method: Annotated[
        AuthMethod | None, typer.Option(help="token_endpoint_auth_method")
    ] = None,
    scope: Annotated[str | None, typer.Option(help="scope (space-separated)")] = None,
    delivery_mode: Annotated[
        DeliveryMode | None, typer.Option(help="backchannel_token_delivery_mode (CIBA)")
    ] = None,
    notification_endpoint: Annotated[
        str | None, typer.Option(help="backchannel_client_notification_endpoint")
    ] = None,
    jwks_uri: Annotated[str | None, typer.Option(help="jwks_uri")] = None,
    subject_type: Annotated[SubjectType | None, typer.Option(help="subject_type")] = None,
    client_id: Annotated[str | None, typer.Option(help="choose the client_id")] = None,
    metadata: Annotated[
        str | None, typer.Option(help="more RFC 7591 metadata as JSON, or @file.json")
    ] = None,
) -> None:
    """Register a client. Prints its registration, with the client_secret (shown once)."""
    data = _load_metadata(metadata)
    options = {
        "client_name": name, "redirect_uris": redirect_uri, "grant_types": grant_type,
        "token_endpoint_auth_method": auth_method, "scope": scope,
        "backchannel_token_delivery_mode": delivery_mode,
        "backchannel_client_notification_endpoint": notification_endpoint,
        "jwks_uri": jwks_uri, "subject_type": subject_type, "client_id": client_id,
    }  # fmt: skip
    data.update({k: v for k, v in options.items() if v})
    _print(_run(lambda db, s: ClientService(db, s).create(data), creates=True))


@clients_cli.command("list")
def clients_list() -> None:
    """List registered clients."""

    async def work(db: Database, settings: Settings) -> list[dict[str, Any]]:
        return [c.public_view() for c in await ClientService(db, settings).all()]

    _print(_run(work))


@requests_cli.command("show")
def requests_show(request_id: str) -> None:
    """Show the evidence of a decided request: timeline, signed decision, device key, what
    the phone showed."""

    import app.storage.tables  # noqa: F401  (rows become models: every mapper must be known)

    configure_mappers()  # the server does this on its first ORM query; this command has none

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        return await evidence.show(db.sql, request_id)

    _print(_run(work))


@clients_cli.command("show")
def clients_show(client_id: str) -> None:
    """Show one client's registration."""

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        return (await ClientService(db, settings).require(client_id)).public_view()

    _print(_run(work))


@clients_cli.command("update")
def clients_update(
    client_id: str,
    metadata: Annotated[str, typer.Option(help="changes as JSON, or @file.json; null removes")],
) -> None:
    """Change a client's registration (same merge rules as PATCH /admin/clients/{id})."""
    changes = _load_metadata(metadata)
    _print(_run(lambda db, s: ClientService(db, s).update(client_id, changes)))


@clients_cli.command("delete")
def clients_delete(client_id: str) -> None:
    """Delete a client."""
    _run(lambda db, s: ClientService(db, s).delete(client_id))
    typer.echo("deleted")


# --- users -------------------------------------------------------------------------------------


@users_cli.command("create")
def users_create(
    username: str,
    email: Annotated[str | None, typer.Option()] = None,
    phone_number: Annotated[str | None, typer.Option(help="E.164, e.g. +447700900123")] = None,
    name: Annotated[str | None, typer.Option(help="full name")] = None,
    claims: Annotated[str | None, typer.Option(help="more standard claims as JSON")] = None,
) -> None:
    """Create a user."""
    data = _load_metadata(claims, "--claims")
    given = {"username": username, "email": email, "phone_number": phone_number, "name": name}
    data.update({k: v for k, v in given.items() if v})

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        return (await UserService(db).create(data)).view()

    _print(_run(work, creates=True))


@users_cli.command("list")
def users_list() -> None:
    """List users."""

    async def work(db: Database, settings: Settings) -> list[dict[str, Any]]:
        return [u.view() for u in await UserService(db).all()]

    _print(_run(work))


async def _user_by_ref(db: Database, ref: str) -> Any:
    """A user named by id, username, email or phone number."""
    users = UserService(db)
    user = await users.get(ref) or await users.find_by_hint(ref)
    if user is None:
        typer.echo(f"no user {ref!r}", err=True)
        raise typer.Exit(1)
    return user


@users_cli.command("show")
def users_show(user: Annotated[str, typer.Argument(help="id, username, email or phone")]) -> None:
    """Show one user."""

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        found: Any = await _user_by_ref(db, user)
        return dict(found.view())

    _print(_run(work))


@users_cli.command("update")
def users_update(
    user: Annotated[str, typer.Argument(help="id, username, email or phone")],
    changes: Annotated[str, typer.Option(help="changes as JSON; null clears a field")],
) -> None:
    """Change a user (same rules as PATCH /admin/users/{id})."""
    data = _load_metadata(changes, "--changes")

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        found = await _user_by_ref(db, user)
        return (await UserService(db).update(found.id, data)).view()

    _print(_run(work))


@users_cli.command("enroll")
def users_enroll(user: Annotated[str, typer.Argument(help="id, username, email or phone")]) -> None:
    """Make a single-use enrollment code for a new device; prints it as a QR for the phone."""
    import segno

    from app.devices.service import DeviceService

    async def work(db: Database, settings: Settings) -> dict[str, Any]:
        found = await _user_by_ref(db, user)
        return await DeviceService(db, settings).new_enrollment(found.id)

    enrollment = _run(work)
    segno.make(enrollment["enrollment_uri"], error="m").terminal(compact=True)
    _print(enrollment)


@users_cli.command("delete")
def users_delete(user: Annotated[str, typer.Argument(help="id, username, email or phone")]) -> None:
    """Delete a user."""

    async def work(db: Database, settings: Settings) -> None:
        found = await _user_by_ref(db, user)
        await UserService(db).delete(found.id)

    _run(work)
    typer.echo("deleted")


# --- config ------------------------------------------------------------------------------------


@config_cli.command("docs")
def config_docs() -> None:
    """Print docs/configuration.md, generated from the settings class."""
    from app.settings_docs import render

    sys.stdout.write(render())
