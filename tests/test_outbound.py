"""Outbound calls (notification endpoints, jwks_uri) and SSRF: what a host *resolves to* is
checked at registration and again before every call, and the call goes to a checked address."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import httpx
import pytest

from app.clients.service import ClientService
from app.errors import InvalidClientMetadata
from app.outbound import (
    _tls_context,
    classify_address,
    pinned_request,
    post_for_status,
    resolve,
)
from app.settings import Settings
from app.storage.db import Database
from app.storage.migrations import upgrade
from tests.support.http_server import JsonHandler
from tests.support.receiver import Receiver

PUBLIC_ISSUER = "https://op.example"
HOSTNAME = socket.gethostname()


def _settings(issuer: str = PUBLIC_ISSUER, **overrides) -> Settings:
    return Settings(issuer=issuer, **overrides)


def test_this_machines_name_resolves_to_an_internal_address():
    # The tests below use it as a name (not an IP literal) that leads inside.
    addresses = {info[4][0] for info in socket.getaddrinfo(HOSTNAME, 80)}
    assert addresses and all(classify_address(str(a)) == "internal" for a in addresses)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "never"),  # cloud metadata
        ("fe80::1", "never"),
        ("224.0.0.1", "never"),
        ("0.0.0.0", "never"),  # noqa: S104 - the address under test
        ("::ffff:169.254.169.254", "never"),
        ("10.1.2.3", "internal"),
        ("192.168.0.1", "internal"),
        ("127.0.0.1", "internal"),
        ("::1", "internal"),
        ("100.100.100.200", "internal"),  # carrier NAT: Alibaba's metadata, Tailscale
        ("2002:a00:1::", "internal"),  # 6to4 around 10.0.0.1
        ("2002:a9fe:a9fe::", "never"),  # 6to4 around 169.254.169.254
        ("fec0::1", "internal"),  # deprecated site-local
        ("93.184.215.14", "public"),
        ("2606:4700::1111", "public"),
    ],
)
def test_addresses_are_classified(address, kind):
    assert classify_address(address) == kind


async def test_a_name_resolving_inside_is_refused_unless_allowed():
    url = f"https://{HOSTNAME}/cb"
    with pytest.raises(ValueError, match="loopback or private"):
        await resolve(url, _settings())
    _, addresses = await resolve(url, _settings(allow_private_notification_endpoints=True))
    assert all(classify_address(a) == "internal" for a in addresses)
    # With a loopback (development) issuer, inside is where the clients are.
    await resolve(url, _settings("http://127.0.0.1:8000"))


async def test_metadata_addresses_are_refused_even_when_private_ones_are_allowed():
    allowed = _settings(allow_private_notification_endpoints=True)
    for url in (
        "https://169.254.169.254/cb",
        "https://[fe80::1]/cb",
        "https://[::ffff:a9fe:a9fe]/",
    ):
        with pytest.raises(ValueError, match="link-local"):
            await resolve(url, allowed)


async def test_registration_refuses_a_notification_endpoint_that_resolves_inside(
    fresh_database_url,
):
    await asyncio.to_thread(upgrade, fresh_database_url)
    db = Database(fresh_database_url)
    try:
        service = ClientService(db, _settings())
        metadata = {
            "grant_types": ["urn:openid:params:grant-type:ciba"],
            "backchannel_token_delivery_mode": "ping",
            "backchannel_client_notification_endpoint": f"https://{HOSTNAME}/cb",
        }
        with pytest.raises(InvalidClientMetadata, match="loopback or private"):
            await service.create(metadata)
        assert await service.all() == []
        # A name that does not resolve today is accepted; every delivery checks again.
        unresolvable = {
            **metadata,
            "backchannel_client_notification_endpoint": "https://x.invalid/",
        }
        assert (await service.create(unresolvable))["client_id"]
    finally:
        await db.dispose()


async def test_a_call_connects_to_the_checked_address_and_keeps_the_host_name():
    with Receiver.start() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        seen: list[httpx.URL] = []

        async def record(request: httpx.Request) -> None:
            seen.append(request.url)

        async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
            response = await pinned_request(
                http,
                "POST",
                f"http://localhost:{port}/cb",
                _settings("http://localhost:8000"),
                json={},
            )
        assert response.status_code == 200
        assert seen[0].host in ("127.0.0.1", "::1")  # the address, not the name
        assert receiver.requests[0].headers["host"] == f"localhost:{port}"


async def test_a_call_is_refused_before_connecting_when_the_rules_say_no():
    with Receiver.start() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        async with httpx.AsyncClient() as http:
            with pytest.raises(ValueError):
                await pinned_request(http, "POST", f"http://{HOSTNAME}:{port}/cb", _settings())
            with pytest.raises(ValueError):
                await pinned_request(http, "POST", f"http://127.0.0.1:{port}/cb", _settings())
        assert receiver.requests == []


async def test_a_peer_that_never_answers_is_given_up_on_at_the_deadline():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody ever answers
        port = silent.getsockname()[1]
        async with httpx.AsyncClient() as http:
            started = asyncio.get_running_loop().time()
            with pytest.raises(TimeoutError):
                await pinned_request(
                    http,
                    "POST",
                    f"http://127.0.0.1:{port}/cb",
                    _settings("http://127.0.0.1"),
                    deadline=0.5,
                )
            assert asyncio.get_running_loop().time() - started < 2


@pytest.mark.parametrize("encoding", [None, "gzip"])
async def test_a_flood_of_an_answer_is_cut_off(encoding):
    """A peer that answers with far more than we read (or a small gzip bomb that inflates to
    it) is refused after the limit, not read into memory."""
    import gzip

    from app.outbound import ResponseTooLarge
    from tests.support.http_server import JsonHandler, serve

    huge = b"{" + b" " * (8 * 1024 * 1024) + b"}"
    body = gzip.compress(huge) if encoding else huge

    class Flood(JsonHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve(Flood) as url:
        async with httpx.AsyncClient() as http:
            with pytest.raises(ResponseTooLarge) as refused:
                await pinned_request(http, "GET", url + "/jwks", _settings("http://127.0.0.1"))
            assert refused.value.status_code == 200
            small = await pinned_request(
                http, "GET", url + "/jwks", _settings("http://127.0.0.1"), max_bytes=len(huge)
            )
            assert small.content == huge and small.json() == {}


# ---- post_for_status: the notification's lean POST (ping and push deliveries)


async def test_a_notification_post_reaches_the_checked_address_with_its_host_name():
    with Receiver.start() as receiver:
        receiver.default = (204, b"")
        port = receiver.url.rsplit(":", 1)[1]
        headers = {"Authorization": "Bearer t0k", "Content-Type": "application/json"}
        status = await post_for_status(
            f"http://localhost:{port}/cb?x=1",
            _settings("http://localhost:8000"),
            b'{"auth_req_id":"a.b"}',
            headers,
        )
    assert status == 204
    [seen] = receiver.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/cb?x=1", b'{"auth_req_id":"a.b"}')
    assert seen.headers["host"] == f"localhost:{port}"
    assert seen.headers["authorization"] == "Bearer t0k"
    assert seen.headers["content-type"] == "application/json"


async def test_a_notification_post_is_refused_before_connecting_when_the_rules_say_no():
    with Receiver.start() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        with pytest.raises(ValueError):
            await post_for_status(f"http://127.0.0.1:{port}/cb", _settings(), b"{}", {})
    assert receiver.requests == []


@pytest.mark.parametrize("answer", [None, b"SMTP ready\r\n\r\n"])
async def test_a_notification_post_to_a_silent_or_garbled_peer_fails_in_time(answer):
    with socket.socket() as peer:
        peer.bind(("127.0.0.1", 0))
        peer.listen()  # the kernel accepts; the peer never answers, or answers nonsense
        port = peer.getsockname()[1]
        if answer is not None:
            threading.Thread(target=_answer_once, args=(peer, answer), daemon=True).start()
        expected = TimeoutError if answer is None else ConnectionError
        started = asyncio.get_running_loop().time()
        with pytest.raises(expected):
            await post_for_status(
                f"http://127.0.0.1:{port}/cb", _settings("http://127.0.0.1"), b"{}", {}, deadline=1
            )
        assert asyncio.get_running_loop().time() - started < 3


def _answer_once(peer: socket.socket, answer: bytes) -> None:
    connection, _ = peer.accept()
    with connection:
        connection.recv(65536)
        connection.sendall(answer)


async def test_a_notification_post_over_tls_checks_the_certificate_and_its_name(
    tmp_path, monkeypatch
):
    """The endpoint's certificate must chain to a trusted root and name the URL's host: a
    certificate the trust store does not know is refused, the same one trusted is accepted."""
    cert, key = _self_signed("localhost", tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Ok(JsonHandler):
        def do_POST(self) -> None:
            self.read_body()
            self.reply(200, {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}/cb"
    settings = _settings("http://localhost:8000")
    try:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        _tls_context.cache_clear()
        with pytest.raises(ssl.SSLCertVerificationError):
            await post_for_status(url, settings, b"{}", {})
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # how an operator trusts a private CA
        _tls_context.cache_clear()
        assert await post_for_status(url, settings, b"{}", {}) == 200
        wrong_name = f"https://127.0.0.1:{server.server_address[1]}/cb"
        with pytest.raises(ssl.SSLCertVerificationError):
            await post_for_status(wrong_name, _settings("http://127.0.0.1"), b"{}", {})
    finally:
        _tls_context.cache_clear()
        server.shutdown()
        server.server_close()


def _self_signed(name: str, folder) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)
