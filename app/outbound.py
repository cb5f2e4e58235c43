"""Rules for URLs the server itself calls (client notification endpoints, ``jwks_uri``).

Such URLs are an SSRF vector: a client could point us at cloud metadata or an internal service.
Only https is allowed, http only on loopback hosts (RFC 8252 §8.3); loopback or private
addresses only while the issuer is itself a loopback development issuer or an operator allowed
it explicitly; link-local (cloud metadata), multicast and unspecified addresses never.

The rules apply to what a host name *resolves to*, checked when the client registers and again
before every call; the call then connects to the very address that was checked (TLS still
verifies the certificate against the host name), so DNS rebinding between check and connect
gains nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
from typing import Any
from urllib.parse import SplitResult, urlsplit

import h11
import httpx

from app.settings import Settings, is_loopback_host

RESOLVE_TIMEOUT = 5.0


def private_targets_allowed(settings: Settings) -> bool:
    return settings.issuer_is_loopback or settings.allow_private_notification_endpoints


def classify_address(address: str) -> str:
    """``never`` for link-local (cloud metadata), multicast, unspecified and reserved addresses;
    ``internal`` for loopback and anything else not globally routable (private ranges, carrier
    NAT 100.64/10, site-local…); ``public`` for the rest. IPv6 forms that carry an IPv4 address
    (mapped, 6to4, Teredo) are judged by that address."""
    ip = ipaddress.ip_address(address.strip("[]"))
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:  # first: Python counts ::1 among the reserved addresses too
        return "internal"
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "never"
    if not ip.is_global or getattr(ip, "is_site_local", False):  # fec0::/10, deprecated
        return "internal"
    return "public"


def check_outbound_url(url: str, settings: Settings) -> SplitResult:
    """Validate the shape of an outbound URL; raises ValueError with a client-facing reason."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("must be an absolute https URL")
    if parts.fragment:
        raise ValueError("must not contain a fragment")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials")
    loopback = is_loopback_host(host)
    if parts.scheme == "http" and not loopback:
        raise ValueError("must use https (http is allowed only on loopback hosts)")
    kind = classify_address(host) if _is_ip_literal(host) else "public"
    if kind == "never":
        raise ValueError("must not point at a link-local, multicast or unspecified address")
    if (loopback or kind == "internal") and not private_targets_allowed(settings):
        raise ValueError(
            "must not point at a loopback or private address (allowed only with a loopback "
            "issuer or BACKCHANNEL_ALLOW_PRIVATE_NOTIFICATION_ENDPOINTS)"
        )
    return parts


def _check_address(address: str, loopback_name: bool, settings: Settings) -> None:
    kind = classify_address(address)
    if kind == "never":
        raise ValueError("must not point at a link-local, multicast or unspecified address")
    if kind == "internal" and not private_targets_allowed(settings):
        raise ValueError(
            "resolves to a loopback or private address (allowed only with a loopback issuer or "
            "BACKCHANNEL_ALLOW_PRIVATE_NOTIFICATION_ENDPOINTS)"
        )
    if loopback_name and not ipaddress.ip_address(address).is_loopback:
        raise ValueError("a loopback host name must resolve to a loopback address")


async def resolve(url: str, settings: Settings) -> tuple[SplitResult, list[str]]:
    """Check ``url`` and every address its host resolves to; returns the addresses to connect
    to. Raises ValueError (refused) or OSError (the name does not resolve now)."""
    parts = check_outbound_url(url, settings)
    host = parts.hostname
    assert host is not None
    if _is_ip_literal(host):
        return parts, [host.strip("[]")]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
    )
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"{host} has no addresses")
    for address in addresses:  # one bad address refuses the name: the resolver picks, not us
        _check_address(address, is_loopback_host(host), settings)
    return parts, addresses


async def check_resolvable(url: str, settings: Settings) -> None:
    """At registration: refuse a URL whose host resolves to a forbidden address. A name that
    does not resolve yet is accepted; every call checks again."""
    with contextlib.suppress(OSError, TimeoutError):
        await resolve(url, settings)


MAX_RESPONSE_BYTES = 64 * 1024  # what we read of any answer: a JWKS, a notification reply


async def pinned_request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    settings: Settings,
    *,
    deadline: float = 10.0,
    max_bytes: int = MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> httpx.Response:
    """``http.request`` to ``url``, connecting only to addresses that passed the rules (each in
    turn, as a plain connect would), with the URL's host kept for the Host header and for TLS.
    Never follows redirects; the whole call, DNS included, ends after ``deadline`` seconds (a
    peer that drips its answer cannot hold us), and the decoded body is read only up to
    ``max_bytes`` (a flood stops there; a compression bomb after the network chunk that crosses
    it). Raises ValueError when the URL is refused or the body too large (``ResponseTooLarge``),
    TimeoutError, httpx or OS errors otherwise. ``http`` must not keep connections alive: its
    pool is keyed by address, and a kept connection would carry another host's request without
    that host's certificate being checked."""
    async with asyncio.timeout(deadline):
        parts, addresses = await resolve(url, settings)
        host = parts.hostname
        assert host is not None
        headers = {**kwargs.pop("headers", {}), "Host": parts.netloc.rsplit("@", 1)[-1]}
        for i, address in enumerate(addresses):
            literal = f"[{address}]" if ":" in address else address
            netloc = literal if parts.port is None else f"{literal}:{parts.port}"
            request = http.build_request(
                method,
                parts._replace(netloc=netloc).geturl(),
                headers=headers,
                # httpx's own timeouts (5 s by default) would end a peer's answer before the
                # deadline the caller promised it: the deadline alone bounds the call.
                timeout=httpx.Timeout(deadline),
                extensions={"sni_hostname": host},
                **kwargs,
            )
            try:
                response = await http.send(request, stream=True, follow_redirects=False)
            except httpx.ConnectError:
                if i == len(addresses) - 1:
                    raise
                continue
            return await _read_bounded(response, max_bytes)
    raise AssertionError("unreachable: resolve returns at least one address")


async def post_for_status(
    url: str,
    settings: Settings,
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float = 10.0,
) -> int:
    """POST ``body`` to ``url`` under the same rules as :func:`pinned_request` (checked
    addresses, the host name kept for the Host header and TLS, the whole call bounded by
    ``deadline``) and return the status of the answer, whose body is never read.

    A delivery (a client notification, a Web Push) needs only the status, and this is the
    path from an approval, or a new request, to whoever waits for it: plain HTTP/1.1
    over an asyncio stream (h11 parses the answer) takes a quarter of httpx's time (0.36
    against 1.4 ms from the call to the POST's arrival on loopback, docs/performance.md). One
    connection per call, closed after the answer's head, for the reason pinned_request gives.
    Raises ValueError when the URL is refused, TimeoutError, or OSError (``ConnectionError``
    for an answer that is not HTTP or does not come, ``ssl.SSLError`` for a certificate that
    is not trusted or does not name the host)."""
    async with asyncio.timeout(deadline):
        parts, addresses = await resolve(url, settings)
        host = parts.hostname
        assert host is not None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        tls = _tls_context() if parts.scheme == "https" else None
        for i, address in enumerate(addresses):
            try:
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=tls, server_hostname=host if tls else None
                )
            except OSError:
                if i == len(addresses) - 1:
                    raise
                continue
            try:
                return await _status_of(reader, writer, parts, body, headers)
            finally:
                writer.close()
    raise AssertionError("unreachable: resolve returns at least one address")


HEAD_LIMIT = 16 * 1024  # an answer's status line and headers; a body is never read


async def _status_of(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    parts: SplitResult,
    body: bytes,
    headers: dict[str, str],
) -> int:
    conversation = h11.Connection(h11.CLIENT, max_incomplete_event_size=HEAD_LIMIT)
    request = h11.Request(
        method="POST",
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        headers=[
            ("Host", parts.netloc.rsplit("@", 1)[-1]),
            ("User-Agent", "backchannel"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *headers.items(),
        ],
    )
    try:
        writer.write(conversation.send(request) or b"")
        writer.write(conversation.send(h11.Data(data=body)) or b"")
        writer.write(conversation.send(h11.EndOfMessage()) or b"")
        await writer.drain()
        while True:
            event = conversation.next_event()
            if event is h11.NEED_DATA:
                conversation.receive_data(await reader.read(HEAD_LIMIT))
            elif isinstance(event, h11.Response):
                return int(event.status_code)
            elif not isinstance(event, h11.InformationalResponse):  # closed before answering
                raise ConnectionError("the endpoint closed the connection without an answer")
    except (h11.RemoteProtocolError, h11.LocalProtocolError) as exc:
        raise ConnectionError(f"the endpoint's answer is not HTTP/1.1: {exc}") from None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The trust httpx gives pinned_request (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), built
    once: loading a CA bundle costs milliseconds."""
    return httpx.create_ssl_context()


class ResponseTooLarge(ValueError):
    """The peer answered (with ``status_code``) but its body was more than we read."""

    def __init__(self, status_code: int, max_bytes: int) -> None:
        super().__init__(f"the response is larger than {max_bytes} bytes")
        self.status_code = status_code


async def _read_bounded(response: httpx.Response, max_bytes: int) -> httpx.Response:
    """The response with its body read, refusing more than ``max_bytes``."""
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(response.status_code, max_bytes)
    finally:
        await response.aclose()
    # The body is decoded already: the copy must not claim an encoding or another length.
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=response.request
    )


def outbound_client() -> httpx.AsyncClient:
    """The client for ``pinned_request``: no keep-alive (see there), no redirects."""
    return httpx.AsyncClient(
        headers={"User-Agent": "backchannel"},
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
